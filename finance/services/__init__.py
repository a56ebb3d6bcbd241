"""Public write interface of finance (re-exported from the modules of this package)."""

from finance.services.bills import (
    BillLineInput,
    create_supplier_bill,
    pay_supplier,
    rematch_supplier_bill,
)
from finance.services.fx import import_rates_csv, rate_on, record_rate
from finance.services.invoicing import (
    CreditLineInput,
    apply_credit_note,
    create_credit_note,
    issue_credit_note_for_return,
    issue_invoice_for_shipment,
    issue_invoices_for_shipments,
    void_invoice,
)
from finance.services.journal import (
    EntryRequest,
    Line,
    account_for,
    post_journal_entries,
    post_journal_entry,
    post_manual_entry,
    reverse_journal_entry,
)
from finance.services.payments import AllocationInput, allocate_payment, receive_payment
from finance.services.periods import close_period, create_fiscal_year, period_for_date, reopen_period
from finance.services.revaluation import revalue

__all__ = [
    "BillLineInput", "create_supplier_bill", "pay_supplier", "rematch_supplier_bill",
    "CreditLineInput", "apply_credit_note", "create_credit_note", "issue_credit_note_for_return",
    "issue_invoice_for_shipment", "issue_invoices_for_shipments", "void_invoice",
    "EntryRequest", "Line", "account_for", "post_journal_entries", "post_journal_entry", "post_manual_entry",
    "reverse_journal_entry",
    "AllocationInput", "allocate_payment", "receive_payment",
    "close_period", "create_fiscal_year", "period_for_date", "reopen_period",
    "import_rates_csv", "rate_on", "record_rate", "revalue",
]
