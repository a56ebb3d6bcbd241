"""I4–I7 after any sequence of receipts, sales, shipments, invoices, payments, returns,
voids, bills and adjustments (hypothesis stateful, through the real services of every app):

I4 every entry balances and the trial balance balances; I5 GL inventory = stock ledger
value; I6 GL AR = open invoice balances (net of customer credit); I7 GL AP = open bills.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.messaging.relay import drain_outbox
from finance import selectors
from finance.models import Invoice, SupplierBill
from finance.services import (
    AllocationInput,
    BillLineInput,
    create_supplier_bill,
    pay_supplier,
    receive_payment,
    void_invoice,
)
from tests.finance.conftest import order, receive, return_goods, ship_all

D = Decimal


class Ledgers(RuleBasedStateMachine):
    ctx: dict = {}

    def __init__(self):
        super().__init__()
        # each example runs in a savepoint rolled back in teardown, inside the test's transaction
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.n = 0
        self.shipped_orders: list = []

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _ref(self) -> str:
        self.n += 1
        return f"h{self.n}"

    @rule(qty=st.integers(1, 20), cost=st.sampled_from(["1.00", "3.33", "4.10", "7.999"]))
    def receive_goods(self, qty, cost):
        receive(self.ctx["warehouse"], self.ctx["product"], str(qty), cost)

    @rule(qty=st.integers(1, 8), price=st.sampled_from(["9.99", "10.00", "12.35"]))
    def sell_and_ship(self, qty, price):
        so = order(self.ctx["customer"], [(self.ctx["product"].sku, str(qty), price)], ref=self._ref())
        if ship_all(so):
            self.shipped_orders.append(so)

    @precondition(lambda self: Invoice.objects.filter(balance_due__gt=0).exists())
    @rule(fraction=st.sampled_from([D("0.25"), D("0.5"), D("1")]), extra=st.sampled_from(["0", "5.00"]),
          data=st.data())
    def pay_invoice(self, fraction, extra, data):
        open_invoices = list(Invoice.objects.filter(balance_due__gt=0).exclude(status="void").order_by("pk"))
        if not open_invoices:
            return
        invoice = data.draw(st.sampled_from(open_invoices))
        alloc = (invoice.balance_due * fraction).quantize(D("0.01"))
        receive_payment(customer=self.ctx["customer"], amount=alloc + D(extra),
                        allocations=[AllocationInput(invoice.pk, alloc)])

    @rule(amount=st.sampled_from(["1.00", "20.00"]))
    def pay_on_account(self, amount):
        receive_payment(customer=self.ctx["customer"], amount=D(amount))

    @precondition(lambda self: bool(self.shipped_orders))
    @rule(disposition=st.sampled_from(["restock", "scrap"]), data=st.data())
    def return_one(self, disposition, data):
        so = data.draw(st.sampled_from(self.shipped_orders))
        line = so.lines.get()
        line.refresh_from_db()
        if line.quantity_shipped - line.quantity_returned >= 1:
            return_goods(so, line.sku, "1", disposition)

    @precondition(lambda self: Invoice.objects.filter(amount_settled=0, status="open").exists())
    @rule()
    def void_one(self):
        invoice = Invoice.objects.filter(amount_settled=0, status="open").first()
        void_invoice(invoice_id=invoice.pk, reason="test")

    @rule(delta=st.integers(-3, 3))
    def count_stock(self, delta):
        from inventory.selectors import get_stock_level
        from inventory.services import adjust_stock

        level = get_stock_level(warehouse=self.ctx["warehouse"], product=self.ctx["product"])
        on_hand = level.on_hand if level else D("0")
        counted = max(on_hand + delta, level.reserved if level else D("0"), D("0"))
        adjust_stock(warehouse=self.ctx["warehouse"], product=self.ctx["product"], counted_quantity=counted,
                     reason="cycle count")
        drain_outbox()

    @rule(qty=st.integers(1, 5), billed=st.sampled_from(["5.00", "5.05", "6.00"]), over=st.booleans())
    def buy_and_bill(self, qty, billed, over):
        from inventory.services import (
            PurchaseOrderLineInput,
            ReceiveLineInput,
            create_purchase_order,
            receive_purchase_order,
        )

        product, supplier = self.ctx["product"], self.ctx["supplier"]
        po = create_purchase_order(supplier=supplier, warehouse=self.ctx["warehouse"],
                                   lines=[PurchaseOrderLineInput(product=product, quantity=D(qty), unit_cost=D("5.00"))])
        receive_purchase_order(purchase_order=po, lines=[ReceiveLineInput(product=product, quantity=D(qty))])
        drain_outbox()
        create_supplier_bill(supplier=supplier, purchase_order=po,
                             lines=[BillLineInput(product=product, quantity=D(qty + (1 if over else 0)),
                                                  unit_cost=D(billed))])

    @precondition(lambda self: SupplierBill.objects.filter(status="open").exists())
    @rule()
    def pay_bill(self):
        bill = SupplierBill.objects.filter(status="open").first()
        half = (bill.balance_due / 2).quantize(D("0.01"))
        pay_supplier(supplier=self.ctx["supplier"], amount=half, allocations=[(bill.pk, half)])

    @invariant()
    def books_agree(self):
        drain_outbox()
        assert selectors.unbalanced_entry_ids() == []                                              # I4
        tb = selectors.trial_balance()
        assert tb["total_debit"] == tb["total_credit"]                                             # I4
        valuation = selectors.inventory_valuation()
        assert valuation["agrees"], valuation                                                      # I5
        assert selectors.gl_balance_for_role("ar") == selectors.open_invoice_balance_total()       # I6
        assert selectors.gl_balance_for_role("ap") == selectors.open_bill_balance_total()          # I7


@pytest.mark.django_db
def test_ledgers_agree_after_any_sequence(customer, warehouse, product, supplier):
    Ledgers.ctx = {"customer": customer, "warehouse": warehouse, "product": product, "supplier": supplier}
    run_state_machine_as_test(Ledgers, settings=settings(
        max_examples=8, stateful_step_count=10, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
