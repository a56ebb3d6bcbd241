"""I4–I7 after any sequence of receipts, sales, shipments, invoices, payments, returns,
voids, bills, adjustments, refunds and bank statement lines matched automatically (hypothesis stateful, through the real services of every app):

I4 every entry balances and the trial balance balances; I5 GL inventory = stock ledger
value; I6 GL AR = open invoice balances (net of customer credit); I7 GL AP = open bills.

Those are the app's own selectors agreeing with each other. Beside them runs an independent
oracle: the machine keeps its own books from the operations it performed — a moving-average
stock model (the rounding rules of inventory/services/_ledger.py, re-implemented here), every
invoice, credit, payment and bill it caused with hand-computed amounts, and the signed
balance of every control account — and the GL, the stock ledger and each document must
equal it after every step.

Exploration: random (never derandomised) and reported with the reproduction blob on
failure; more examples in CI (env CI set) than locally. Profiles below; override with
HYPOTHESIS_LEDGERS_PROFILE=ledgers-ci|ledgers-dev. `pytest --hypothesis-seed=N` replays a seed.
"""

import os
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
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
from finance.models import Account, BankAccount, BankCsvMapping, BankMatchRule, Invoice, Payment, SupplierBill
from finance.services import (
    AllocationInput,
    BillLineInput,
    auto_match_lines,
    create_supplier_bill,
    import_bank_statement,
    pay_supplier,
    receive_payment,
    refund_customer,
    void_invoice,
)
from inventory.models import StockMove
from sales.models import Order, ShipmentLine
from sales.services import CanonicalCharge, CanonicalLine, CanonicalOrder, submit_order
from tests.finance.conftest import balances, order, receive, return_goods, ship_all

D = Decimal
TAX_RATE = D("0.08")        # the `standard` rate of the default chart (docs/finance.md)
PO_COST = D("5.00")
CENT, MICRO = D("0.01"), D("0.000001")

_COMMON = {"deadline": None, "derandomize": False, "print_blob": True,
           "suppress_health_check": list(HealthCheck)}
