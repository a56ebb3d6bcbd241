from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from finance.exceptions import (
    AlreadyReversed,
    PeriodClosed,
    PostedEntryImmutable,
    UnbalancedEntry,
    ValidationFailed,
)
from finance.models import FiscalPeriod, JournalEntry, JournalLine
from finance.services import Line, close_period, post_journal_entry, post_manual_entry, reverse_journal_entry
from tests.finance.conftest import entry_lines

D = Decimal


def _post(source_id="1", on=date(2026, 11, 5), amount=D("100.00"), rule="test", **kw):
    return post_journal_entry(on=on, lines=[Line("inventory", amount), Line("grni", -amount)],
                              source_type="test", source_id=source_id, rule=rule, **kw)


@pytest.mark.django_db
def test_posts_balanced_entry_with_gapless_numbers_and_correlation():
    # when
    first = _post("1", correlation_id="corr-1")
    second = _post("2")
    # then
    assert second.number == first.number + 1
    assert first.correlation_id == "corr-1"
    assert entry_lines(first) == [("grni", D("0.00"), D("100.00")), ("inventory", D("100.00"), D("0.00"))]
    assert first.period.name == "2026-11"


@pytest.mark.django_db
def test_a_fresh_database_gets_an_open_calendar_year_to_post_into():
    _post(on=date(2031, 3, 15))
    assert FiscalPeriod.objects.filter(fiscal_year__name="2031").count() == 12
    assert FiscalPeriod.objects.get(name="2031-03").is_open


@pytest.mark.django_db
def test_same_source_and_rule_posts_once():
    a = _post("7")
    b = _post("7")
    assert a.pk == b.pk
    assert JournalEntry.objects.filter(source_type="test", source_id="7").count() == 1


@pytest.mark.django_db
def test_unbalanced_entry_is_refused_and_nothing_written():
    with pytest.raises(UnbalancedEntry) as err:
        post_journal_entry(on=date(2026, 11, 5), lines=[Line("inventory", D("10")), Line("grni", D("-9.99"))],
                           source_type="test", source_id="x", rule="t")
    assert "lines" in err.value.errors
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db
def test_single_line_or_negative_sides_are_refused():
    with pytest.raises(UnbalancedEntry):
        post_journal_entry(on=date(2026, 11, 5), lines=[Line("inventory", D("0")), Line("grni", D("0"))],
                           source_type="test", source_id="x", rule="t")
    with pytest.raises(ValidationFailed):
        post_journal_entry(on=date(2026, 11, 5), lines=[Line("inventory", debit=D("-5")), Line("grni", credit=D("-5"))],
                           source_type="test", source_id="y", rule="t")


@pytest.mark.django_db
def test_posting_into_closed_period_is_refused_unless_rolling_forward():
    # given
    _post("1", on=date(2026, 10, 10))
    period = FiscalPeriod.objects.get(name="2026-10")
    close_period(period_id=period.pk)
    # when / then: a person's posting is refused
    with pytest.raises(PeriodClosed):
        post_manual_entry(on=date(2026, 10, 20), lines=[Line("cash", D("5")), Line("revenue", D("-5"))], memo="late")
    # an event-driven posting rolls forward to the next open period
    rolled = _post("2", on=date(2026, 10, 20), roll_forward=True)
    assert rolled.date == date(2026, 11, 1)
    assert rolled.period.name == "2026-11"
    assert "period closed" in rolled.memo


@pytest.mark.django_db
def test_reversal_mirrors_the_entry_once():
    original = _post("1")
    reversal = reverse_journal_entry(entry_id=original.pk, on=date(2026, 11, 6))
    assert reversal.reversal_of_id == original.pk
    assert entry_lines(reversal) == [("grni", D("100.00"), D("0.00")), ("inventory", D("0.00"), D("100.00"))]
    with pytest.raises(AlreadyReversed):
        reverse_journal_entry(entry_id=original.pk)


@pytest.mark.django_db
def test_posted_entries_cannot_be_changed_or_deleted_through_the_orm():
    entry = _post("1")
    entry.memo = "changed"
    with pytest.raises(PostedEntryImmutable):
        entry.save()
    with pytest.raises(PostedEntryImmutable):
        entry.delete()
    line = entry.lines.first()
    line.debit = D("1")
    with pytest.raises(PostedEntryImmutable):
        line.save()
    with pytest.raises(PostedEntryImmutable):
        line.delete()
    assert JournalEntry.objects.get(pk=entry.pk).memo == ""
    assert JournalLine.objects.filter(entry=entry).count() == 2


pg = pytest.mark.skipif(connection.vendor != "postgresql", reason="triggers are PostgreSQL only")


@pg
@pytest.mark.django_db(transaction=True)
def test_postgres_refuses_changes_to_posted_rows_and_raw_unbalanced_inserts():
    from finance.models import Account

    # given a posted entry
    entry = _post("1")
    # when raw queryset writes bypass the model guards, the triggers refuse them
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(memo="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalLine.objects.filter(entry=entry).update(debit=D("1"))
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalLine.objects.filter(entry=entry)._raw_delete(JournalLine.objects.db)
    assert JournalLine.objects.filter(entry=entry).count() == 2
    assert JournalEntry.objects.get(pk=entry.pk).memo == ""
    # and an unbalanced entry written with raw SQL is rejected at commit by the deferred trigger
    cash, revenue = Account.objects.get(role="cash").pk, Account.objects.get(role="revenue").pk
    with pytest.raises(DatabaseError, match="unbalanced"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("INSERT INTO finance_journalentry (number, date, period_id, memo, source_type, source_id, rule,"
                        " correlation_id, request_id, posted_at) VALUES (999, '2026-11-05', %s, 'raw', 'raw', '1', 'raw',"
                        " 'c', '', now()) RETURNING id", [entry.period_id])
            eid = cur.fetchone()[0]
            cur.execute("INSERT INTO finance_journalline (entry_id, line_no, account_id, date, debit, credit, memo)"
                        " VALUES (%s, 1, %s, '2026-11-05', 10, 0, ''), (%s, 2, %s, '2026-11-05', 0, 9, '')",
                        [eid, cash, eid, revenue])
    assert not JournalEntry.objects.filter(number=999).exists()


@pg
@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_get_gapless_unique_numbers_even_with_a_rollback():
    import threading

    from finance.defaults import ensure_default_chart

    ensure_default_chart()
    _post("warm-up")  # creates the fiscal year outside the race
    barrier = threading.Barrier(6)
    errors = []

    def worker(i):
        try:
            barrier.wait()
            for j in range(5):
                if i == 0 and j == 2:
                    try:  # a posting that fails after taking its number gives the number back
                        with transaction.atomic():
                            _post(f"t{i}-{j}")
                            raise RuntimeError("rolled back")
                    except RuntimeError:
                        continue
                _post(f"t{i}-{j}")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    numbers = sorted(JournalEntry.objects.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 30))  # 1 warm-up + 29 committed, no gap
