"""Staff web UI, mounted at "/" in namespace "web" (config/urls.py)."""

from django.urls import path

from ops.web.views import (
    dashboards,
    documents,
    finance,
    orders,
    queue,
    quotations,
    reports,
    setup,
    stock,
    wms,
)
from ops.web.views import preferences as preference_views

app_name = "web"

urlpatterns = [
    path("", dashboards.home, name="home"),
    path("dashboard/operations/", dashboards.operations, name="dashboard-operations"),
    path("dashboard/finance/", dashboards.finance, name="dashboard-finance"),
    path("dashboard/support/", dashboards.support, name="dashboard-support"),
    path("dashboard/integrations/", dashboards.integrations, name="dashboard-integrations"),
    # order desk
    path("orders/", orders.order_list, name="orders"),
    path("orders/new/", orders.order_new, name="order-new"),
    path("orders/<int:pk>/", orders.order_detail, name="order"),
    path("orders/<int:pk>/cancel/", orders.order_cancel, name="order-cancel"),
    path("orders/<int:pk>/release-hold/", orders.order_release_hold, name="order-release-hold"),
    path("orders/<int:pk>/return/", orders.return_new, name="return-new"),
    path("returns/<int:pk>/receive/", orders.return_receive, name="return-receive"),
    path("shipments/", orders.shipment_list, name="shipments"),
    path("shipments/<int:pk>/ship/", orders.shipment_ship, name="shipment-ship"),
    path("orders/<int:pk>/amend/", quotations.order_amend, name="order-amend"),
    path("quotations/", quotations.quotation_list, name="quotations"),
    path("quotations/new/", quotations.quotation_new, name="quotation-new"),
    path("quotations/<int:pk>/", quotations.quotation_detail, name="quotation"),
    path("quotations/<int:pk>/accept/", quotations.quotation_accept, name="quotation-accept"),
    # stock and purchasing
    path("stock/", stock.availability, name="stock"),
    path("stock/ledger/", stock.ledger, name="ledger"),
    path("stock/count/", stock.cycle_count, name="cycle-count"),
    path("purchasing/", stock.purchase_orders, name="purchase-orders"),
    path("purchasing/<int:pk>/", stock.purchase_order, name="purchase-order"),
    path("purchasing/replenishment/", stock.replenishment, name="replenishment"),
    path("purchasing/<int:pk>/approve/", stock.approve_suggestion, name="approve-suggestion"),
    # finance
    path("finance/invoices/", finance.invoice_list, name="invoices"),
    path("finance/invoices/<int:pk>/", finance.invoice_detail, name="invoice"),
    path("finance/payments/", finance.payment_list, name="payments"),
    path("finance/payments/new/", finance.payment_new, name="payment-new"),
    path("finance/payments/<int:pk>/", finance.payment_detail, name="payment"),
    path("finance/credit-notes/", finance.credit_note_list, name="credit-notes"),
    path("finance/customers/", finance.customer_credit, name="customer-credit"),
    path("finance/trial-balance/", finance.trial_balance, name="trial-balance"),
    path("finance/ar-aging/", finance.ar_aging, name="ar-aging"),
    path("finance/periods/", finance.period_list, name="periods"),
    path("finance/periods/<int:pk>/", finance.period_detail, name="period"),
    path("finance/periods/<int:pk>/close/", finance.period_close, name="period-close"),
    path("finance/exchange-rates/", finance.exchange_rates, name="exchange-rates"),
    # exceptions, integrations, reconciliations
    path("exceptions/", queue.exception_list, name="exceptions"),
    path("exceptions/<int:pk>/", queue.exception_detail, name="exception"),
    path("exceptions/<int:pk>/<str:verb>/", queue.exception_act, name="exception-act"),
    path("integrations/deliveries/", queue.delivery_list, name="deliveries"),
    path("integrations/deliveries/<int:pk>/replay/", queue.delivery_replay, name="delivery-replay"),
    path("integrations/deliveries/replay-dead/", queue.delivery_replay_dead, name="deliveries-replay-dead"),
    path("integrations/inbound/", queue.inbound_list, name="inbound"),
    path("integrations/inbound/<int:pk>/", queue.inbound_detail, name="inbound-message"),
    path("integrations/events/", queue.event_list, name="events"),
    path("reconciliations/", queue.reconciliations, name="reconciliations"),
    # first day: company setup and imports (issue 20)
    path("setup/", setup.setup, name="setup"),
    path("setup/import/", setup.import_file, name="import"),
    # management reports and bank matching
    path("finance/reports/profit-and-loss/", reports.profit_and_loss, name="report-pnl"),
    path("finance/reports/balance-sheet/", reports.balance_sheet, name="report-balance-sheet"),
    path("finance/reports/cash-flow/", reports.cash_flow, name="report-cash-flow"),
    path("finance/reports/working-capital/", reports.working_capital, name="report-working-capital"),
    path("finance/reports/tax/", reports.tax_report, name="report-tax"),
    path("sales/reports/margin/", reports.margin, name="report-margin"),
    path("stock/aging/", reports.stock_aging, name="report-stock-aging"),
    path("stock/accuracy/", reports.stock_accuracy, name="report-stock-accuracy"),
    path("finance/bank/", reports.bank_queue, name="bank-queue"),
    path("finance/bank/lines/<int:pk>/", reports.bank_line, name="bank-line"),
    path("finance/bank/reconciliation/", reports.bank_reconciliation, name="bank-reconciliation"),
    # documents: the e-mail log, and sending one (the PDFs are the API's)
    path("documents/", documents.document_log, name="documents"),
    path("documents/<str:document_type>/<int:pk>/send/", documents.document_send, name="document-send"),
    # #22: order desk helpers
    path("orders/new/check/", orders.order_desk_check, name="order-desk-check"),
    path("orders/skus/", orders.sku_lookup, name="sku-lookup"),
    path("finance/journal/", finance.journal, name="journal"),
    path("trace/<str:correlation_id>.json", orders.trace_json, name="trace-json"),
    path("purchasing/new/", stock.purchase_order_new, name="purchase-order-new"),
    path("finance/customers/<str:code>/credit/", finance.customer_credit_edit, name="customer-credit-edit"),
    # warehouse depth (#16)
    path("stock/bins/", wms.stock_by_bin, name="stock-bins"),
    path("stock/recall/", wms.recall, name="recall"),
    path("picking/", wms.pick_lists, name="pick-lists"),
    path("picking/<int:pk>/", wms.pick_list, name="pick-list"),
    path("preferences/", preference_views.preferences_page, name="preferences"),  # #20: language and time zone
    # #22: void an invoice with a reason
    path("finance/invoices/<int:pk>/void/", finance.invoice_void, name="invoice-void"),
]
