"""Finance reports (selectors): trial balance, general ledger, AR/AP aging, customer
statement, inventory valuation vs GL. Plain dicts, ready for the API and the web UI."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from core import company as core_company
from core.currencies import company_currency, quantize
from core.money import q2
from finance.balances import account_movements
from finance.exceptions import FinanceNotFound
from finance.models import (
    DEBIT_NORMAL,
    Account,
    AccountOverride,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    JournalLine,
    Payment,
    PaymentAllocation,
    SupplierBill,
    SupplierBillLine,
)
from inventory import selectors as inventory_selectors

ZERO = Decimal("0.00")
BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")


def gl_balance_for_role(role: str, as_of: date | None = None) -> Decimal:
    """Balance of the accounts serving a control role (default account and overrides), in the
    account's normal direction (debit − credit for assets/expenses, credit − debit otherwise)."""
    ids = set(Account.objects.filter(role=role).values_list("id", flat=True))
    ids |= set(AccountOverride.objects.filter(role=role).values_list("account_id", flat=True))
    if not ids:
        return ZERO
    total = ZERO
    types = dict(Account.objects.filter(id__in=ids).values_list("id", "type"))
    for aid, (d, c) in account_movements(None, as_of, ids).items():
        total += (d - c) if types[aid] in DEBIT_NORMAL else (c - d)
    return q2(total)


