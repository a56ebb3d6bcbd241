"""A partner's orders go on its own channel (its API channel or a channel bound to its customer),
so a partner can neither block a shop's genuine order by taking its reference first, nor learn
from a 409 whether another customer's reference exists (issue 14, "Channel references")."""

from decimal import Decimal

import pytest

from sales import services
from sales.exceptions import InvalidOrder
from sales.models import Order, partner_api_channel
from tests.factories.sales import CustomerFactory

D = Decimal
pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/sales/orders/"
LINES = [{"sku": "P-1", "quantity": "1"}]


@pytest.fixture
def shop_customer(db):
    return CustomerFactory(code="WEB", name="Web shop customers")


def _shop_order(customer, ref):
    """What the genuine Shopify webhook submits (integrations.channels.shopify)."""
    return services.submit_order(services.CanonicalOrder(
        customer_code=customer.code, channel="shopify", external_ref=ref,
        lines=[services.CanonicalLine(sku="P-1", quantity=D("1"))], price_authorised=True))


def test_a_partner_naming_the_shop_channel_is_refused_and_the_genuine_shop_order_goes_through(
        partner_client, customer, shop_customer, products):
    # when: the partner tries to take a Shopify reference first
    refused = partner_client.post(ORDERS, {"channel": "shopify", "external_ref": "shop.example#1001",
                                           "lines": LINES}, format="json")
    # then: refused, nothing written, and the shop's order is then booked as usual
    assert refused.status_code == 403, refused.content
    assert refused["Content-Type"] == "application/problem+json" and "channel" in refused.json()["errors"]
    assert not Order.objects.exists()
    genuine = _shop_order(shop_customer, "shop.example#1001")
    assert genuine.created and genuine.order.customer == shop_customer


def test_a_partner_order_goes_on_its_own_channel_and_no_reference_of_another_customer_shows(
        partner_client, customer, shop_customer, products):
    # given: another customer's order with reference R on the shared API channel and on the shop channel
    for channel in ("api", "shopify"):
        services.submit_order(services.CanonicalOrder(customer_code=shop_customer.code, channel=channel,
                                                      external_ref="R-1", lines=[services.CanonicalLine(
                                                          sku="P-1", quantity=D("1"))], price_authorised=True))
    # when: the partner sends the same reference (no channel, and "api")
    first = partner_client.post(ORDERS, {"external_ref": "R-1", "lines": LINES}, format="json")
    again = partner_client.post(ORDERS, {"channel": "api", "external_ref": "R-1", "lines": LINES}, format="json")
    # then: a new order of its own on its channel (201), then that same order (200); never a 409
    assert first.status_code == 201, first.content
    assert first.json()["channel"] == partner_api_channel(customer.pk) and first.json()["customer"] == "ACME"
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Order.objects.filter(customer=customer).count() == 1
    assert Order.objects.filter(customer=shop_customer).count() == 2


def test_a_bound_channel_is_usable_by_its_customer_only(partner_client, customer, shop_customer, products,
                                                         ops_client):
    # given: "acme-store" bound to ACME, "globex-store" to another customer
    services.bind_partner_channel(name="acme-store", customer_code=customer.code)
    services.bind_partner_channel(name="globex-store", customer_code=shop_customer.code)
    # when / then: the partner uses its own bound channel, not another's
    mine = partner_client.post(ORDERS, {"channel": "acme-store", "external_ref": "S-1", "lines": LINES}, format="json")
    assert mine.status_code == 201 and mine.json()["channel"] == "acme-store"
    theirs = partner_client.post(ORDERS, {"channel": "globex-store", "external_ref": "S-1", "lines": LINES},
                                 format="json")
    assert theirs.status_code == 403 and "channel" in theirs.json()["errors"]
    # and staff cannot put another customer's order on a customer's own channel either
    for channel in ("acme-store", partner_api_channel(customer.pk), "partner-x"):
        staff = ops_client.post(ORDERS, {"customer": shop_customer.code, "channel": channel, "external_ref": "S-2",
                                         "lines": LINES}, format="json")
        assert staff.status_code == 400 and "channel" in staff.json()["errors"], channel
    assert Order.objects.count() == 1


def test_shared_or_taken_channel_names_cannot_be_bound(customer, shop_customer):
    services.bind_partner_channel(name="acme-store", customer_code=customer.code)
    for name, owner in (("shopify", customer), ("api", customer), ("partner-9", customer),
                        ("acme-store", shop_customer)):
        with pytest.raises(InvalidOrder):
            services.bind_partner_channel(name=name, customer_code=owner.code)


def test_a_partners_csv_import_goes_on_its_own_channel(partner_client, customer, shop_customer, products):
    # given: another customer's CSV order with reference C-1
    services.submit_order(services.CanonicalOrder(customer_code=shop_customer.code, channel="csv", external_ref="C-1",
                                                  lines=[services.CanonicalLine(sku="P-1", quantity=D("1"))]))
    # when: the partner imports the same reference
    response = partner_client.generic("POST", "/api/v1/integrations/imports/orders/",
                                      b"external_ref,sku,quantity\nC-1,P-1,1\n", content_type="text/csv")
    # then: its own order on its own channel, nothing about the other one
    assert response.status_code == 201, response.content
    mine = Order.objects.get(customer=customer)
    assert (mine.channel, mine.external_ref) == (partner_api_channel(customer.pk), "C-1")
