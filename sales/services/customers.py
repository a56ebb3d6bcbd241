"""Customers and the partner users bound to them."""

from __future__ import annotations

from django.db import transaction

from sales.exceptions import UnknownCustomer
from sales.models import Customer, PartnerAccount


@transaction.atomic
def bind_partner_user(*, user, customer_code: str) -> PartnerAccount:
    """Bind an API user (partner role) to one customer; rebinding moves it to the new customer.

    Raises UnknownCustomer (400) if no customer has that code; nothing is written then.
    """
    customer = Customer.objects.filter(code=(customer_code or "").strip()).first()
    if customer is None:
        raise UnknownCustomer(f"No customer with code {customer_code!r}.",
                              errors={"customer": [f"Unknown customer {customer_code!r}."]})
    account, _ = PartnerAccount.objects.update_or_create(user=user, defaults={"customer": customer})
    return account