# CI: 600 steps (7.5 × the former 8 × 10), about 75 s alone on 2 cores; locally a quick look.
settings.register_profile("ledgers-ci", max_examples=30, stateful_step_count=20, **_COMMON)
settings.register_profile("ledgers-dev", max_examples=10, stateful_step_count=10, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_LEDGERS_PROFILE") or ("ledgers-ci" if os.environ.get("CI") else "ledgers-dev")


def _terms(total: Decimal) -> dict:
    """The customer is on 2/10NET30: 2 % of the gross total, half-up to the cent."""
    return {"discount": q2(total * D("0.02")), "taken": False}


def _discount_for(mine: dict, alloc: Decimal) -> Decimal:
    """The early-payment discount an allocation of `alloc` today takes (finance.services.terms)."""
    d = mine["discount"]
    if d and not mine["taken"] and not mine["void"] and mine["balance"] > d and alloc == mine["balance"] - d:
        return d
    return D("0.00")


def q2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def q6(x: Decimal) -> Decimal:
    return x.quantize(MICRO, rounding=ROUND_HALF_UP)


class StockModel:
    """One product in one warehouse at moving average, as _ledger.py documents it."""

    def __init__(self) -> None:
        self.on_hand, self.value, self.avg = D("0"), D("0.00"), D("0")

    def inbound(self, qty: Decimal, unit_cost: Decimal) -> Decimal:
        v = q2(qty * unit_cost)
        self.on_hand += qty
        self.value += v
        self.avg = q6(self.value / self.on_hand)
        return v

    def outbound(self, qty: Decimal) -> Decimal:
        v = self.value if qty >= self.on_hand else min(q2(qty * self.avg), self.value)
        self.on_hand -= qty
        self.value -= v
        if self.on_hand > 0:
            self.avg = q6(self.value / self.on_hand)
        return v

    def in_and_scrapped(self, qty: Decimal, unit_cost: Decimal) -> Decimal:
        """A scrapped return: in at its cost, straight out at the same value."""
        v = self.inbound(qty, unit_cost)
        self.on_hand -= qty
        self.value -= v
        if self.on_hand > 0:
            self.avg = q6(self.value / self.on_hand)
        return v


class Ledgers(RuleBasedStateMachine):
    ctx: dict = {}

    def __init__(self):
        super().__init__()
        # each example runs in a savepoint rolled back in teardown, inside the test's transaction
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.n = 0
        # the oracle's books
        self.stock = StockModel()
        self.gl: dict[str, Decimal] = defaultdict(lambda: D("0.00"))  # role → debit − credit
        self.invoices: dict[int, dict] = {}   # id → subtotal, tax, total, balance, settled, void
        self.orders: dict[int, dict] = {}     # id → price, shipped, returned, cost, invoice_id
        self.bills: dict[int, Decimal] = {}   # id → balance
        self.customer_credit = D("0.00")      # unallocated payments + unapplied credit notes

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _ref(self) -> str:
        self.n += 1
        return f"h{self.n}"

    def _post(self, **amounts: Decimal) -> None:
        for role, amount in amounts.items():
            self.gl[role] += amount

    @rule(qty=st.integers(1, 20), cost=st.sampled_from(["1.00", "3.33", "4.10", "7.999"]))
    def receive_goods(self, qty, cost):
        receive(self.ctx["warehouse"], self.ctx["product"], str(qty), cost)
        v = self.stock.inbound(D(qty), D(cost))
        self._post(inventory=v, grni=-v)

    @rule(qty=st.integers(1, 8), price=st.sampled_from(["9.99", "10.00", "12.35"]))
    def sell_and_ship(self, qty, price):
        so = order(self.ctx["customer"], [(self.ctx["product"].sku, str(qty), price)], ref=self._ref())
        shipments = ship_all(so)
        assert len(shipments) <= 1  # one warehouse: one shipment at most
        if not shipments:
            return
        shipped = ShipmentLine.objects.filter(shipment=shipments[0]).aggregate(q=Sum("quantity"))["q"]
        cost = self.stock.outbound(shipped)
        subtotal = q2(shipped * D(price))
        tax = q2(subtotal * TAX_RATE)
        self._post(cogs=cost, inventory=-cost, ar=subtotal + tax, revenue=-subtotal, tax_payable=-tax)
        invoice = Invoice.objects.get(shipment_id=shipments[0].pk)
        self.invoices[invoice.pk] = {"subtotal": subtotal, "tax": tax, "total": subtotal + tax,
                                     "balance": subtotal + tax, "settled": D("0.00"), "void": False,
                                     **_terms(subtotal + tax)}
        self.orders[so.pk] = {"price": D(price), "shipped": shipped, "returned": D("0"), "cost": cost,
                              "invoice_id": invoice.pk}

    @rule(qty=st.integers(1, 8), discount=st.sampled_from(["0", "12.50", "33.33"]),
          shipping=st.sampled_from(["0", "4.95"]))
    def sell_as_the_channel_sold(self, qty, discount, shipping):
        """An order with a line discount and a shipping charge (issue #15): the invoice carries
        the line's net share of what shipped and, with this first shipment, the charge."""
        so = submit_order(CanonicalOrder(
            customer_code=self.ctx["customer"].code, channel="test", external_ref=self._ref(), price_authorised=True,
            lines=[CanonicalLine(sku=self.ctx["product"].sku, quantity=D(qty), unit_price=D("10.00"),
                                 discount_percent=D(discount))],
            charges=[CanonicalCharge(kind="shipping", amount=D(shipping))] if D(shipping) else [])).order
        shipments = ship_all(so)
        if not shipments:
            return
        shipped = ShipmentLine.objects.filter(shipment=shipments[0]).aggregate(q=Sum("quantity"))["q"]
        cost = self.stock.outbound(shipped)
        full_net = D(qty) * D("10.00") * (100 - D(discount)) / 100
        goods = q2(full_net * shipped / D(qty))
        charge = D(shipping)
        tax = q2(goods * TAX_RATE) + q2(charge * TAX_RATE)
        self._post(cogs=cost, inventory=-cost, ar=goods + charge + tax, revenue=-goods, charges_revenue=-charge,
                   tax_payable=-tax)
        invoice = Invoice.objects.get(shipment_id=shipments[0].pk)
        self.invoices[invoice.pk] = {"subtotal": goods + charge, "tax": tax, "total": goods + charge + tax,
                                     "balance": goods + charge + tax, "settled": D("0.00"), "void": False,
                                     "charge": charge, **_terms(goods + charge + tax)}
        # a return credits one unit at its net share of the line (ours: the plain price when no discount)
        self.orders[so.pk] = {"price": q2(full_net / D(qty)), "shipped": shipped, "returned": D("0"), "cost": cost,
                              "invoice_id": invoice.pk}

    @precondition(lambda self: Invoice.objects.filter(balance_due__gt=0).exists())
    @rule(fraction=st.sampled_from([D("0.25"), D("0.5"), D("1")]), extra=st.sampled_from(["0", "5.00"]),
          data=st.data())
    def pay_invoice(self, fraction, extra, data):
        open_invoices = list(Invoice.objects.filter(balance_due__gt=0).exclude(status="void").order_by("pk"))
        if not open_invoices:
            return
        invoice = data.draw(st.sampled_from(open_invoices))
        mine = self.invoices[invoice.pk]
        alloc = (mine["balance"] * fraction).quantize(CENT)
        amount = alloc + D(extra)
        receive_payment(customer=self.ctx["customer"], amount=amount,
                        allocations=[AllocationInput(invoice.pk, alloc)])
        # exactly the discounted balance inside the window (today) takes the discount
        discount = _discount_for(mine, alloc)
        self._post(cash=amount, ar=-amount - discount, sales_discount=discount)
        mine["balance"] -= alloc + discount
        mine["settled"] += alloc + discount
        mine["taken"] = mine["taken"] or discount > 0
        self.customer_credit += D(extra)

    @precondition(lambda self: any(_discount_for(i, i["balance"] - i["discount"]) for i in self.invoices.values()))
    @rule(data=st.data())
    def pay_invoice_early(self, data):
        """2/10NET30: the discounted balance paid inside the window settles the invoice, the
        discount to Sales discounts (Dr) against AR."""
        candidates = sorted(pk for pk, i in self.invoices.items() if _discount_for(i, i["balance"] - i["discount"]))
        pk = data.draw(st.sampled_from(candidates))
        mine = self.invoices[pk]
        discount = mine["discount"]
        amount = mine["balance"] - discount
        receive_payment(customer=self.ctx["customer"], amount=amount, allocations=[AllocationInput(pk, amount)])
        self._post(cash=amount, ar=-amount - discount, sales_discount=discount)
        mine["balance"], mine["settled"], mine["taken"] = D("0.00"), mine["settled"] + amount + discount, True

    @rule(amount=st.sampled_from(["1.00", "20.00"]))
    def pay_on_account(self, amount):
        receive_payment(customer=self.ctx["customer"], amount=D(amount))
        self._post(cash=D(amount), ar=-D(amount))
        self.customer_credit += D(amount)

    @precondition(lambda self: any(o["shipped"] - o["returned"] >= 1 for o in self.orders.values()))
    @rule(disposition=st.sampled_from(["restock", "scrap"]), data=st.data())
    def return_one(self, disposition, data):
        order_id = data.draw(st.sampled_from(sorted(k for k, o in self.orders.items()
                                                    if o["shipped"] - o["returned"] >= 1)))
        mine = self.orders[order_id]
        return_goods(Order.objects.get(pk=order_id), self.ctx["product"].sku, "1", disposition)
        mine["returned"] += 1
        # back at the average cost the shipped units left with
        unit_cost = q6(mine["cost"] / mine["shipped"])
        if disposition == "restock":
            goods = self.stock.inbound(D("1"), unit_cost)
            self._post(inventory=goods, cogs=-goods)
        else:
            goods = self.stock.in_and_scrapped(D("1"), unit_cost)
            self._post(write_off=goods, cogs=-goods)
        subtotal = q2(mine["price"])
        tax = q2(subtotal * TAX_RATE)
        total = subtotal + tax
        self._post(revenue=subtotal, tax_payable=tax, ar=-total)
        invoice = self.invoices[mine["invoice_id"]]
        applied = D("0.00") if invoice["void"] or invoice["balance"] == 0 else min(total, invoice["balance"])
        invoice["balance"] -= applied
        invoice["settled"] += applied
        self.customer_credit += total - applied

    @precondition(lambda self: Invoice.objects.filter(amount_settled=0, status="open").exists())
    @rule()
    def void_one(self):
        invoice = Invoice.objects.filter(amount_settled=0, status="open").first()
        mine = self.invoices[invoice.pk]
        assert (mine["settled"], mine["void"]) == (D("0.00"), False)
        void_invoice(invoice_id=invoice.pk, reason="test")
        charge = mine.get("charge", D("0.00"))
        self._post(ar=-mine["total"], revenue=mine["subtotal"] - charge, charges_revenue=charge, tax_payable=mine["tax"])
        mine["void"], mine["balance"] = True, D("0.00")

    @rule(delta=st.integers(-3, 3))
    def count_stock(self, delta):
        from inventory.selectors import get_stock_level
        from inventory.services import adjust_stock

        level = get_stock_level(warehouse=self.ctx["warehouse"], product=self.ctx["product"])
        reserved = level.reserved if level else D("0")
        counted = max(self.stock.on_hand + delta, reserved, D("0"))
        adjust_stock(warehouse=self.ctx["warehouse"], product=self.ctx["product"], counted_quantity=counted,
                     reason="cycle count")
        drain_outbox()
        diff = counted - self.stock.on_hand
        if diff > 0:  # gains come in at the average (the standard cost before any)
            unit_cost = self.stock.avg if self.stock.avg > 0 else self.ctx["product"].standard_cost
            v = self.stock.inbound(diff, unit_cost)
        elif diff < 0:
            v = -self.stock.outbound(-diff)
        else:
            v = D("0.00")
        self._post(inventory=v, inventory_adjustment=-v)

    @rule(qty=st.integers(1, 5), billed=st.sampled_from(["5.00", "5.05", "6.00"]), over=st.booleans(),
          input_rate=st.sampled_from(["0", "0.19"]))
    def buy_and_bill(self, qty, billed, over, input_rate):
        from inventory.services import (
            PurchaseOrderLineInput,
            ReceiveLineInput,
            create_purchase_order,
            receive_purchase_order,
        )

        product, supplier = self.ctx["product"], self.ctx["supplier"]
        po = create_purchase_order(supplier=supplier, warehouse=self.ctx["warehouse"],
                                   lines=[PurchaseOrderLineInput(product=product, quantity=D(qty), unit_cost=PO_COST)])
        receive_purchase_order(purchase_order=po, lines=[ReceiveLineInput(product=product, quantity=D(qty))])
        drain_outbox()
        v = self.stock.inbound(D(qty), PO_COST)
        self._post(inventory=v, grni=-v)
        bill = create_supplier_bill(supplier=supplier, purchase_order=po,
                                    lines=[BillLineInput(product=product, quantity=D(qty + (1 if over else 0)),
                                                         unit_cost=D(billed), tax_rate=D(input_rate))],
                                    tax_jurisdiction="DE")
        # three-way match: quantity exact (0 % tolerance), price within 2 % of the PO's 5.00
        matches = not over and billed in ("5.00", "5.05")
        assert bill.status == ("open" if matches else "on_hold"), (bill.status, bill.hold_reasons)
        if matches:
            amount, at_receipt_cost = q2(D(qty) * D(billed)), q2(D(qty) * PO_COST)
            input_tax = q2(amount * D(input_rate))  # issue 17: input tax the supplier charged
            self._post(ap=-(amount + input_tax), grni=at_receipt_cost, price_variance=amount - at_receipt_cost,
                       input_tax=input_tax)
            self.bills[bill.pk] = amount + input_tax

    @precondition(lambda self: SupplierBill.objects.filter(status="open").exists())
    @rule()
    def pay_bill(self):
        bill = SupplierBill.objects.filter(status="open").first()
        half = (self.bills[bill.pk] / 2).quantize(CENT)
        pay_supplier(supplier=self.ctx["supplier"], amount=half, allocations=[(bill.pk, half)])
        self._post(ap=half, cash=-half)
        self.bills[bill.pk] -= half

    # --- cash management: refunds and bank statement lines matched automatically ---------------

    @precondition(lambda self: self.customer_credit > 0)
    @rule(part=st.sampled_from([D("0.5"), D("1")]))
    def refund_credit(self, part):
        on_account = Payment.objects.aggregate(s=Sum("unallocated"))["s"] or D("0")
        amount = (on_account * part).quantize(CENT)
        if amount <= 0:
            return
        refund_customer(customer=self.ctx["customer"], amount=amount)
        self._post(ar=amount, cash=-amount)
        self.customer_credit -= amount

    @rule(kind=st.sampled_from(["invoice", "fee", "unknown"]), twice=st.booleans(), data=st.data())
    def bank_line(self, kind, twice, data):
        """A bank statement line: a customer paying an open invoice (matched by its number), a
        bank fee (matched by a rule to account 6100) or an unknown line (left in the queue).
        Matching again, or importing the same file again, changes nothing."""
        ref = self._ref()
        open_invoices = list(Invoice.objects.filter(balance_due__gt=0).exclude(status="void").order_by("pk"))
        if kind == "invoice" and open_invoices:
            invoice = data.draw(st.sampled_from(open_invoices))
            amount, text = self.invoices[invoice.pk]["balance"], f"{invoice.number} thanks"
        elif kind == "fee":
            invoice, amount, text = None, D("-2.50"), "ACCOUNT FEE"
        else:
            invoice, amount, text = None, D("7.77"), "who knows"
        csv = f"Booking date;Amount;Reference;Text;Transaction id\n{timezone.localdate():%d.%m.%Y};" \
              f"{str(amount).replace('.', ',')};{ref};{text};{ref}\n".encode()
        import_bank_statement(data=csv, bank_account_code="HYPO")
        auto_match_lines()
        if twice:
            import_bank_statement(data=csv, bank_account_code="HYPO")
            auto_match_lines()
        if invoice is not None:
            self._post(cash=amount, ar=-amount)
            self.invoices[invoice.pk]["balance"] -= amount
            self.invoices[invoice.pk]["settled"] += amount
        elif kind == "fee":
            self._post(**{"cash": amount, "6100": -amount})

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

    @invariant()
    def books_equal_the_oracle(self):
        drain_outbox()
        # every control account, to the cent (JournalLine sums, no selector)
        expected = {role: v for role, v in self.gl.items() if v != 0}
        assert {role: v for role, v in balances().items() if v != 0} == expected
        # the tax report (issue 17) says what the ledger says: output tax = Tax payable, input = Input tax
        report = selectors.tax_report(date_from=date(2000, 1, 1), date_to=date(2100, 12, 31))["totals"]
        assert (report["output_tax"], report["input_tax"]) == (-self.gl["tax_payable"], self.gl["input_tax"])
        # inventory: the stock ledger and the level hold the model's quantity and value
        from inventory.selectors import get_stock_level

        moves = StockMove.objects.aggregate(q=Sum("quantity"), v=Sum("value"))
        assert (moves["q"] or 0, moves["v"] or 0) == (self.stock.on_hand, self.stock.value)
        level = get_stock_level(warehouse=self.ctx["warehouse"], product=self.ctx["product"])
        if level is not None:
            assert (level.on_hand, level.value, level.average_cost) == (
                self.stock.on_hand, self.stock.value, self.stock.avg)
        assert self.gl["inventory"] == self.stock.value
        # AR: each invoice's balance as computed here; GL AR = open balances − customer credit
        actual = {i.pk: (i.total, i.balance_due, i.status == "void")
                  for i in Invoice.objects.only("pk", "total", "balance_due", "status")}
        assert actual == {pk: (i["total"], i["balance"], i["void"]) for pk, i in self.invoices.items()}
        open_balances = sum((i["balance"] for i in self.invoices.values()), D("0.00"))
        assert self.gl["ar"] == open_balances - self.customer_credit
        # AP: each posted bill's balance; GL AP (a credit) = what is still owed
        posted = {b.pk: b.balance_due for b in SupplierBill.objects.exclude(status="on_hold")}
        assert posted == self.bills
        assert -self.gl["ap"] == sum(self.bills.values(), D("0.00"))


@pytest.mark.django_db
def test_ledgers_agree_after_any_sequence(customer, warehouse, product, supplier):
    # a bank account posted through the cash account, its CSV layout, and a fee rule
    mapping = BankCsvMapping.objects.create(name="hypo", delimiter=";", date_column="Booking date",
                                            date_format="%d.%m.%Y", decimal_separator=",", bank_id_column="Transaction id",
                                            description_column="Text")
    BankAccount.objects.create(code="HYPO", name="Hypothesis bank", account=Account.objects.get(role="cash"),
                               csv_mapping=mapping)
    fees = Account.objects.create(code="6100", name="Bank charges", type="expense")
    BankMatchRule.objects.create(name="fees", text="account fee", direction="out", account=fees)
    # the customer is on 2/10NET30 (every invoice has an early-payment discount)
    from core.models import PaymentTerms
    from finance.services import terms

    terms.ensure_default_terms()
    customer.payment_terms = PaymentTerms.objects.get(code="2/10NET30")
    customer.save()
    Ledgers.ctx = {"customer": customer, "warehouse": warehouse, "product": product, "supplier": supplier}
    run_state_machine_as_test(Ledgers, settings=settings(settings.get_profile(PROFILE)))
