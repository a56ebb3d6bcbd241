"""A period close racing a posting into that period (PostgreSQL, threads).

The posting share-locks the period, the close locks it for update, so one waits for the
other. Each interleaving is forced: the first transaction is held open until the second is
seen waiting on a lock (pg_stat_activity), then commits. Exactly one of three outcomes:
the posting lands before the close; a manual posting after it is refused (PeriodClosed);
an event posting after it rolls forward to the next open period. Never an entry dated in a
period that was already closed when it was written.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from finance.exceptions import PeriodClosed
from finance.models import FiscalPeriod, JournalEntry
from finance.services import close_period, create_fiscal_year, post_journal_entry, post_manual_entry
from finance.services.journal import Line

D = Decimal
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]

OCT_15 = date(2026, 10, 15)


def _waiting_on_a_lock(pid: int) -> bool:
    with connections["default"].cursor() as cur:
        cur.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cur.fetchone()
    return bool(row) and row[0] == "Lock"


def first_holds_then_second(first, second) -> tuple[object, object, bool]:
    """Run first() in a transaction kept open until second() (another thread, started once
    first() has run) waits on a lock or finishes. Returns (first's result, second's result,
    whether second was seen waiting); an exception is returned as the result."""
    ran_first, second_done = threading.Event(), threading.Event()
    pid: list[int] = []
    out: dict = {"waited": False}

    def one():
        try:
            with transaction.atomic():
                out["first"] = first()
                ran_first.set()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not second_done.is_set():
                    if pid and _waiting_on_a_lock(pid[0]):
                        out["waited"] = True
                        break
                    time.sleep(0.02)
        except Exception as exc:  # noqa: BLE001 - returned to the test
            out["first"] = exc
        finally:
            ran_first.set()
            connections.close_all()

    def two():
        try:
            ran_first.wait(10)
            with connections["default"].cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid.append(cur.fetchone()[0])
            out["second"] = second()
        except Exception as exc:  # noqa: BLE001 - returned to the test
            out["second"] = exc
        finally:
            second_done.set()
            connections.close_all()

    threads = [threading.Thread(target=one), threading.Thread(target=two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out["first"], out["second"], out["waited"]


@pytest.fixture
def october():
    from finance.defaults import ensure_default_chart

    ensure_default_chart()
    create_fiscal_year(year=2026)
    return FiscalPeriod.objects.get(name="2026-10")


def _manual():
    return post_manual_entry(on=OCT_15, memo="accrual", reference="ACC-1",
                             lines=[Line("inventory", D("25.00")), Line("grni", D("-25.00"))])


def _event_posting():
    # what a late receipt event posts (posting rules roll forward)
    return post_journal_entry(on=OCT_15, source_type="inventory.receipt", source_id="late-1", rule="receipt",
                              roll_forward=True, lines=[Line("inventory", D("25.00")), Line("grni", D("-25.00"))])


def _close(period):
    return lambda: close_period(period_id=period.pk)


def _no_entry_written_after_its_period_closed():
    late = [e.pk for e in JournalEntry.objects.select_related("period")
            if e.period.closed_at is not None and e.posted_at > e.period.closed_at]
    assert late == []


def test_posting_first_lands_in_the_period_and_the_close_waits_for_it(october):
    # when: the posting holds its share lock; the close comes while it is uncommitted
    entry, closed, waited = first_holds_then_second(_manual, _close(october))
    # then: the close waited, then closed the period with the entry in it
    assert waited
    assert not isinstance(entry, Exception) and not isinstance(closed, Exception), (entry, closed)
    october.refresh_from_db()
    assert october.status == "closed"
    posted = JournalEntry.objects.get(source_type="manual", source_id="ACC-1")
    assert (posted.date, posted.period_id) == (OCT_15, october.pk)
    assert sorted((ln.account.role, ln.debit, ln.credit) for ln in posted.lines.all()) == [
        ("grni", D("0.00"), D("25.00")), ("inventory", D("25.00"), D("0.00"))]
    assert posted.posted_at < october.closed_at
    _no_entry_written_after_its_period_closed()


def test_manual_posting_after_the_close_is_refused(october):
    # when: the close holds the period; a manual entry dated in it comes meanwhile
    closed, refused, waited = first_holds_then_second(_close(october), _manual)
    # then: it waited for the close, then saw the period closed: nothing posted
    assert waited
    assert not isinstance(closed, Exception), closed
    assert isinstance(refused, PeriodClosed), refused
    october.refresh_from_db()
    assert october.status == "closed"
    assert JournalEntry.objects.filter(period=october).count() == 0
    assert JournalEntry.objects.count() == 0
    _no_entry_written_after_its_period_closed()


def test_event_posting_after_the_close_rolls_forward_to_the_next_open_period(october):
    # when: the close holds the period; a late receipt posting dated in it comes meanwhile
    closed, entry, waited = first_holds_then_second(_close(october), _event_posting)
    # then: it waited, then posted on the first day of November, saying so
    assert waited
    assert not isinstance(closed, Exception) and not isinstance(entry, Exception), (closed, entry)
    october.refresh_from_db()
    assert october.status == "closed"
    assert JournalEntry.objects.filter(period=october).count() == 0
    posted = JournalEntry.objects.get(source_type="inventory.receipt", source_id="late-1")
    assert (posted.date, posted.period.name) == (date(2026, 11, 1), "2026-11")
    assert posted.memo == "(dated 2026-10-15, period closed: posted in 2026-11)"
    _no_entry_written_after_its_period_closed()
