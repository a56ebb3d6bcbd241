from django.urls import path

from core.api.routers import Router
from finance.api import banking, reports, views

app_name = "finance"

router = Router(trailing_slash=True)
router.register("accounts", views.AccountViewSet, basename="account")
router.register("tax-rates", views.TaxRateViewSet, basename="tax-rate")
router.register("fiscal-years", views.FiscalYearViewSet, basename="fiscal-year")
router.register("periods", views.FiscalPeriodViewSet, basename="period")
router.register("journal-entries", views.JournalEntryViewSet, basename="journal-entry")
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("credit-notes", views.CreditNoteViewSet, basename="credit-note")
router.register("payments", views.PaymentViewSet, basename="payment")
router.register("supplier-bills", views.SupplierBillViewSet, basename="supplier-bill")
router.register("supplier-payments", views.SupplierPaymentViewSet, basename="supplier-payment")
router.register("bank-accounts", banking.BankAccountViewSet, basename="bank-account")
router.register("bank-statements/lines", banking.BankStatementLineViewSet, basename="bank-statement-line")
router.register("bank-statements", banking.BankStatementViewSet, basename="bank-statement")
router.register("refunds", banking.RefundViewSet, basename="refund")
router.register("payment-runs", banking.PaymentRunViewSet, basename="payment-run")
router.register("currencies", views.CurrencyViewSet, basename="currency")
router.register("exchange-rates", views.ExchangeRateViewSet, basename="exchange-rate")
router.register("payment-terms", views.PaymentTermsViewSet, basename="payment-term")

urlpatterns = router.urls + [
    path("reports/trial-balance/", views.TrialBalanceView.as_view(), name="report-trial-balance"),
    path("reports/ar-aging/", views.ARAgingView.as_view(), name="report-ar-aging"),
    path("reports/ap-aging/", views.APAgingView.as_view(), name="report-ap-aging"),
    path("reports/general-ledger/", views.GeneralLedgerView.as_view(), name="report-general-ledger"),
    path("reports/customer-statement/", views.CustomerStatementView.as_view(), name="report-customer-statement"),
    path("reports/inventory-valuation/", views.InventoryValuationView.as_view(), name="report-inventory-valuation"),
    path("reports/bank-reconciliation/", banking.BankReconciliationView.as_view(), name="report-bank-reconciliation"),
    path("reports/profit-and-loss/", reports.ProfitAndLossView.as_view(), name="report-profit-and-loss"),
    path("reports/balance-sheet/", reports.BalanceSheetView.as_view(), name="report-balance-sheet"),
    path("reports/cash-flow/", reports.CashFlowView.as_view(), name="report-cash-flow"),
    path("reports/working-capital/", reports.WorkingCapitalView.as_view(), name="report-working-capital"),
    path("reports/tax/", reports.TaxReportView.as_view(), name="report-tax"),
    path("revaluations/", views.RevaluationView.as_view(), name="revaluation"),
]
