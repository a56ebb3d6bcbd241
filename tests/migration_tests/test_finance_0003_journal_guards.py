"""finance.0003_journal_guards adds PostgreSQL triggers over the journal: entries posted before
it keep their rows and become immutable; an unbalanced entry is refused at commit; the reverse
migration removes the guards."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL only")]


def post_entry(apps, number: int, debit: str, credit: str):
    """An entry of two lines written with the historical models (as the code of the time did)."""
    Account, JournalEntry, JournalLine = (apps.get_model("finance", m) for m in ("Account", "JournalEntry", "JournalLine"))
    year, _ = apps.get_model("finance", "FiscalYear").objects.get_or_create(
        name="2026", defaults={"start_date": date(2026, 1, 1), "end_date": date(2026, 12, 31)})
    period, _ = apps.get_model("finance", "FiscalPeriod").objects.get_or_create(
        fiscal_year=year, name="2026-12", defaults={"start_date": date(2026, 12, 1), "end_date": date(2026, 12, 31)})
    cash, _ = Account.objects.get_or_create(code="T1000", defaults={"name": "Cash", "type": "asset"})
    sales, _ = Account.objects.get_or_create(code="T4000", defaults={"name": "Sales", "type": "income"})
    with transaction.atomic():
        entry = JournalEntry.objects.create(number=number, date=date(2026, 12, 7), period=period,
                                            source_type="test", source_id=str(number), rule="test",
                                            correlation_id="c-mig")
        JournalLine.objects.create(entry=entry, line_no=1, account=cash, date=entry.date, debit=Decimal(debit))
        JournalLine.objects.create(entry=entry, line_no=2, account=sales, date=entry.date, credit=Decimal(credit))
    return entry


def change_a_line(entry_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE finance_journalline SET memo = 'edited' WHERE entry_id = %s", [entry_id])


def test_journal_guards_keep_old_entries_and_make_them_immutable(migration_test):
    # given an entry posted before the guards existed
    old = migration_test.before("finance", "0003_journal_guards")
    entry = post_entry(old, 9001, "12.50", "12.50")

    # when the migration runs
    new = migration_test.apply()

    # then the entry is still there, whole, and can no longer be changed
    lines = new.get_model("finance", "JournalLine").objects.filter(entry_id=entry.pk).order_by("line_no")
    assert [(ln.debit, ln.credit) for ln in lines] == [(Decimal("12.50"), 0), (0, Decimal("12.50"))]
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        change_a_line(entry.pk)
    # and an unbalanced entry is refused when its transaction commits
    with pytest.raises(DatabaseError, match="unbalanced"):
        post_entry(new, 9002, "10.00", "9.99")
    assert not new.get_model("finance", "JournalEntry").objects.filter(number=9002).exists()


def test_journal_guards_reverse_removes_them(migration_test):
    migration_test.before("finance", "0003_journal_guards")
    migration_test.apply()

    old = migration_test.backwards()

    entry = post_entry(old, 9003, "10.00", "9.99")  # nothing checks the balance any more
    change_a_line(entry.pk)
    assert old.get_model("finance", "JournalLine").objects.filter(entry_id=entry.pk, memo="edited").count() == 2
