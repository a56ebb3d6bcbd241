"""I4–I7 with customers and a supplier in several currencies (USD books, EUR and JPY
documents) while the rates move (hypothesis stateful, through the real services).

Beside I4 (entries balance), I5 (GL inventory = stock value), I6/I7 in the company currency
(GL AR/AP = the open documents' carrying amounts), it checks, per currency, that the GL AR/AP
lines' original amounts equal the open documents in that currency and their company amounts
the documents' carrying amounts; and an oracle of its own: every invoice's balance in its
currency as the machine computed it, every bill's, the customer credit per currency, and
that a cleared document carries nothing (realised FX took the rest).
"""

import os
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.messaging.relay import drain_outbox
from finance import selectors
from finance.models import CreditNote, Invoice, Payment, SupplierBill
from finance.services import (
    AllocationInput,
    BillLineInput,
    allocate_payment,
    create_supplier_bill,
    pay_supplier,
    receive_payment,
    record_rate,
    revalue,
    void_invoice,
)
from finance.services.fx import in_currency
from sales.models import Order, ShipmentLine
from tests.factories.inventory import SupplierFactory
from tests.factories.sales import CustomerFactory
from tests.finance.conftest import order, receive, return_goods, ship_all

D = Decimal
TAX_RATE = D("0.08")
_COMMON = {"deadline": None, "derandomize": False, "print_blob": True, "suppress_health_check": list(HealthCheck)}
settings.register_profile("fx-ledgers-ci", max_examples=10, stateful_step_count=15, **_COMMON)
settings.register_profile("fx-ledgers-dev", max_examples=6, stateful_step_count=12, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_LEDGERS_PROFILE", "").replace("ledgers", "fx-ledgers") or (
    "fx-ledgers-ci" if os.environ.get("CI") else "fx-ledgers-dev")
PRICES = {"USD": ["9.99", "12.35"], "EUR": ["9.99", "12.35"], "JPY": ["1000", "1234"]}
RATES = {"EUR": ["1.0850", "1.1000", "1.0712"], "JPY": ["0.006700", "0.006512", "0.007013"]}


