"""Posting rules: what each business event does to the general ledger.

Every rule names control roles, never account codes (finance.services.journal.account_for
picks the account: customer override → product-category override → role default), and
posts through post_journal_entries, which makes it idempotent per (source_type, source_id,
rule): handling the same event twice posts once.

Each rule is two functions: `<rule>_entry(...)` builds the EntryRequest without writing
anything (None when there is nothing to post), and `post_<rule>(...)` posts it. The batch
consumers (finance.handlers) build many requests and post them with one
post_journal_entries call; both paths share the rule, so they cannot drift apart.

    rule                 Dr                                  Cr
    receipt              Inventory                           GRNI
    supplier_bill        GRNI (receipt cost), Price variance, AP                (variance may be Cr)
                         Input tax (per jurisdiction, rate)
    shipment_cogs        COGS                                Inventory          (at the cost inventory issued)
    invoice              AR (total)                          Revenue per line (charges: Freight and
                                                             charges revenue), Tax payable per
                                                             jurisdiction and rate (memo "tax DE 0.19")
    payment              Cash                                AR
    credit_note          Revenue per line, Tax payable       AR
    return_restock       Inventory                           COGS
    return_scrap         Inventory write-off                 COGS
    adjustment           Inventory (gain)                    Inventory adjustment   (reversed for a loss)
    scrap adjustment     Inventory write-off                 Inventory
    transfer             Inventory (to warehouse)            Inventory (from warehouse)   — no P&L
    supplier_payment     AP                                  Cash
    refund               AR                                  Cash (bank account)
    bank_account:N       Bank / account (money in)           account / Bank (money out): bank fees, interest
    invoice_void         the reversal of the invoice entry (reverse_journal_entry)
    early_payment_discount  Sales discounts / AP               AR / Purchase discounts (doc's rate)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from core.currencies import company_currency, quantize_company
from finance.models import AccountRole as R
from finance.models import JournalEntry
from finance.services.fx import to_company
from finance.services.journal import EntryRequest, Line, post_journal_entries
from finance.tax import tax_lines, tax_memo

ZERO = Decimal("0.00")


def _d(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def _in_company(lines: list[Line], *, currency: str, rate: Decimal) -> list[Line]:
    """Lines whose `amount` is in the document's currency, converted at the document's rate
    (each rounded to the company currency's minor unit) with the original kept beside them
    (currency, amount_currency). Whatever the rounding leaves unbalanced goes to the
    rounding account. A company-currency document comes back unchanged (no extra work)."""
    if currency == company_currency() and rate == 1:
        return lines
    out: list[Line] = []
    total = ZERO
    for ln in lines:
        original = Decimal(ln.amount)
        converted = to_company(original, rate)
        total += converted
        out.append(Line(ln.role, converted, account=ln.account, memo=ln.memo, customer_id=ln.customer_id,
                        supplier_id=ln.supplier_id, product_id=ln.product_id, warehouse_id=ln.warehouse_id,
                        product_category=ln.product_category, currency=currency, amount_currency=original))
    if total != 0:
        first = out[0]
        out.append(Line(R.ROUNDING, -total, customer_id=first.customer_id, supplier_id=first.supplier_id,
                        memo="rounding", currency=currency, amount_currency=ZERO))
    return out


def _tax_payable(lines, *, sign: int, customer_id: int | None) -> list[Line]:
    """One Tax payable line per jurisdiction and rate (memo "tax DE 0.19"): one account, the
    jurisdiction on the line, so the return per jurisdiction reads straight off the ledger."""
    return [Line(R.TAX_PAYABLE, sign * t["amount"], customer_id=customer_id, memo=tax_memo(t["jurisdiction"], t["rate"]))
            for t in tax_lines(lines) if t["amount"]]


def _post(request: EntryRequest | None) -> JournalEntry | None:
    return post_journal_entries([request])[0] if request is not None else None


# --- inventory ----------------------------------------------------------------------------------

def receipt_entry(*, receipt_id, on: date, lines: Iterable[dict], warehouse_id: int | None,
                  supplier_id: int | None, memo: str, correlation_id: str | None = None,
                  opening: bool = False) -> EntryRequest:
    """Dr Inventory / Cr GRNI at the received value, per line. Opening stock (a company's first
    day, imported): Cr opening balance equity instead — no supplier will ever bill it. The landed
    cost part of a line's value (freight, duty, insurance) is credited to Landed cost clearing
    instead of GRNI."""
    counter = R.OPENING_BALANCE if opening else R.GRNI
    out: list[Line] = []
    for ln in lines:
        value = quantize_company(_d(ln["value"]))
        landed = quantize_company(_d(ln.get("landed_cost") or "0"))
        pid = ln.get("product_id")
        out.append(Line(R.INVENTORY, value, product_id=pid, warehouse_id=warehouse_id, supplier_id=supplier_id))
        out.append(Line(counter, -(value - landed), product_id=pid, warehouse_id=warehouse_id, supplier_id=supplier_id))
        if landed:
            out.append(Line(R.LANDED_COST_CLEARING, -landed, product_id=pid, warehouse_id=warehouse_id,
                            supplier_id=supplier_id))
    return EntryRequest(on=on, lines=out, source_type="inventory.receipt", source_id=receipt_id, rule="receipt",
                        memo=memo, roll_forward=True, correlation_id=correlation_id)


def post_receipt(*, receipt_id, on: date, lines: Iterable[dict], warehouse_id: int | None, supplier_id: int | None,
                 memo: str, correlation_id: str | None = None) -> JournalEntry:
    return _post(receipt_entry(receipt_id=receipt_id, on=on, lines=lines, warehouse_id=warehouse_id,
                               supplier_id=supplier_id, memo=memo, correlation_id=correlation_id))


def adjustment_entry(*, adjustment_id, on: date, kind: str, value: Decimal, product_id: int | None,
                     warehouse_id: int | None, memo: str, correlation_id: str | None = None) -> EntryRequest | None:
    """Count gain: Dr Inventory / Cr Inventory adjustment; loss: the reverse. A scrap
    adjustment: Dr Inventory write-off / Cr Inventory. `value` is the signed stock value change."""
    value = quantize_company(_d(value))
    if value == 0:
        return None
    other = R.WRITE_OFF if kind == "scrap" else R.INVENTORY_ADJUSTMENT
    lines = [Line(R.INVENTORY, value, product_id=product_id, warehouse_id=warehouse_id),
             Line(other, -value, product_id=product_id, warehouse_id=warehouse_id)]
    return EntryRequest(on=on, lines=lines, source_type="inventory.adjustment", source_id=adjustment_id,
                        rule="adjustment", memo=memo, roll_forward=True, correlation_id=correlation_id)


def post_adjustment(*, adjustment_id, on: date, kind: str, value: Decimal, product_id: int | None,
                    warehouse_id: int | None, memo: str, correlation_id: str | None = None) -> JournalEntry | None:
    return _post(adjustment_entry(adjustment_id=adjustment_id, on=on, kind=kind, value=value, product_id=product_id,
                                  warehouse_id=warehouse_id, memo=memo, correlation_id=correlation_id))


def transfer_entry(*, transfer_id, on: date, lines: Iterable[dict], from_warehouse_id: int | None,
                   to_warehouse_id: int | None, memo: str, correlation_id: str | None = None) -> EntryRequest | None:
    """Dr Inventory (to) / Cr Inventory (from): value changes warehouse, not the P&L."""
    out: list[Line] = []
    for ln in lines:
        value = quantize_company(_d(ln["value"]))
        out.append(Line(R.INVENTORY, value, product_id=ln.get("product_id"), warehouse_id=to_warehouse_id))
        out.append(Line(R.INVENTORY, -value, product_id=ln.get("product_id"), warehouse_id=from_warehouse_id))
    if not any(ln.signed() for ln in out):
        return None
    return EntryRequest(on=on, lines=out, source_type="inventory.transfer", source_id=transfer_id, rule="transfer",
                        memo=memo, roll_forward=True, correlation_id=correlation_id)


def post_transfer(*, transfer_id, on: date, lines: Iterable[dict], from_warehouse_id: int | None,
                  to_warehouse_id: int | None, memo: str, correlation_id: str | None = None) -> JournalEntry | None:
    return _post(transfer_entry(transfer_id=transfer_id, on=on, lines=lines, from_warehouse_id=from_warehouse_id,
                                to_warehouse_id=to_warehouse_id, memo=memo, correlation_id=correlation_id))


# --- sales --------------------------------------------------------------------------------------

def shipment_cogs_entry(*, shipment_id, on: date, lines: Iterable[dict], customer_id: int,
                        warehouse_id: int | None, memo: str, correlation_id: str | None = None) -> EntryRequest | None:
    """Dr COGS / Cr Inventory at the cost value inventory issued (line["cost_value"])."""
    out: list[Line] = []
    for ln in lines:
        cost = quantize_company(_d(ln.get("cost_value")))
        out.append(Line(R.COGS, cost, customer_id=customer_id, product_id=ln.get("product_id"),
                        warehouse_id=warehouse_id))
        out.append(Line(R.INVENTORY, -cost, product_id=ln.get("product_id"), warehouse_id=warehouse_id))
    if not any(ln.signed() for ln in out):
        return None  # free goods at zero cost: nothing to post
    return EntryRequest(on=on, lines=out, source_type="sales.shipment", source_id=shipment_id, rule="shipment_cogs",
                        memo=memo, roll_forward=True, correlation_id=correlation_id)


def post_shipment_cogs(*, shipment_id, on: date, lines: Iterable[dict], customer_id: int, warehouse_id: int | None,
                       memo: str, correlation_id: str | None = None) -> JournalEntry | None:
    return _post(shipment_cogs_entry(shipment_id=shipment_id, on=on, lines=lines, customer_id=customer_id,
                                     warehouse_id=warehouse_id, memo=memo, correlation_id=correlation_id))


def invoice_entry(*, invoice, lines, roll_forward: bool, correlation_id: str | None = None) -> EntryRequest:
    """Dr AR (total) / Cr Revenue per line / Cr Tax payable (total tax)."""
    cust = invoice.customer_id
    out = [Line(R.AR, invoice.total, customer_id=cust)]
    for ln in lines:
        if ln.charge_kind:  # shipping, handling and other order charges
            out.append(Line(R.CHARGES_REVENUE, -ln.amount, customer_id=cust, memo=ln.description[:100]))
        else:
            out.append(Line(R.REVENUE, -ln.amount, customer_id=cust, product_id=ln.product_id, memo=ln.sku))
    out += _tax_payable(lines, sign=-1, customer_id=cust)
    out = _in_company(out, currency=invoice.currency, rate=invoice.exchange_rate)
    return EntryRequest(on=invoice.issue_date, lines=out, source_type="finance.invoice", source_id=invoice.pk,
                        rule="invoice", memo=f"Invoice {invoice.number}", roll_forward=roll_forward,
                        correlation_id=correlation_id)


def post_invoice(*, invoice, lines, roll_forward: bool, correlation_id: str | None = None) -> JournalEntry:
    return _post(invoice_entry(invoice=invoice, lines=lines, roll_forward=roll_forward, correlation_id=correlation_id))


def credit_note_entry(*, credit_note, lines, roll_forward: bool, correlation_id: str | None = None) -> EntryRequest:
    """Dr Revenue per line, Dr Tax payable / Cr AR (total); plus, for returned goods,
    Dr Inventory (restock) or Dr Inventory write-off (scrap) / Cr COGS at their cost."""
    cust = credit_note.customer_id
    out = [Line(R.AR, -credit_note.total, customer_id=cust)]
    for ln in lines:
        out.append(Line(R.REVENUE, ln.amount, customer_id=cust, product_id=ln.product_id, memo=ln.sku))
    out += _tax_payable(lines, sign=1, customer_id=cust)
    out = _in_company(out, currency=credit_note.currency, rate=credit_note.exchange_rate)
    goods_role = {"restock": R.INVENTORY, "scrap": R.WRITE_OFF}.get(credit_note.disposition)
    if goods_role:
        for ln in lines:
            if ln.cost_value:
                out.append(Line(goods_role, ln.cost_value, product_id=ln.product_id, customer_id=cust))
                out.append(Line(R.COGS, -ln.cost_value, product_id=ln.product_id, customer_id=cust))
    return EntryRequest(on=credit_note.issue_date, lines=out, source_type="finance.credit_note",
                        source_id=credit_note.pk, rule="credit_note", memo=f"Credit note {credit_note.number}",
                        roll_forward=roll_forward, correlation_id=correlation_id)


def post_credit_note(*, credit_note, lines, roll_forward: bool, correlation_id: str | None = None) -> JournalEntry:
    return _post(credit_note_entry(credit_note=credit_note, lines=lines, roll_forward=roll_forward,
                                   correlation_id=correlation_id))


def payment_entry(*, payment, correlation_id: str | None = None, cash_account=None) -> EntryRequest:
    """Dr Cash / Cr AR for the whole amount (allocation only moves the AR sub-ledger).
    `cash_account`: the bank account's GL account (default: the cash role's)."""
    lines = _in_company([Line(R.CASH, payment.amount, customer_id=payment.customer_id, account=cash_account),
                         Line(R.AR, -payment.amount, customer_id=payment.customer_id)],
                        currency=payment.currency, rate=payment.exchange_rate)
    return EntryRequest(on=payment.received_on, lines=lines, source_type="finance.payment", source_id=payment.pk,
                        rule="payment", memo=f"Payment {payment.number}", correlation_id=correlation_id)


def post_payment(*, payment, correlation_id: str | None = None, cash_account=None) -> JournalEntry:
    return _post(payment_entry(payment=payment, correlation_id=correlation_id, cash_account=cash_account))


# --- purchasing ---------------------------------------------------------------------------------

def supplier_bill_entry(*, bill, lines, correlation_id: str | None = None) -> EntryRequest:
    """Dr GRNI at the receipt cost, Dr (or Cr) Price variance for the difference, Dr Input tax
    per jurisdiction and rate / Cr AP (the total with tax)."""
    sup = bill.supplier_id
    foreign = bill.currency != company_currency() or bill.exchange_rate != 1
    out = [Line(R.AP, -bill.total_company if foreign else -bill.total, supplier_id=sup,
                **({"currency": bill.currency, "amount_currency": -bill.total} if foreign else {}))]
    if getattr(bill, "landed_cost", 0):  # a freight/duty bill clears what receipts put in clearing
        landed = to_company(bill.landed_cost, bill.exchange_rate) if foreign else bill.landed_cost
        out.append(Line(R.LANDED_COST_CLEARING, landed, supplier_id=sup,
                        **({"currency": bill.currency, "amount_currency": bill.landed_cost} if foreign else {})))
    for ln in lines:
        out.append(Line(R.GRNI, ln.grni_amount, supplier_id=sup, product_id=ln.product_id))
        out.append(Line(R.PRICE_VARIANCE, ln.variance, supplier_id=sup, product_id=ln.product_id))
    for t in tax_lines(lines, jurisdiction=bill.tax_jurisdiction):  # input tax the supplier charged, reclaimable: per jurisdiction and rate
        if t["amount"]:
            out.append(Line(R.INPUT_TAX, to_company(t["amount"], bill.exchange_rate) if foreign else t["amount"],
                            supplier_id=sup, memo=tax_memo(t["jurisdiction"], t["rate"]),
                            **({"currency": bill.currency, "amount_currency": t["amount"]} if foreign else {})))
    if foreign:  # the lines converted one by one may differ from the converted total by a cent
        rest = sum((ln.signed() for ln in out), ZERO)
        if rest:
            out.append(Line(R.ROUNDING, -rest, supplier_id=sup, memo="rounding", currency=bill.currency,
                            amount_currency=ZERO))
    return EntryRequest(on=bill.bill_date, lines=out, source_type="finance.supplier_bill", source_id=bill.pk,
                        rule="supplier_bill", memo=f"Supplier bill {bill.number}", correlation_id=correlation_id)


def post_supplier_bill(*, bill, lines, correlation_id: str | None = None) -> JournalEntry:
    return _post(supplier_bill_entry(bill=bill, lines=lines, correlation_id=correlation_id))


def supplier_payment_entry(*, payment, correlation_id: str | None = None, cash_account=None) -> EntryRequest:
    """Dr AP / Cr Cash (`cash_account`: the bank account's GL account, default the cash role's)."""
    lines = _in_company([Line(R.AP, payment.amount, supplier_id=payment.supplier_id),
                         Line(R.CASH, -payment.amount, supplier_id=payment.supplier_id, account=cash_account)],
                        currency=payment.currency, rate=payment.exchange_rate)
    return EntryRequest(on=payment.paid_on, lines=lines, source_type="finance.supplier_payment",
                        source_id=payment.pk, rule="supplier_payment", memo=f"Supplier payment {payment.number}",
                        correlation_id=correlation_id)


def post_supplier_payment(*, payment, correlation_id: str | None = None, cash_account=None) -> JournalEntry:
    return _post(supplier_payment_entry(payment=payment, correlation_id=correlation_id, cash_account=cash_account))


def refund_entry(*, refund, cash_account=None, correlation_id: str | None = None) -> EntryRequest:
    """Dr AR (the customer's credit is used up) / Cr Cash (the bank account's GL account)."""
    lines = [Line(R.AR, refund.amount, customer_id=refund.customer_id),
             Line(R.CASH, -refund.amount, customer_id=refund.customer_id, account=cash_account)]
    return EntryRequest(on=refund.refunded_on, lines=lines, source_type="finance.refund", source_id=refund.pk,
                        rule="refund", memo=f"Refund {refund.number}", correlation_id=correlation_id)


def post_refund(*, refund, cash_account=None, correlation_id: str | None = None) -> JournalEntry:
    return _post(refund_entry(refund=refund, cash_account=cash_account, correlation_id=correlation_id))


def bank_posting_entry(*, line, cash_account, postings, rule: str, correlation_id: str | None = None) -> EntryRequest:
    """A bank line posted to accounts (bank fees, interest): money in: Dr Bank / Cr account;
    money out: Dr account / Cr Bank. `postings`: [(account, absolute amount, memo)]."""
    sign = 1 if line.amount > 0 else -1
    total = sum((amount for _, amount, _ in postings), ZERO)
    lines = [Line(account=cash_account, amount=sign * total, memo=line.reference[:255])]
    lines += [Line(account=acc, amount=-sign * amount, memo=(memo or line.reference)[:255])
              for acc, amount, memo in postings]
    return EntryRequest(on=line.booking_date, lines=lines, source_type="finance.bank_line", source_id=line.pk,
                        rule=rule, memo=f"Bank {line.reference or line.description}"[:255],
                        correlation_id=correlation_id)


def post_bank_posting(*, line, cash_account, postings, rule: str, correlation_id: str | None = None) -> JournalEntry:
    return _post(bank_posting_entry(line=line, cash_account=cash_account, postings=postings, rule=rule,
                                    correlation_id=correlation_id))


def early_payment_discount_entry(*, doc, discount: Decimal, on: date, source_type: str, source_id,
                                 correlation_id: str | None = None) -> EntryRequest | None:
    """The early-payment discount a payment settled an invoice or a bill with, in the
    document's currency at the document's rate (what the document carries in AR/AP for it):
    invoice: Dr Sales discounts / Cr AR; bill: Dr AP / Cr Purchase discounts. Gross, no tax
    adjustment (docs/finance.md "Payment terms"). Rolls forward out of a closed period."""
    if not discount:
        return None
    customer_id, supplier_id = getattr(doc, "customer_id", None), getattr(doc, "supplier_id", None)
    if customer_id is not None:
        lines = [Line(R.SALES_DISCOUNT, discount, customer_id=customer_id),
                 Line(R.AR, -discount, customer_id=customer_id)]
    else:
        lines = [Line(R.AP, discount, supplier_id=supplier_id),
                 Line(R.PURCHASE_DISCOUNT, -discount, supplier_id=supplier_id)]
    return EntryRequest(on=on, lines=_in_company(lines, currency=doc.currency, rate=doc.exchange_rate),
                        source_type=source_type, source_id=source_id, rule="early_payment_discount",
                        memo=f"Early-payment discount {doc.number}", roll_forward=True,
                        correlation_id=correlation_id)
