"""Sales errors. Each carries its HTTP status (core.api.problems maps them to problem+json)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError, NotFound, PermissionRefused, StateConflict, ValidationFailed


class UnknownCustomer(ValidationFailed):
    code = "unknown_customer"


class CustomerInactive(DomainError):
    code = "customer_inactive"


class UnknownSku(ValidationFailed):
    code = "unknown_sku"


class InvalidOrder(ValidationFailed):
    """Shape or value problems found against the database (units, quantities, duplicates)."""

    code = "invalid_order"


class PriceNotAllowed(DomainError):
    """A unit price was given by a caller not authorised to set prices (422)."""

    code = "price_not_allowed"


class NoPrice(DomainError):
    code = "no_price"


class OrderNotFound(NotFound):
    code = "order_not_found"


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"


class ReturnNotFound(NotFound):
    code = "return_not_found"


class OrderStateConflict(StateConflict):
    code = "order_state_conflict"


class ShipmentStateConflict(StateConflict):
    code = "shipment_state_conflict"


class ReturnStateConflict(StateConflict):
    code = "return_state_conflict"


class OverReturn(DomainError):
    code = "over_return"


class OverCancel(DomainError):
    code = "over_cancel"


class PartnerScopeRefused(PermissionRefused):
    code = "partner_scope"


class PriceListCurrencyMismatch(DomainError):
    """An order in a currency other than the customer's price list's (its prices are in that one)."""

    code = "price_list_currency_mismatch"
    title = _("The order's currency differs from the price list's")


class QuotationNotFound(NotFound):
    code = "quotation_not_found"


class QuotationStateConflict(StateConflict):
    code = "quotation_state_conflict"


class QuotationExpired(DomainError):
    """Accepting a quotation past its valid_until (422: the offer lapsed; quote again)."""

    code = "quotation_expired"


class AmendBelowShipped(DomainError):
    """An amendment asks for less of a line than already left the warehouse (that is a return)."""

    code = "amend_below_shipped"