class FxLedgers(RuleBasedStateMachine):
    ctx: dict = {}
    seen: set = set()   # across examples: which exchange-difference rules the run exercised

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.n = 0
        self.invoices: dict[int, dict] = {}                   # id → currency, balance, void
        self.orders: dict[int, dict] = {}                     # id → currency, price, shipped, returned, invoice
        self.bills: dict[int, Decimal] = {}                   # id → balance (EUR)
        self.credit: dict[str, Decimal] = defaultdict(lambda: D("0"))  # customer credit per currency

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _ref(self) -> str:
        self.n += 1
        return f"fx{self.n}"

    @initialize()
    def stock_to_sell(self):
        receive(self.ctx["warehouse"], self.ctx["product"], "60", "3.33")

    @rule(currency=st.sampled_from(["EUR", "JPY"]), data=st.data())
    def rate_moves(self, currency, data):
        record_rate(currency=currency, on=timezone.localdate(), rate=data.draw(st.sampled_from(RATES[currency])))

    @rule(qty=st.integers(1, 20))
    def receive_goods(self, qty):
        receive(self.ctx["warehouse"], self.ctx["product"], str(qty), "3.33")

    @rule(currency=st.sampled_from(["USD", "EUR", "JPY"]), qty=st.integers(1, 6), data=st.data())
    def sell_and_ship(self, currency, qty, data):
        price = data.draw(st.sampled_from(PRICES[currency]))
        so = order(self.ctx["customers"][currency], [(self.ctx["product"].sku, str(qty), price)], ref=self._ref())
        assert so.currency == currency
        shipments = ship_all(so)
        if not shipments:
            return
        shipped = ShipmentLine.objects.filter(shipment=shipments[0]).aggregate(q=Sum("quantity"))["q"]
        subtotal = in_currency(shipped * D(price), currency)
        total = subtotal + in_currency(subtotal * TAX_RATE, currency)
        invoice = Invoice.objects.get(shipment_id=shipments[0].pk)
        assert (invoice.currency, invoice.total) == (currency, total)
        self.invoices[invoice.pk] = {"currency": currency, "balance": total, "void": False}
        self.orders[so.pk] = {"currency": currency, "price": D(price), "shipped": shipped, "returned": D("0"),
                              "invoice": invoice.pk}

    @precondition(lambda self: any(i["balance"] > 0 and not i["void"] for i in self.invoices.values()))
    @rule(fraction=st.sampled_from([D("0.3"), D("0.5"), D("1")]), data=st.data())
    def pay_invoice(self, fraction, data):
        pk = data.draw(st.sampled_from(sorted(k for k, i in self.invoices.items() if i["balance"] > 0 and not i["void"])))
        mine = self.invoices[pk]
        alloc = in_currency(mine["balance"] * fraction, mine["currency"])
        if alloc <= 0:
            return
        invoice = Invoice.objects.get(pk=pk)
        # paid tomorrow at tomorrow's rate: a foreign invoice realises an exchange difference
        tomorrow = timezone.localdate() + timedelta(days=1)
        if mine["currency"] != "USD":  # never the invoice's own rate
            others = [r for r in RATES[mine["currency"]] if D(r) != invoice.exchange_rate]
            record_rate(currency=mine["currency"], on=tomorrow, rate=data.draw(st.sampled_from(others)))
        receive_payment(customer=self.ctx["customers"][mine["currency"]], amount=alloc, currency=mine["currency"],
                        allocations=[AllocationInput(pk, alloc)], received_on=tomorrow)
        mine["balance"] -= alloc
        assert invoice.currency == mine["currency"]

    @rule(currency=st.sampled_from(["USD", "EUR", "JPY"]))
    def pay_on_account(self, currency):
        amount = D("5000") if currency == "JPY" else D("20.00")
        receive_payment(customer=self.ctx["customers"][currency], amount=amount)
        self.credit[currency] += amount

    @precondition(lambda self: Payment.objects.filter(unallocated__gt=0).exists())
    @rule(data=st.data())
    def allocate_credit(self, data):
        payments = list(Payment.objects.filter(unallocated__gt=0).order_by("pk"))
        payment = data.draw(st.sampled_from(payments))
        targets = [k for k, i in self.invoices.items()
                   if i["currency"] == payment.currency and i["balance"] > 0 and not i["void"]]
        if not targets:
            return
        pk = data.draw(st.sampled_from(sorted(targets)))
        amount = min(payment.unallocated, self.invoices[pk]["balance"])
        allocate_payment(payment_id=payment.pk, allocations=[AllocationInput(pk, amount)])
        self.invoices[pk]["balance"] -= amount
        self.credit[payment.currency] -= amount

    @precondition(lambda self: any(o["shipped"] - o["returned"] >= 1 for o in self.orders.values()))
    @rule(data=st.data())
    def return_one(self, data):
        order_id = data.draw(st.sampled_from(sorted(k for k, o in self.orders.items()
                                                    if o["shipped"] - o["returned"] >= 1)))
        mine = self.orders[order_id]
        return_goods(Order.objects.get(pk=order_id), self.ctx["product"].sku, "1", "restock")
        mine["returned"] += 1
        cur = mine["currency"]
        subtotal = in_currency(mine["price"], cur)
        total = subtotal + in_currency(subtotal * TAX_RATE, cur)
        invoice = self.invoices[mine["invoice"]]
        applied = D("0") if invoice["void"] or invoice["balance"] == 0 else min(total, invoice["balance"])
        invoice["balance"] -= applied
        self.credit[cur] += total - applied

    @precondition(lambda self: Invoice.objects.filter(amount_settled=0, status="open").exists())
    @rule()
    def void_one(self):
        invoice = Invoice.objects.filter(amount_settled=0, status="open").first()
        void_invoice(invoice_id=invoice.pk, reason="test")
        self.invoices[invoice.pk].update(void=True, balance=D("0"))

    @rule(qty=st.integers(1, 5))
    def buy_and_bill_in_eur(self, qty):
        from inventory.services import (
            PurchaseOrderLineInput,
            ReceiveLineInput,
            create_purchase_order,
            receive_purchase_order,
        )

        product, supplier = self.ctx["product"], self.ctx["supplier"]
        po = create_purchase_order(supplier=supplier, warehouse=self.ctx["warehouse"],
                                   lines=[PurchaseOrderLineInput(product=product, quantity=D(qty),
                                                                 unit_cost=D("5.00"))])
        assert po.currency == "EUR"
        receive_purchase_order(purchase_order=po, lines=[ReceiveLineInput(product=product, quantity=D(qty))])
        drain_outbox()
        bill = create_supplier_bill(supplier=supplier, purchase_order=po,
                                    lines=[BillLineInput(product=product, quantity=D(qty), unit_cost=D("5.00"))])
        assert (bill.status, bill.currency) == ("open", "EUR"), bill.hold_reasons
        self.bills[bill.pk] = D(qty) * D("5.00")

    @precondition(lambda self: SupplierBill.objects.filter(status="open").exists())
    @rule()
    def pay_bill(self):
        bill = SupplierBill.objects.filter(status="open").first()
        half = in_currency(self.bills[bill.pk] / 2, "EUR")
        pay_supplier(supplier=self.ctx["supplier"], amount=half, allocations=[(bill.pk, half)])
        self.bills[bill.pk] -= half

    @rule()
    def revalue_today(self):
        revalue(on=timezone.localdate())

    @invariant()
    def books_agree(self):
        drain_outbox()
        assert selectors.unbalanced_entry_ids() == []                                              # I4
        tb = selectors.trial_balance()
        assert tb["total_debit"] == tb["total_credit"]                                             # I4
        assert selectors.inventory_valuation()["agrees"]                                           # I5
        assert selectors.gl_balance_for_role("ar") == selectors.open_invoice_balance_total()       # I6
        assert selectors.gl_balance_for_role("ap") == selectors.open_bill_balance_total()          # I7
        for role, rows in selectors.control_balances_by_currency().items():
            for cur, row in rows.items():
                assert row["gl_currency"] == row["open_currency"], (role, cur, row)
                assert row["gl_company"] == row["open_company"], (role, cur, row)

    @invariant()
    def note_fx_entries(self):
        from finance.models import JournalEntry

        FxLedgers.seen |= set(JournalEntry.objects.filter(rule__in=["realised_fx", "revaluation"])
                              .values_list("rule", flat=True).distinct())

    @invariant()
    def documents_equal_the_oracle(self):
        actual = {i.pk: (i.currency, i.balance_due, i.status == "void")
                  for i in Invoice.objects.only("pk", "currency", "balance_due", "status")}
        assert actual == {pk: (i["currency"], i["balance"], i["void"]) for pk, i in self.invoices.items()}
        assert not Invoice.objects.filter(balance_due=0).exclude(balance_company=0).exists()
        assert not SupplierBill.objects.filter(balance_due=0, status="paid").exclude(balance_company=0).exists()
        posted = {b.pk: b.balance_due for b in SupplierBill.objects.exclude(status="on_hold")}
        assert posted == self.bills
        per_currency = selectors.control_balances_by_currency()["ar"]
        for cur in ("USD", "EUR", "JPY"):
            open_docs = sum((i["balance"] for i in self.invoices.values() if i["currency"] == cur), D("0"))
            expected = open_docs - self.credit[cur]
            assert per_currency.get(cur, {}).get("open_currency", D("0")) == expected, cur
        credit = (Payment.objects.values("currency").annotate(s=Sum("unallocated")).order_by(),
                  CreditNote.objects.values("currency").annotate(s=Sum("unapplied")).order_by())
        got: dict[str, Decimal] = defaultdict(lambda: D("0"))
        for qs in credit:
            for row in qs:
                got[row["currency"]] += row["s"]
        assert {c: v for c, v in got.items() if v} == {c: v for c, v in self.credit.items() if v}


@pytest.mark.timeout(600)
@pytest.mark.django_db
def test_ledgers_agree_in_every_currency(warehouse, product, settings):
    settings.ERP = {**settings.ERP, "CURRENCY": "USD"}
    start = timezone.localdate() - timedelta(days=5)
    record_rate(currency="EUR", on=start, rate="1.0850")
    record_rate(currency="JPY", on=start, rate="0.006700")
    FxLedgers.ctx = {
        "customers": {cur: CustomerFactory(code=f"FX-{cur}", currency=cur) for cur in ("USD", "EUR", "JPY")},
        "supplier": SupplierFactory(code="FX-SUP", currency="EUR"), "warehouse": warehouse, "product": product}
    FxLedgers.seen = set()
    # the invariants are checked after every step of every run; a random run may happen never to
    # settle a foreign document at another rate, so run again (new seeds) until one has, at most 3 times
    for _ in range(3):
        run_state_machine_as_test(FxLedgers, settings=settings_profile())
        if "realised_fx" in FxLedgers.seen:
            break
    assert "realised_fx" in FxLedgers.seen  # the runs settled foreign documents at another rate


def settings_profile():
    return settings(settings.get_profile(PROFILE))
