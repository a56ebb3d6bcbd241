"""Public write interface of finance (re-exported from the modules of this package)."""

from finance.services.banking import auto_match_line, auto_match_lines, import_bank_statement, match_bank_line
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
from finance.services.opening import open_customer_invoice, open_supplier_bill, post_opening_gl_balance
from finance.services.payment_runs import approve_payment_run, cancel_payment_run, create_payment_run
from finance.services.payments import AllocationInput, allocate_payment, receive_payment
from finance.services.periods import (
    CloseReconciliation,
    close_period,
    close_period_checked,
    create_fiscal_year,
    period_for_date,
    register_close_reconciliation,
    reopen_period,
)
from finance.services.refunds import refund_customer
from finance.services.revaluation import revalue
from finance.services.setup import SetupResult, setup_company

__all__ = [
    "BillLineInput", "create_supplier_bill", "pay_supplier", "rematch_supplier_bill",
    "CreditLineInput", "apply_credit_note", "create_credit_note", "issue_credit_note_for_return",
    "issue_invoice_for_shipment", "issue_invoices_for_shipments", "void_invoice",
    "EntryRequest", "Line", "account_for", "post_journal_entries", "post_journal_entry", "post_manual_entry",
    "reverse_journal_entry",
    "AllocationInput", "allocate_payment", "receive_payment",
    "close_period", "create_fiscal_year", "period_for_date", "reopen_period",
    "SetupResult", "setup_company", "open_customer_invoice", "open_supplier_bill", "post_opening_gl_balance",
    "auto_match_line", "auto_match_lines", "import_bank_statement", "match_bank_line",
    "approve_payment_run", "cancel_payment_run", "create_payment_run", "refund_customer",
    "import_rates_csv", "rate_on", "record_rate", "revalue",
    "CloseReconciliation", "close_period_checked", "register_close_reconciliation",
]
