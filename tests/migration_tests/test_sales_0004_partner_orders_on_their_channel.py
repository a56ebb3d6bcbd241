"""Orders a partner placed on the shared "api" channel move to its customer's partner channel,
so the partner resending a reference after the upgrade gets its order back, not a second one."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_partner_orders_move_to_their_channel_staff_orders_stay(migration_test):
    # given: a partner's order and a staff order on "api", and a partner's shop order
    old = migration_test.before("sales", "0004_partner_orders_on_their_channel")
    Customer, Order = old.get_model("sales", "Customer"), old.get_model("sales", "Order")
    acme = Customer.objects.create(code="MIG-ACME", name="Acme")
    partner, staff = User.objects.create(username="mig-partner"), User.objects.create(username="mig-staff")
    old.get_model("sales", "PartnerAccount").objects.create(user_id=partner.pk, customer=acme)

    def order(number, channel, ref, by):
        return Order.objects.create(number=number, customer=acme, channel=channel, external_ref=ref, status="open",
                                    correlation_id=number, submitted_by_id=by.pk, subtotal=Decimal("0"))

    order("MIG-1", "api", "P-1", partner)
    order("MIG-2", "api", "S-1", staff)
    order("MIG-3", "shopify", "X-1", partner)
    # when
    new = migration_test.apply()
    # then
    channels = dict(new.get_model("sales", "Order").objects.values_list("number", "channel"))
    assert channels == {"MIG-1": f"partner-{acme.pk}", "MIG-2": "api", "MIG-3": "shopify"}
