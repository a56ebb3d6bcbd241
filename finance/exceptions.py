"""Finance refusals. Each maps to a problem+json status through core.api.problems."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError, NotFound, StateConflict, ValidationFailed


class UnbalancedEntry(ValidationFailed):
    code = "unbalanced_entry"
    title = _("Debits do not equal credits")


class PeriodClosed(StateConflict):
    code = "period_closed"
    title = _("The fiscal period is closed")


class PeriodNotClosable(StateConflict):
    code = "period_not_closable"
    title = _("The period cannot be closed yet")


class PostedEntryImmutable(StateConflict):
    code = "posted_entry_immutable"
    title = _("Posted journal entries are immutable")


class AlreadyReversed(StateConflict):
    code = "already_reversed"
    title = _("The entry has already been reversed")


class AccountNotConfigured(DomainError):
    code = "account_not_configured"
    title = _("No account is configured for a posting role")


class UnknownTaxCategory(ValidationFailed):
    code = "unknown_tax_category"
    title = _("No tax rate for this category and date")


class InvoiceNotPayable(StateConflict):
    code = "invoice_not_payable"
    title = _("The invoice cannot take this payment")


class OverAllocation(ValidationFailed):
    code = "over_allocation"
    title = _("Allocation exceeds the available amount")


class InvoiceNotVoidable(StateConflict):
    code = "invoice_not_voidable"
    title = _("The invoice cannot be voided")


class BillNotPayable(StateConflict):
    code = "bill_not_payable"
    title = _("The bill cannot take this payment")


class BillStateConflict(StateConflict):
    code = "bill_state_conflict"
    title = _("The bill is not in a state that allows this")


class FinanceNotFound(NotFound):
    code = "not_found"


class SetupConflict(StateConflict):
    code = "setup_conflict"
    title = _("Posted documents depend on this setting")


class InsufficientCredit(DomainError):
    code = "insufficient_credit"
    title = _("The customer's credit does not cover the refund")


class PaymentRunRefused(DomainError):
    code = "payment_run_refused"
    title = _("The payment run cannot be approved")


class PaymentRunConflict(StateConflict):
    code = "payment_run_conflict"
    title = _("The payment run is not in a state that allows this")


class RateMissing(DomainError):
    """No exchange rate for a currency on or before a document's date (422 naming both)."""

    code = "exchange_rate_missing"
    title = _("No exchange rate for the currency on that date")


class CurrencyMismatch(DomainError):
    """A document in one currency settled, priced or applied in another (422)."""

    code = "currency_mismatch"
    title = _("The currencies of the documents do not match")
