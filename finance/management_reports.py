"""Management reports (selectors, read-only; a read replica may serve them): profit and loss,
balance sheet with the current-year result, cash flow (indirect), DSO / DPO / inventory
turnover, the bank reconciliation, cash position and margin rows for sales' margin report.

Every figure comes from the journal in the company currency (lines carry `date`, and the
index (account, date) INCLUDE (debit, credit) makes each report one index-only aggregate per
period), except the margin rows, which come from invoice and credit-note lines (their amount
and cost_value) — the same numbers the journal posted, which tests prove.

Each report is a dict with `rows` (a list of flat dicts, what ?format=csv writes), totals,
and the previous period of the same length for comparison.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, Sum
from django.db.models.functions import Round, TruncMonth

from core import company as core_company
from core import currencies
from core.money import q2
from finance.balances import account_movements
from finance.models import (
    DEBIT_NORMAL,
    Account,
    AccountRole,
    AccountType,
    BankAccount,
    BankLineMatch,
    BankStatement,
    BankStatementLine,
    CreditNoteLine,
    FiscalYear,
    InvoiceLine,
    JournalLine,
)

ZERO = Decimal("0.00")
COST_OF_SALES_ROLES = {AccountRole.COGS, AccountRole.PRICE_VARIANCE, AccountRole.INVENTORY_ADJUSTMENT,
                       AccountRole.WRITE_OFF}
WORKING_CAPITAL_ROLES = {AccountRole.AR, AccountRole.INVENTORY, AccountRole.AP, AccountRole.GRNI,
                         AccountRole.TAX_PAYABLE}


def _accounts() -> dict[int, Account]:
    return {a.pk: a for a in Account.objects.all()}


def _movements(date_from: date | None, date_to: date, account_ids=None) -> dict[int, tuple[Decimal, Decimal]]:
    """account id → (Σ debit, Σ credit) of lines dated in [date_from, date_to] (closed periods
    inside the range from their balance snapshots: finance.balances)."""
    return account_movements(date_from, date_to, account_ids)


def _natural(account: Account, d: Decimal, c: Decimal) -> Decimal:
    return q2(d - c) if account.type in DEBIT_NORMAL else q2(c - d)


def previous_period(date_from: date, date_to: date) -> tuple[date | None, date | None]:
    """The period of the same length just before [date_from, date_to] ((None, None) before year 1)."""
    try:
        prev_to = date_from - timedelta(days=1)
        return prev_to - (date_to - date_from), prev_to
    except OverflowError:
        return None, None


def fiscal_year_start(on: date) -> date:
    fy = FiscalYear.objects.filter(start_date__lte=on, end_date__gte=on).order_by("start_date").first()
    return fy.start_date if fy is not None else date(on.year, 1, 1)


def cash_account_ids() -> set[int]:
    """The cash role's accounts and every bank account's GL account."""
    ids = set(Account.objects.filter(role=AccountRole.CASH).values_list("pk", flat=True))
    return ids | set(BankAccount.objects.values_list("account_id", flat=True))


# --- profit and loss ------------------------------------------------------------------------------

def _pnl(date_from: date, date_to: date, accounts: dict[int, Account]) -> dict:
    sums = _movements(date_from, date_to, [a for a, acc in accounts.items()
                                           if acc.type in (AccountType.INCOME, AccountType.EXPENSE)])
    by_account = {}
    income = cost_of_sales = expenses = ZERO
    for aid, (d, c) in sums.items():
        acc = accounts[aid]
        amount = _natural(acc, d, c)
        by_account[aid] = amount
        if acc.type == AccountType.INCOME:
            income += amount
        elif acc.role in COST_OF_SALES_ROLES:
            cost_of_sales += amount
        else:
            expenses += amount
    gross = q2(income - cost_of_sales)
    return {"by_account": by_account, "revenue": q2(income), "cost_of_sales": q2(cost_of_sales),
            "gross_profit": gross, "operating_expenses": q2(expenses), "net_income": q2(gross - expenses),
            "gross_margin_percent": q2(gross * 100 / income) if income else None}


def profit_and_loss(*, date_from: date, date_to: date, compare: bool = True) -> dict:
    """Income and expenses of a period by account: revenue, cost of sales (COGS, price
    variance, stock adjustments, write-offs), gross profit, other expenses, net income; with
    the previous period of the same length."""
    accounts = _accounts()
    cur = _pnl(date_from, date_to, accounts)
    prev_from, prev_to = previous_period(date_from, date_to)
    prev = _pnl(prev_from, prev_to, accounts) if compare and prev_from else None
    ids = set(cur["by_account"]) | (set(prev["by_account"]) if prev else set())
    rows = []
    for aid in sorted(ids, key=lambda i: accounts[i].code):
        acc = accounts[aid]
        section = ("revenue" if acc.type == AccountType.INCOME else
                   "cost_of_sales" if acc.role in COST_OF_SALES_ROLES else "operating_expenses")
        rows.append({"section": section, "account": acc.code, "name": acc.name,
                     "amount": cur["by_account"].get(aid, ZERO),
                     "previous": prev["by_account"].get(aid, ZERO) if prev else None})
    keys = ("revenue", "cost_of_sales", "gross_profit", "operating_expenses", "net_income", "gross_margin_percent")
    return {"date_from": date_from, "date_to": date_to, "previous_from": prev_from, "previous_to": prev_to,
            "rows": rows, "totals": {k: cur[k] for k in keys},
            "previous_totals": {k: prev[k] for k in keys} if prev else None}


# --- balance sheet --------------------------------------------------------------------------------

def _balance_sheet(as_of: date, accounts: dict[int, Account]) -> dict:
    fy_start = fiscal_year_start(as_of)
    to_date = _movements(None, as_of)
    this_year = _movements(fy_start, as_of, [aid for aid, acc in accounts.items()
                                              if acc.type in (AccountType.INCOME, AccountType.EXPENSE)])
    balances: dict[int, Decimal] = {}
    current_result = prior_result = ZERO
    for aid, (d, c) in to_date.items():
        acc = accounts[aid]
        if acc.type in (AccountType.INCOME, AccountType.EXPENSE):
            dy, cy = this_year.get(aid, (ZERO, ZERO))
            current_result += (cy - dy)
            prior_result += (c - d) - (cy - dy)
        else:
            balances[acc.pk] = _natural(acc, d, c)
    totals = {t: q2(sum((v for aid, v in balances.items() if accounts[aid].type == t), ZERO))
              for t in (AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY)}
    equity = q2(totals[AccountType.EQUITY] + prior_result + current_result)
    return {"fiscal_year_start": fy_start, "balances": balances, "total_assets": totals[AccountType.ASSET],
            "total_liabilities": totals[AccountType.LIABILITY], "equity_accounts": totals[AccountType.EQUITY],
            "prior_years_result": q2(prior_result), "current_year_result": q2(current_result),
            "total_equity": equity, "total_liabilities_and_equity": q2(totals[AccountType.LIABILITY] + equity),
            "balanced": totals[AccountType.ASSET] == q2(totals[AccountType.LIABILITY] + equity)}


def balance_sheet(*, as_of: date, compare: bool = True) -> dict:
    """Assets, liabilities and equity at a date, with the result of the current fiscal year
    (income − expenses since the fiscal year's start) and of earlier years not yet closed
    into retained earnings, so that assets = liabilities + equity. Compared with the same
    date a year earlier."""
    accounts = _accounts()
    cur = _balance_sheet(as_of, accounts)
    prev_as_of = None
    if as_of.year > 1:
        prev_as_of = as_of.replace(year=as_of.year - 1, day=28 if (as_of.month, as_of.day) == (2, 29) else as_of.day)
    prev = _balance_sheet(prev_as_of, accounts) if compare and prev_as_of else None
    rows = []
    ids = set(cur["balances"]) | (set(prev["balances"]) if prev else set())
    for aid in sorted(ids, key=lambda i: accounts[i].code):
        acc = accounts[aid]
        rows.append({"section": acc.type, "account": acc.code, "name": acc.name,
                     "amount": cur["balances"].get(aid, ZERO),
                     "previous": prev["balances"].get(aid, ZERO) if prev else None})
    for key, label in (("prior_years_result", "Result of earlier years (not closed)"),
                       ("current_year_result", "Result of the current year")):
        rows.append({"section": AccountType.EQUITY, "account": "", "name": label, "amount": cur[key],
                     "previous": prev[key] if prev else None})
    keys = ("total_assets", "total_liabilities", "equity_accounts", "prior_years_result", "current_year_result",
            "total_equity", "total_liabilities_and_equity", "balanced")
    return {"as_of": as_of, "fiscal_year_start": cur["fiscal_year_start"], "previous_as_of": prev_as_of,
            "rows": rows, "totals": {k: cur[k] for k in keys},
            "previous_totals": {k: prev[k] for k in keys} if prev else None, "balanced": cur["balanced"]}


# --- cash flow ------------------------------------------------------------------------------------

def _cash_flow(date_from: date, date_to: date, accounts: dict[int, Account], cash_ids: set[int]) -> dict:
    sums = _movements(date_from, date_to)
    net_income = ZERO
    operating, investing, financing = [], [], []
    net_cash = ZERO
    for aid, (d, c) in sums.items():
        acc = accounts[aid]
        change = q2(d - c)  # debit-side movement
        if aid in cash_ids:
            net_cash += change
        elif acc.type in (AccountType.INCOME, AccountType.EXPENSE):
            net_income -= change
        elif acc.type == AccountType.EQUITY:
            financing.append((acc, -change))
        elif acc.type == AccountType.ASSET and acc.role not in WORKING_CAPITAL_ROLES:
            investing.append((acc, -change))  # non-current assets bought (−) or sold (+)
        else:
            operating.append((acc, -change))  # working capital: an asset up uses cash, a liability up frees it
    total = lambda items: q2(sum((v for _, v in items), ZERO))  # noqa: E731
    op = q2(net_income + total(operating))
    return {"net_income": q2(net_income), "operating_items": operating, "investing_items": investing,
            "financing_items": financing, "operating": op, "investing": total(investing),
            "financing": total(financing), "net_change_in_cash": q2(net_cash),
            "reconciles": q2(op + total(investing) + total(financing)) == q2(net_cash)}


def cash_flow(*, date_from: date, date_to: date, compare: bool = True) -> dict:
    """Cash flow by the indirect method: net income, then the change of each working-capital
    account (AR, inventory, AP, GRNI, tax), other assets (investing) and equity (financing);
    their sum equals the change of the cash and bank accounts."""
    accounts = _accounts()
    cash_ids = cash_account_ids()
    cur = _cash_flow(date_from, date_to, accounts, cash_ids)
    prev_from, prev_to = previous_period(date_from, date_to)
    prev = _cash_flow(prev_from, prev_to, accounts, cash_ids) if compare and prev_from else None
    rows = [{"section": "operating", "item": "Net income", "amount": cur["net_income"]}]
    for section in ("operating", "investing", "financing"):
        for acc, amount in sorted(cur[f"{section}_items"], key=lambda x: x[0].code):
            rows.append({"section": section, "item": f"Change in {acc.code} {acc.name}", "amount": amount})
        rows.append({"section": section, "item": f"Net cash from {section} activities", "amount": cur[section]})
    rows.append({"section": "cash", "item": "Net change in cash", "amount": cur["net_change_in_cash"]})
    keys = ("net_income", "operating", "investing", "financing", "net_change_in_cash", "reconciles")
    return {"date_from": date_from, "date_to": date_to, "previous_from": prev_from, "previous_to": prev_to,
            "rows": rows, "totals": {k: cur[k] for k in keys},
            "previous_totals": {k: prev[k] for k in keys} if prev else None}


# --- working-capital KPIs -------------------------------------------------------------------------

def _role_balance(role_ids: set[int], sums: dict[int, tuple[Decimal, Decimal]], accounts) -> Decimal:
    return q2(sum((_natural(accounts[a], *sums[a]) for a in role_ids if a in sums), ZERO))


def _kpis(date_from: date, date_to: date, accounts: dict[int, Account]) -> dict:
    days = (date_to - date_from).days + 1
    by_role: dict[str, set[int]] = {}
    for acc in accounts.values():
        if acc.role:
            by_role.setdefault(acc.role, set()).add(acc.pk)
    wanted = set().union(*(by_role.get(r, set()) for r in ("ar", "ap", "inventory", "revenue", "cogs")))
    end = _movements(None, date_to, wanted)
    start = _movements(None, date_from - timedelta(days=1), wanted) if date_from > date.min else {}
    period = _movements(date_from, date_to, wanted)
    revenue = _role_balance(by_role.get("revenue", set()), period, accounts)
    cogs = _role_balance(by_role.get("cogs", set()), period, accounts)
    ar = _role_balance(by_role.get("ar", set()), end, accounts)
    ap = _role_balance(by_role.get("ap", set()), end, accounts)
    inv_end = _role_balance(by_role.get("inventory", set()), end, accounts)
    inv_start = _role_balance(by_role.get("inventory", set()), start, accounts)
    avg_inv = q2((inv_start + inv_end) / 2)
    turnover = (cogs / avg_inv).quantize(Decimal("0.01")) if avg_inv else None
    return {"days": days, "revenue": revenue, "cogs": cogs, "ar_balance": ar, "ap_balance": ap,
            "inventory_start": inv_start, "inventory_end": inv_end, "average_inventory": avg_inv,
            "dso": q2(ar * days / revenue) if revenue else None,
            "dpo": q2(ap * days / cogs) if cogs else None,
            "inventory_turnover": turnover,
            "days_inventory": q2(Decimal(days) / turnover) if turnover else None}


def working_capital_kpis(*, date_from: date, date_to: date, compare: bool = True) -> dict:
    """DSO (AR at the end ÷ revenue × days), DPO (AP ÷ COGS × days), inventory turnover (COGS ÷
    average inventory) and days of inventory, from the journal; with the previous period."""
    accounts = _accounts()
    cur = _kpis(date_from, date_to, accounts)
    prev_from, prev_to = previous_period(date_from, date_to)
    prev = _kpis(prev_from, prev_to, accounts) if compare and prev_from else None
    rows = [{"kpi": k, "value": cur[k], "previous": prev[k] if prev else None}
            for k in ("dso", "dpo", "inventory_turnover", "days_inventory", "revenue", "cogs", "ar_balance",
                      "ap_balance", "average_inventory")]
    return {"date_from": date_from, "date_to": date_to, "previous_from": prev_from, "previous_to": prev_to,
            "rows": rows, "totals": cur, "previous_totals": prev}


# --- margin rows (sales' margin report asks through sales.ports.MarginSource) ----------------------

def _company_amount(document: str):
    """A line's amount in the company currency as the journal posted it: at its document's rate,
    rounded per line to the company currency's minor unit (finance.services.fx.to_company; the
    journal's rounding line is not revenue and is left out, as the P&L leaves it out of revenue)."""
    places = currencies.decimals(currencies.company_currency())
    return Round(F("amount") * F(f"{document}__exchange_rate"), places,
                 output_field=DecimalField(max_digits=24, decimal_places=places))


MARGIN_GROUPS = {"customer": ("invoice__customer_id", "credit_note__customer_id"),
                 "product": ("product_id", "product_id"),
                 "month": ("month", "month")}


def invoiced_margin_rows(*, group_by: str, date_from: date | None = None, date_to: date | None = None,
                         warehouse_id: int | None = None, product_ids=None) -> list[dict]:
    """Invoiced revenue and its cost (InvoiceLine.amount / cost_value) net of credit notes, by
    customer_id, product_id or month (the first day of the document's month), for documents
    dated in the range; void invoices excluded. Revenue is in the company currency (each line at
    its document's rate, as posted), cost is too (the COGS the shipment posted).

    `warehouse_id`: invoices of shipments from that warehouse, and credit notes against those
    invoices (a credit note without an invoice has no warehouse and is left out). `product_ids`:
    only those products' lines (sales passes a product category's products)."""
    inv_key, cn_key = MARGIN_GROUPS[group_by]
    key = {"customer": "customer_id", "product": "product_id", "month": "month"}[group_by]
    inv = InvoiceLine.objects.exclude(invoice__status="void")
    cn = CreditNoteLine.objects.all()
    if date_from is not None:
        inv, cn = inv.filter(invoice__issue_date__gte=date_from), cn.filter(credit_note__issue_date__gte=date_from)
    if date_to is not None:
        inv, cn = inv.filter(invoice__issue_date__lte=date_to), cn.filter(credit_note__issue_date__lte=date_to)
    if warehouse_id is not None:
        inv = inv.filter(invoice__shipment__warehouse_id=warehouse_id)
        cn = cn.filter(credit_note__invoice__shipment__warehouse_id=warehouse_id)
    if product_ids is not None:
        inv, cn = inv.filter(product_id__in=list(product_ids)), cn.filter(product_id__in=list(product_ids))
    if group_by == "month":
        inv = inv.annotate(month=TruncMonth("invoice__issue_date"))
        cn = cn.annotate(month=TruncMonth("credit_note__issue_date"))
    out: dict[object, dict] = {}
    for r in inv.values(inv_key).annotate(rev=Sum(_company_amount("invoice")), cost=Sum("cost_value"),
                                          qty=Sum("quantity")).order_by():
        row = out.setdefault(r[inv_key], {key: r[inv_key], "revenue": ZERO, "cost": ZERO, "quantity": ZERO})
        row["revenue"] += r["rev"] or ZERO
        row["cost"] += r["cost"] or ZERO
        row["quantity"] += r["qty"] or ZERO
    # a credit note gives back revenue; its goods' cost comes back only when goods returned
    for r in cn.values(cn_key, "credit_note__disposition").annotate(
            rev=Sum(_company_amount("credit_note")), cost=Sum("cost_value"), qty=Sum("quantity")).order_by():
        row = out.setdefault(r[cn_key], {key: r[cn_key], "revenue": ZERO, "cost": ZERO, "quantity": ZERO})
        row["revenue"] -= r["rev"] or ZERO
        row["quantity"] -= r["qty"] or ZERO
        if r["credit_note__disposition"] in ("restock", "scrap"):
            row["cost"] -= r["cost"] or ZERO
    for row in out.values():
        row["revenue"], row["cost"] = q2(row["revenue"]), q2(row["cost"])
        row["margin"] = q2(row["revenue"] - row["cost"])
    return list(out.values())


# --- bank -----------------------------------------------------------------------------------------

def bank_reconciliation(*, bank_account_id: int, as_of: date | None = None) -> dict:
    """The statement balance next to the GL balance of the bank account's cash account, and
    the items between them: bank lines not (fully) matched yet, and GL postings no bank line
    has cleared (dated on or after the first statement's opening balance, which covers what
    came before). `balanced` when GL + unmatched bank − uncleared GL = statement balance."""
    as_of = as_of or core_company.today()
    bank = BankAccount.objects.select_related("account").get(pk=bank_account_id)
    first = BankStatement.objects.filter(bank_account=bank).order_by("date_from", "pk").first()
    opening = first.opening_balance if first is not None and first.opening_balance is not None else ZERO
    opening_date = (first.date_from if first is not None and first.date_from else None)
    lines = BankStatementLine.objects.filter(bank_account=bank, booking_date__lte=as_of)
    statement_balance = q2(opening + (lines.aggregate(s=Sum("amount"))["s"] or ZERO))
    last = BankStatement.objects.filter(bank_account=bank, date_to__lte=as_of).exclude(
        closing_balance=None).order_by("-date_to", "-pk").first()
    d, c = _movements(None, as_of, [bank.account_id]).get(bank.account_id, (ZERO, ZERO))
    gl_balance = q2(d - c)
    unmatched = []
    for ln in lines.exclude(status=BankStatementLine.Status.MATCHED).order_by("booking_date", "pk"):
        open_signed = ln.open_amount if ln.amount > 0 else -ln.open_amount
        unmatched.append({"kind": "bank_line_unmatched", "id": ln.pk, "date": ln.booking_date,
                          "reference": ln.reference, "description": ln.description, "amount": q2(open_signed)})
    cleared = BankLineMatch.objects.filter(line__bank_account=bank, line__booking_date__lte=as_of,
                                           journal_entry__isnull=False).values("journal_entry_id")
    gl = JournalLine.objects.filter(account=bank.account, date__lte=as_of).exclude(entry_id__in=cleared)
    if opening_date is not None:
        gl = gl.filter(date__gte=opening_date)
    # tuples, not model instances: a busy bank account has tens of thousands of uncleared lines
    uncleared = [{"kind": "gl_uncleared", "id": entry_id, "date": day, "reference": source_type, "description": memo,
                  "amount": q2(debit - credit)}
                 for entry_id, day, source_type, memo, debit, credit in gl.order_by("date", "entry_id").values_list(
                     "entry_id", "date", "entry__source_type", "entry__memo", "debit", "credit")]
    unmatched_total = q2(sum((r["amount"] for r in unmatched), ZERO))
    uncleared_total = q2(sum((r["amount"] for r in uncleared), ZERO))
    adjusted = q2(gl_balance + unmatched_total - uncleared_total)
    return {"bank_account": bank.code, "gl_account": bank.account.code, "currency": bank.currency, "as_of": as_of,
            "opening_balance": opening, "statement_balance": statement_balance,
            "last_closing_balance": last.closing_balance if last else None, "gl_balance": gl_balance,
            "unmatched_bank_total": unmatched_total, "uncleared_gl_total": uncleared_total,
            "adjusted_gl_balance": adjusted, "difference": q2(statement_balance - adjusted),
            "balanced": statement_balance == adjusted, "rows": unmatched + uncleared}


def cash_position(*, as_of: date | None = None) -> dict:
    """Each bank account's GL balance and its unmatched statement lines (the dashboard)."""
    as_of = as_of or core_company.today()
    banks = list(BankAccount.objects.select_related("account").filter(is_active=True).order_by("code"))
    sums = _movements(None, as_of, {b.account_id for b in banks} | cash_account_ids())
    rows = []
    for b in banks:
        d, c = sums.get(b.account_id, (ZERO, ZERO))
        open_lines = BankStatementLine.objects.filter(bank_account=b).exclude(status=BankStatementLine.Status.MATCHED)
        rows.append({"bank_account": b.code, "name": b.name, "currency": b.currency, "gl_account": b.account.code,
                     "balance": q2(d - c), "unmatched_lines": open_lines.count()})
    total = q2(sum(((d - c) for aid, (d, c) in sums.items()), ZERO))
    return {"as_of": as_of, "rows": rows, "total_cash": total,
            "unmatched_lines": BankStatementLine.objects.exclude(status=BankStatementLine.Status.MATCHED).count()}


__all__ = ["profit_and_loss", "balance_sheet", "cash_flow", "working_capital_kpis", "invoiced_margin_rows",
           "bank_reconciliation", "cash_position", "previous_period", "fiscal_year_start"]
