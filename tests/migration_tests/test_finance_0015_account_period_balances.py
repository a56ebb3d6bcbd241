"""finance.0015_account_period_balances creates the balance snapshots of the periods already
closed in the database (Σ debit, Σ credit per account of each closed period's lines); open
periods get none; the reverse migration drops the table and leaves the journal alone."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def post(apps, number: int, on: date, period, debit_account, credit_account, amount: str):
    JournalEntry, JournalLine = (apps.get_model("finance", m) for m in ("JournalEntry", "JournalLine"))
    with transaction.atomic():
        entry = JournalEntry.objects.create(number=number, date=on, period=period, source_type="test",
                                            source_id=str(number), rule="test", correlation_id="c-mig")
        JournalLine.objects.create(entry=entry, line_no=1, account=debit_account, date=on, debit=D(amount))
        JournalLine.objects.create(entry=entry, line_no=2, account=credit_account, date=on, credit=D(amount))


def ledger(apps):
    """Two closed months and an open one, with entries in each."""
    Account, FiscalYear, FiscalPeriod = (apps.get_model("finance", m) for m in ("Account", "FiscalYear", "FiscalPeriod"))
    year, _ = FiscalYear.objects.get_or_create(name="2031", defaults={"start_date": date(2031, 1, 1),
                                                                      "end_date": date(2031, 12, 31)})
    jan, feb, mar = (FiscalPeriod.objects.create(fiscal_year=year, name=f"2031-0{m}", start_date=date(2031, m, 1),
                                                 end_date=date(2031, m, 28 if m == 2 else 31),
                                                 status="closed" if m < 3 else "open") for m in (1, 2, 3))
    cash = Account.objects.create(code="M1000", name="Cash", type="asset")
    sales = Account.objects.create(code="M4000", name="Sales", type="income")
    stock = Account.objects.create(code="M1300", name="Stock", type="asset")
    post(apps, 99001, date(2031, 1, 5), jan, cash, sales, "100.10")
    post(apps, 99002, date(2031, 1, 31), jan, cash, sales, "0.05")
    post(apps, 99003, date(2031, 2, 1), feb, stock, cash, "40.00")
    post(apps, 99004, date(2031, 3, 2), mar, cash, sales, "7.00")
    return jan, feb, mar


def test_snapshots_of_the_already_closed_periods_are_written(migration_test):
    # given a database with two closed periods and an open one, each with entries
    old = migration_test.before("finance", "0015_account_period_balances")
    jan, feb, mar = ledger(old)

    # when the migration runs
    new = migration_test.apply()

    # then each closed period has its sums per account, the open one none
    Balance = new.get_model("finance", "AccountPeriodBalance")
    got = {(b.period_id, b.account.code): (b.debit, b.credit) for b in Balance.objects.select_related("account")}
    assert got == {
        (jan.pk, "M1000"): (D("100.15"), D("0.00")), (jan.pk, "M4000"): (D("0.00"), D("100.15")),
        (feb.pk, "M1300"): (D("40.00"), D("0.00")), (feb.pk, "M1000"): (D("0.00"), D("40.00")),
    }
    assert not Balance.objects.filter(period_id=mar.pk).exists()


def test_reverse_drops_the_snapshots_and_keeps_the_journal(migration_test):
    old = migration_test.before("finance", "0015_account_period_balances")
    ledger(old)
    migration_test.apply()

    old = migration_test.backwards()

    assert old.get_model("finance", "JournalLine").objects.filter(entry__number__gte=99001).count() == 8
    with pytest.raises(LookupError):
        old.get_model("finance", "AccountPeriodBalance")