def _bucket(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1_30"
    if days_overdue <= 60:
        return "31_60"
    if days_overdue <= 90:
        return "61_90"
    return "over_90"


def trial_balance(*, as_of: date | None = None) -> dict:
    """Each account's balance up to `as_of` on its debit or credit side, with totals.

    The closed periods up to `as_of` come from their balance snapshots, the rest from the
    journal lines (finance.balances.account_movements): the cost follows the lines of the
    open periods, not the length of the history."""
    sums = account_movements(None, as_of)
    rows = []
    total_d = total_c = ZERO
    for acc in Account.objects.filter(pk__in=sums.keys()).order_by("code"):
        d, c = sums[acc.pk]
        net = q2(d - c)
        debit, credit = (net, ZERO) if net >= 0 else (ZERO, -net)
        total_d += debit
        total_c += credit
        rows.append({"account": acc.code, "name": acc.name, "type": acc.type, "role": acc.role,
                     "debit": debit, "credit": credit, "total_debits": q2(d), "total_credits": q2(c)})
    return {"as_of": as_of, "rows": rows, "total_debit": q2(total_d), "total_credit": q2(total_c),
            "balanced": total_d == total_c}


def general_ledger(*, account_code: str, date_from: date | None = None, date_to: date | None = None,
                   limit: int = 5000) -> dict:
    """Lines of one account in a date range, with the opening balance and a running balance
    (debit − credit)."""
    account = Account.objects.filter(code=account_code).first()
    if account is None:
        raise FinanceNotFound(f"Account {account_code} does not exist.")
    lines = JournalLine.objects.filter(account=account)
    opening = ZERO
    if date_from is not None:
        d, c = account_movements(None, date_from - timedelta(days=1), [account.pk]).get(account.pk, (ZERO, ZERO))
        opening = q2(d - c)
        lines = lines.filter(date__gte=date_from)
    if date_to is not None:
        lines = lines.filter(date__lte=date_to)
    running = opening
    out = []
    for ln in lines.select_related("entry").order_by("date", "entry__number", "line_no")[:limit]:
        running += ln.debit - ln.credit
        out.append({"date": ln.date, "entry": ln.entry.number, "entry_id": ln.entry_id, "memo": ln.entry.memo,
                    "source_type": ln.entry.source_type, "source_id": ln.entry.source_id,
                    "debit": ln.debit, "credit": ln.credit, "balance": q2(running),
                    "customer_id": ln.customer_id, "supplier_id": ln.supplier_id, "product_id": ln.product_id,
                    "warehouse_id": ln.warehouse_id})
    return {"account": account.code, "name": account.name, "date_from": date_from, "date_to": date_to,
            "opening_balance": opening, "closing_balance": q2(running), "lines": out}


def _by_currency(row: dict, currency: str) -> dict:
    return row["by_currency"].setdefault(currency, {**{b: ZERO for b in BUCKETS}, "total": ZERO})


def ar_aging(*, as_of: date | None = None, customer_id: int | None = None) -> dict:
    """Open invoice balances per customer by days past due (current, 1–30, 31–60, 61–90, 90+),
    with the customer's unapplied credit beside them. The buckets are in the company currency
    (each document as carried in GL AR); `by_currency` repeats them in each document currency."""
    as_of = as_of or core_company.today()
    invoices = Invoice.objects.filter(balance_due__gt=0).exclude(status=Invoice.Status.VOID).select_related("customer")
    if customer_id is not None:
        invoices = invoices.filter(customer_id=customer_id)
    by_customer: dict[int, dict] = {}

    def new_row(cid, code, name):
        return {"customer_id": cid, "customer": code, "name": name, **{b: ZERO for b in BUCKETS}, "total": ZERO,
                "unapplied_credit": ZERO, "invoices": [], "by_currency": {}}

    totals_by_currency: dict[str, dict] = {}
    for inv in invoices.order_by("customer__code", "due_date"):
        row = by_customer.setdefault(inv.customer_id, new_row(inv.customer_id, inv.customer.code, inv.customer.name))
        bucket = _bucket((as_of - inv.due_date).days)
        row[bucket] += inv.balance_company
        row["total"] += inv.balance_company
        per = _by_currency(row, inv.currency)
        per[bucket] += inv.balance_due
        per["total"] += inv.balance_due
        overall = totals_by_currency.setdefault(inv.currency, {**{b: ZERO for b in BUCKETS}, "total": ZERO})
        overall[bucket] += inv.balance_due
        overall["total"] += inv.balance_due
        row["invoices"].append({"invoice": inv.number, "id": inv.pk, "due_date": inv.due_date,
                                "balance_due": inv.balance_company, "bucket": bucket, "currency": inv.currency,
                                "balance_due_currency": inv.balance_due,
                                # early-payment discount still open on as_of (payment terms)
                                **_discount_open(inv, as_of)})
    credits = Payment.objects.filter(unallocated__gt=0)
    cn_credits = CreditNote.objects.filter(unapplied__gt=0)
    if customer_id is not None:
        credits, cn_credits = credits.filter(customer_id=customer_id), cn_credits.filter(customer_id=customer_id)
    for qs, field in ((credits, "unallocated"), (cn_credits, "unapplied")):
        for r in (qs.values("customer_id", "customer__code", "customer__name", "currency")
                  .annotate(s=Sum(f"{field}_company"), sc=Sum(field)).order_by()):
            row = by_customer.setdefault(r["customer_id"], new_row(r["customer_id"], r["customer__code"],
                                                                     r["customer__name"]))
            row["unapplied_credit"] += q2(r["s"])
            per = _by_currency(row, r["currency"])
            per["unapplied_credit"] = per.get("unapplied_credit", ZERO) + r["sc"]
    rows = sorted(by_customer.values(), key=lambda r: r["customer"])
    totals = {b: q2(sum((r[b] for r in rows), ZERO)) for b in (*BUCKETS, "total", "unapplied_credit")}
    return {"as_of": as_of, "currency": company_currency(), "rows": rows, "totals": totals,
            "totals_by_currency": totals_by_currency}


def ap_aging(*, as_of: date | None = None) -> dict:
    """Open (posted) supplier bill balances per supplier by days past due, in the company
    currency (as carried in GL AP) and per bill currency (`by_currency`)."""
    as_of = as_of or core_company.today()
    bills = SupplierBill.objects.filter(balance_due__gt=0, status__in=[SupplierBill.Status.OPEN,
                                                                          SupplierBill.Status.PARTIALLY_PAID])
    by_supplier: dict[int, dict] = {}
    for bill in bills.select_related("supplier").order_by("supplier__code", "due_date"):
        row = by_supplier.setdefault(bill.supplier_id, {
            "supplier_id": bill.supplier_id, "supplier": bill.supplier.code, "name": bill.supplier.name,
            **{b: ZERO for b in BUCKETS}, "total": ZERO, "bills": [], "by_currency": {}})
        bucket = _bucket((as_of - bill.due_date).days)
        row[bucket] += bill.balance_company
        row["total"] += bill.balance_company
        per = _by_currency(row, bill.currency)
        per[bucket] += bill.balance_due
        per["total"] += bill.balance_due
        row["bills"].append({"bill": bill.number, "id": bill.pk, "due_date": bill.due_date,
                             "balance_due": bill.balance_company, "bucket": bucket, "currency": bill.currency,
                             "balance_due_currency": bill.balance_due, **_discount_open(bill, as_of)})
    rows = list(by_supplier.values())
    totals = {b: q2(sum((r[b] for r in rows), ZERO)) for b in (*BUCKETS, "total")}
    return {"as_of": as_of, "currency": company_currency(), "rows": rows, "totals": totals}


def _discount_open(doc, as_of: date) -> dict:
    """The document's discount date and amount while its early-payment discount is open on
    `as_of` (None otherwise)."""
    open_ = (doc.discount_amount > 0 and doc.discount_date is not None and doc.discount_date >= as_of
             and doc.discount_taken == 0)
    return {"discount_date": doc.discount_date if open_ else None,
            "discount_amount": doc.discount_amount if open_ else None}


def customer_statement(*, customer_id: int, date_from: date | None = None, date_to: date | None = None) -> dict:
    """Invoices, voids, payments and credit notes of a customer in a period, with the opening
    balance, a running balance and the closing balance (what the customer owes, net of credit).
    Amounts are in the company currency (each document at its own rate); every line also
    names its currency and amount in it, and `by_currency` has the opening and closing balance
    per document currency."""
    date_to = date_to or core_company.today()
    date_from = date_from or date_to.replace(day=1)
    txns: list[tuple[date, int, str, str, Decimal, str, Decimal]] = []
    terms_of: dict[str, dict] = {}
    for inv in Invoice.objects.filter(customer_id=customer_id):
        txns.append((inv.issue_date, 0, "invoice", inv.number, inv.total_company, inv.currency, inv.total))
        terms_of[inv.number] = {"due_date": inv.due_date, "discount_date": inv.discount_date,
                                "discount_amount": inv.discount_amount}
        if inv.status == Invoice.Status.VOID and inv.voided_at:
            txns.append((core_company.local_date(inv.voided_at), 1, "void", inv.number, -inv.total_company,
                         inv.currency, -inv.total))
    for p in Payment.objects.filter(customer_id=customer_id):
        txns.append((p.received_on, 2, "payment", p.number, -p.total_company, p.currency, -p.amount))
    # early-payment discounts settle part of an invoice (at the invoice's rate), dated with the payment
    for a in (PaymentAllocation.objects.filter(invoice__customer_id=customer_id, discount__gt=0)
              .select_related("invoice", "payment")):
        txns.append((a.payment.received_on, 2, "discount", a.invoice.number,
                     -quantize(a.discount * a.invoice.exchange_rate, company_currency()), a.invoice.currency,
                     -a.discount))
    for cn in CreditNote.objects.filter(customer_id=customer_id):
        txns.append((cn.issue_date, 3, "credit_note", cn.number, -cn.total_company, cn.currency, -cn.total))
    txns.sort(key=lambda t: (t[0], t[1], t[3]))
    opening = q2(sum((t[4] for t in txns if t[0] < date_from), ZERO))
    by_currency: dict[str, dict] = {}
    for t in txns:
        if t[0] <= date_to:
            row = by_currency.setdefault(t[5], {"opening_balance": ZERO, "closing_balance": ZERO})
            row["closing_balance"] += t[6]
            if t[0] < date_from:
                row["opening_balance"] += t[6]
    running = opening
    lines = []
    for on, _, kind, number, amount, currency, amount_currency in txns:
        if date_from <= on <= date_to:
            running += amount
            lines.append({"date": on, "type": kind, "document": number, "amount": amount, "balance": q2(running),
                          "currency": currency, "amount_currency": amount_currency,
                          **(terms_of[number] if kind == "invoice" else {})})
    return {"customer_id": customer_id, "date_from": date_from, "date_to": date_to, "opening_balance": opening,
            "closing_balance": q2(running), "lines": lines, "currency": company_currency(),
            "by_currency": by_currency,
            "aging": ar_aging(as_of=date_to, customer_id=customer_id)["totals"]}


def inventory_valuation(*, as_of: date | None = None) -> dict:
    """Stock value from the inventory ledger next to the GL inventory balance (I5)."""
    as_of_dt = None
    if as_of is not None:
        as_of_dt = timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min)) - timedelta(microseconds=1)
    ledger = inventory_selectors.stock_value(as_of=as_of_dt)
    gl = gl_balance_for_role("inventory", as_of=as_of)
    return {"as_of": as_of, "stock_value": q2(ledger), "gl_inventory": gl, "difference": q2(gl - ledger),
            "agrees": q2(gl - ledger) == 0}


