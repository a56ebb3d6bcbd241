"""Balance snapshots of closed periods (finance.balances, AccountPeriodBalance): the reports that
sum from the beginning of time read them for closed periods and the journal lines for the rest,
and must give the same figures, to the cent, as the plain SUM over every journal line."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Q, Sum

from finance import selectors
from finance.balances import account_movements
from finance.exceptions import PeriodClosed
from finance.models import DEBIT_NORMAL, Account, AccountPeriodBalance, AccountType, FiscalPeriod, JournalLine
from finance.services import (
    Line,
    close_period,
    create_fiscal_year,
    post_journal_entry,
    post_manual_entry,
    reopen_period,
)

pytestmark = pytest.mark.django_db

D = Decimal
ZERO = D("0.00")
_seq = iter(range(1, 10_000))


def post(on: date, amount: str, debit: str = "inventory", credit: str = "grni", roll_forward: bool = False):
    return post_journal_entry(on=on, lines=[Line(debit, D(amount)), Line(credit, -D(amount))], source_type="test",
                              source_id=str(next(_seq)), rule="test", roll_forward=roll_forward)


def period(name: str) -> FiscalPeriod:
    return FiscalPeriod.objects.get(name=name)


def raw(date_from: date | None, date_to: date | None) -> dict[int, tuple[Decimal, Decimal]]:
    """The plain aggregate over every journal line (what the reports computed before)."""
    lines = JournalLine.objects.all()
    if date_from is not None:
        lines = lines.filter(date__gte=date_from)
    if date_to is not None:
        lines = lines.filter(date__lte=date_to)
    return {r["account_id"]: (r["d"], r["c"]) for r in
            lines.values("account_id").annotate(d=Sum("debit"), c=Sum("credit")).order_by()}


def snapshot(name: str) -> dict[str, tuple[Decimal, Decimal]]:
    return {b.account.code: (b.debit, b.credit)
            for b in AccountPeriodBalance.objects.filter(period__name=name).select_related("account")}


def raw_trial_balance(as_of: date | None) -> list[tuple]:
    rows = []
    for acc in Account.objects.filter(pk__in=raw(None, as_of).keys()).order_by("code"):
        d, c = raw(None, as_of)[acc.pk]
        net = d - c
        rows.append((acc.code, max(net, ZERO), max(-net, ZERO), d, c))
    return rows


def raw_balance_sheet(as_of: date) -> dict:
    year_start = date(as_of.year, 1, 1)
    assets = current = prior = ZERO
    for acc in Account.objects.all():
        agg = JournalLine.objects.filter(account=acc, date__lte=as_of).aggregate(
            d=Sum("debit", default=ZERO), c=Sum("credit", default=ZERO),
            dy=Sum("debit", filter=Q(date__gte=year_start), default=ZERO),
            cy=Sum("credit", filter=Q(date__gte=year_start), default=ZERO))
        if acc.type in (AccountType.INCOME, AccountType.EXPENSE):
            current += agg["cy"] - agg["dy"]
            prior += (agg["c"] - agg["d"]) - (agg["cy"] - agg["dy"])
        elif acc.type == AccountType.ASSET:
            assets += agg["d"] - agg["c"] if acc.type in DEBIT_NORMAL else agg["c"] - agg["d"]
    return {"total_assets": assets, "current_year_result": current, "prior_years_result": prior}


@pytest.fixture
def ledger():
    """Dec 2029 – Jun 2030 with entries on first and last days; Dec, Jan, Feb, Mar and May closed
    (April left open between them); then postings after the closes, one rolled forward."""
    create_fiscal_year(year=2029)
    create_fiscal_year(year=2030)
    post(date(2029, 12, 1), "11.11", "cash", "revenue")
    post(date(2029, 12, 31), "2.02", "cogs", "cash")
    for month in (1, 2, 3, 4, 5, 6):
        first = date(2030, month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        post(first, f"{month}00.01")
        post(first + timedelta(days=9), f"{month}.37", "cash", "revenue")
        post(last, f"0.0{month}", "cogs", "cash")
    for name in ("2029-12", "2030-01", "2030-02", "2030-03", "2030-05"):
        close_period(period_id=period(name).pk)
    post(date(2030, 4, 20), "4.44", "cash", "revenue")
    post(date(2030, 6, 15), "6.66", "inventory", "cash")
    return post(date(2030, 2, 10), "9.99", "cash", "revenue", roll_forward=True)


AS_OF = [date(2029, 12, 31), date(2030, 1, 31), date(2030, 2, 15), date(2030, 3, 31), date(2030, 4, 1),
         date(2030, 4, 30), date(2030, 5, 10), date(2030, 5, 31), date(2030, 6, 30), date(2031, 1, 1)]


def test_close_writes_the_period_sums_per_account(ledger):
    cash, revenue = (Account.objects.get(role=r).code for r in ("cash", "revenue"))
    jan = snapshot("2030-01")
    assert jan[cash] == (D("1.37"), D("0.01")) and jan[revenue] == (ZERO, D("1.37"))
    for name in ("2029-12", "2030-01", "2030-02", "2030-03", "2030-05"):
        p = period(name)
        expected = {Account.objects.get(pk=aid).code: s for aid, s in raw(p.start_date, p.end_date).items()}
        assert snapshot(name) == expected
    assert not AccountPeriodBalance.objects.filter(period__name__in=["2030-04", "2030-06"]).exists()


def test_posting_into_a_closed_period_rolls_forward_and_leaves_its_snapshot_unchanged(ledger):
    before = snapshot("2030-02")
    # an event-driven posting dated in February lands on the first day of the next open period (April)
    assert ledger.date == date(2030, 4, 1) and ledger.period.name == "2030-04"
    rolled = post(date(2030, 2, 20), "1.00", "cash", "revenue", roll_forward=True)
    assert rolled.date == date(2030, 4, 1)
    # a person's posting is refused
    with pytest.raises(PeriodClosed):
        post_manual_entry(on=date(2030, 2, 20), lines=[Line("cash", D("5")), Line("revenue", D("-5"))], memo="late")
    assert snapshot("2030-02") == before
    p = period("2030-02")
    assert raw(p.start_date, p.end_date) == {Account.objects.get(code=c).pk: s for c, s in before.items()}


@pytest.mark.parametrize("as_of", AS_OF + [None])
def test_movements_and_trial_balance_equal_the_sum_over_every_line(ledger, as_of):
    assert account_movements(None, as_of) == raw(None, as_of)
    tb = selectors.trial_balance(as_of=as_of)
    assert [(r["account"], r["debit"], r["credit"], r["total_debits"], r["total_credits"])
            for r in tb["rows"]] == raw_trial_balance(as_of)
    assert tb["balanced"]


@pytest.mark.parametrize(("date_from", "date_to"), [
    (date(2030, 1, 1), date(2030, 3, 31)), (date(2030, 1, 15), date(2030, 5, 31)), (date(2030, 2, 1), None),
    (date(2030, 4, 1), date(2030, 4, 30)), (date(2030, 3, 1), date(2030, 6, 30)), (date(2030, 5, 31), date(2030, 6, 1))])
def test_movements_over_a_range_equal_the_sum_over_its_lines(ledger, date_from, date_to):
    assert account_movements(date_from, date_to) == raw(date_from, date_to)
    cash = Account.objects.get(role="cash").pk
    assert account_movements(date_from, date_to, [cash]) == {k: v for k, v in raw(date_from, date_to).items()
                                                             if k == cash}


@pytest.mark.parametrize("as_of", AS_OF)
def test_balance_sheet_gl_role_balance_and_ledger_opening_equal_the_raw_sums(ledger, as_of):
    sheet = selectors.balance_sheet(as_of=as_of, compare=False)
    expected = raw_balance_sheet(as_of)
    assert {k: sheet["totals"][k] if "totals" in sheet else sheet[k] for k in expected} == expected
    cash = Account.objects.get(role="cash")
    d, c = raw(None, as_of).get(cash.pk, (ZERO, ZERO))
    assert selectors.gl_balance_for_role("cash", as_of) == d - c
    d, c = raw(None, as_of - timedelta(days=1)).get(cash.pk, (ZERO, ZERO))
    assert selectors.general_ledger(account_code=cash.code, date_from=as_of)["opening_balance"] == d - c


def test_reopen_drops_the_period_snapshot_and_a_new_close_includes_the_corrections(ledger):
    feb = period("2030-02")
    reopen_period(period_id=feb.pk)
    assert snapshot("2030-02") == {}
    assert snapshot("2030-03")  # the later periods' own movements stay valid
    post_manual_entry(on=date(2030, 2, 20), lines=[Line("cash", D("3.33")), Line("revenue", D("-3.33"))],
                      memo="correction agreed with the auditors")
    for as_of in AS_OF:
        assert account_movements(None, as_of) == raw(None, as_of)
    close_period(period_id=feb.pk)
    cash = Account.objects.get(role="cash")
    assert snapshot("2030-02")[cash.code] == raw(feb.start_date, feb.end_date)[cash.pk]
    for as_of in AS_OF:
        assert account_movements(None, as_of) == raw(None, as_of)
