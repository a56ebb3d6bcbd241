"""finance.0002_default_chart seeds the chart of accounts, number series and tax rates, and
leaves what a database already has alone (an account holding a role under another code, a
series already counting)."""

from datetime import date
from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_default_chart_fills_the_gaps_and_keeps_existing_rows(migration_test):
    # given a finance database from before the migration, with an AR account and a series of its own
    old = migration_test.before("finance", "0002_default_chart")
    Account, NumberSeries = old.get_model("finance", "Account"), old.get_model("finance", "NumberSeries")
    clear(old)
    Account.objects.create(code="1150", name="Trade debtors", type="asset", role="ar")
    NumberSeries.objects.create(key="invoice", prefix="FAC-", next_value=501)

    # when the migration runs
    new = migration_test.apply()

    # then every role has exactly one account, the existing one untouched
    Account = new.get_model("finance", "Account")
    assert Account.objects.count() == 12
    assert sorted(Account.objects.values_list("role", flat=True)) == sorted(
        ["cash", "ar", "inventory", "ap", "grni", "tax_payable", "retained_earnings", "revenue", "cogs",
         "inventory_adjustment", "price_variance", "write_off"])
    ar = Account.objects.get(role="ar")
    assert (ar.code, ar.name) == ("1150", "Trade debtors")
    assert Account.objects.get(role="revenue").code == "4000"
    series = {s.key: (s.prefix, s.next_value) for s in new.get_model("finance", "NumberSeries").objects.all()}
    assert series["invoice"] == ("FAC-", 501)
    assert set(series) == {"journal", "invoice", "credit_note", "payment", "supplier_bill", "supplier_payment"}
    assert series["payment"][0] == "PAY-"
    rates = {(r.category, r.jurisdiction, r.valid_from): r.rate
             for r in new.get_model("finance", "TaxRate").objects.all()}
    assert rates == {("standard", "default", date(2000, 1, 1)): Decimal("0.080000"),
                     ("zero", "default", date(2000, 1, 1)): Decimal("0")}


def test_default_chart_run_twice_adds_nothing(migration_test):
    clear(migration_test.before("finance", "0002_default_chart"))
    first = migration_test.apply()
    counts = [first.get_model("finance", m).objects.count() for m in ("Account", "NumberSeries", "TaxRate")]

    migration_test.backwards()  # the reverse is a no-op: the rows stay
    again = migration_test.apply()

    assert [again.get_model("finance", m).objects.count() for m in ("Account", "NumberSeries", "TaxRate")] == counts


def clear(apps) -> None:
    """A database from before the migration has none of its rows (a fresh test database has them:
    it was migrated to the end once)."""
    for model in ("TaxRate", "NumberSeries", "Account"):
        apps.get_model("finance", model).objects.all().delete()
