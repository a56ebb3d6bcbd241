"""Customers and the partner users bound to them."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from sales.exceptions import InvalidOrder, UnknownCustomer
from sales.models import SHARED_CHANNELS, Customer, PartnerAccount, PartnerChannel


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



def check_partner_channel(*, name: str, customer: Customer, exclude_pk: int | None = None) -> str:
    """The stripped name if it may be bound to `customer`; raises InvalidOrder (400) for a
    shared or reserved name, or one bound to another customer."""
    name = (name or "").strip()
    if not name or len(name) > 40 or name in SHARED_CHANNELS or name.startswith("partner-"):
        raise InvalidOrder(f"{name!r} cannot be bound to a customer.",
                           errors={"name": ["A shared or reserved channel name."]})
    if PartnerChannel.objects.filter(name=name).exclude(customer=customer).exclude(pk=exclude_pk).exists():
        raise InvalidOrder(f"Channel {name!r} is bound to another customer.", errors={"name": ["Taken."]})
    return name


@transaction.atomic
def bind_partner_channel(*, name: str, customer_code: str) -> PartnerChannel:
    """Bind an order channel to one customer: its partner users may place orders on it and it
    takes that customer's orders only (sales.services.intake). Raises UnknownCustomer and
    InvalidOrder (400)."""
    customer = Customer.objects.filter(code=(customer_code or "").strip()).first()
    if customer is None:
        raise UnknownCustomer(f"No customer with code {customer_code!r}.",
                              errors={"customer": [f"Unknown customer {customer_code!r}."]})
    name = check_partner_channel(name=name, customer=customer)
    channel, _ = PartnerChannel.objects.update_or_create(name=name, defaults={"customer": customer})
    return channel


@transaction.atomic
def set_customer_credit(*, customer_code: str, on_hold: bool, credit_limit, reason: str, changed_by=None) -> Customer:
    """Put a customer on or off hold and set its credit limit (None: no limit); a finance
    decision, kept with its reason in the customer's history. Existing orders are not
    touched (a held order is released one by one, with release_hold)."""
    customer = Customer.objects.select_for_update().filter(code=customer_code).first()
    if customer is None:
        raise UnknownCustomer(f"Unknown customer {customer_code!r}.", errors={"customer": ["Unknown customer."]})
    if credit_limit is not None and Decimal(credit_limit) < 0:
        raise InvalidOrder("A credit limit cannot be negative.", errors={"credit_limit": ["Enter 0 or more."]})
    customer.on_hold = bool(on_hold)
    customer.credit_limit = credit_limit
    customer._change_reason = (reason or "credit changed")[:100]
    if getattr(changed_by, "pk", None):
        customer._history_user = changed_by
    customer.save(update_fields=["on_hold", "credit_limit"])
    return customer