__all__ = ["trial_balance", "general_ledger", "ar_aging", "ap_aging", "customer_statement", "inventory_valuation"]


# --- tax ------------------------------------------------------------------------------------------

def tax_report(*, date_from: date, date_to: date) -> dict:
    """Output and input tax per jurisdiction and rate for a period, in the company currency:
    output = invoices issued in the period (void ones left out: their reversal cancels them)
    minus credit notes issued in it; input = supplier bills posted with a bill date in it.
    Each document's group is converted at the document's own rate, as it was posted, so the
    totals equal the Tax payable and Input tax movements of the period's documents.
    Rows: {jurisdiction, rate, output_base, output_tax, input_base, input_tax, net_tax}."""
    groups: dict[tuple[str, Decimal], dict[str, Decimal]] = {}

    def add(rows, sign: int, side: str) -> None:
        for where, rate, fx_rate, base, tax in rows:
            key = (where or "default", Decimal(rate).normalize() if rate else Decimal("0"))
            g = groups.setdefault(key, {k: ZERO for k in ("output_base", "output_tax", "input_base", "input_tax")})
            g[f"{side}_base"] += sign * (base if fx_rate == 1 else q2(base * fx_rate))
            g[f"{side}_tax"] += sign * (tax if fx_rate == 1 else q2(tax * fx_rate))

    def grouped(model, doc: str, when: str, jurisdiction: str, **filters):
        return (model.objects.filter(**{f"{doc}__{when}__gte": date_from, f"{doc}__{when}__lte": date_to}, **filters)
                .values_list(jurisdiction, "tax_rate", f"{doc}__exchange_rate")
                .annotate(base=Sum("amount"), tax=Sum("tax")).order_by())

    add(grouped(InvoiceLine, "invoice", "issue_date", "tax_jurisdiction",
                **{"invoice__status__in": [s for s in Invoice.Status.values if s != Invoice.Status.VOID]}), 1, "output")
    add(grouped(CreditNoteLine, "credit_note", "issue_date", "tax_jurisdiction"), -1, "output")
    add(grouped(SupplierBillLine, "bill", "bill_date", "bill__tax_jurisdiction", bill__posted_at__isnull=False,
                bill__status__in=[SupplierBill.Status.OPEN, SupplierBill.Status.PARTIALLY_PAID,
                                  SupplierBill.Status.PAID]), 1, "input")
    rows = [{"jurisdiction": where, "rate": rate, **g, "net_tax": g["output_tax"] - g["input_tax"]}
            for (where, rate), g in sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][1]))]
    totals = {k: sum((r[k] for r in rows), ZERO)
              for k in ("output_base", "output_tax", "input_base", "input_tax", "net_tax")}
    return {"date_from": date_from, "date_to": date_to, "currency": company_currency(), "rows": rows,
            "totals": totals}
