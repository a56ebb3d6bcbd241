"""One active beat, failover (celery-redbeat's Redis lock).

Two beat processes run; only the one holding the lock sends. SIGKILL it: the other takes the lock
within a bounded time (the lock's timeout, 5 s here, plus a loop) and goes on from the schedule
state in Redis, so the reconciliation entry is sent once per interval, never twice, and every
send is one reconciliation run."""

from __future__ import annotations

import time

from tests.broker.worker import broker_group_marks, wait_for

pytestmark = broker_group_marks()
EVERY = 4.0          # the reconciliation entry's interval here (production: every 15 min)
LOCK_TIMEOUT = 5     # BEAT_LOCK_TIMEOUT_SECONDS here (production default: 30)
ENTRY = "reconciliations"


def _beat_runs() -> int:
    from ops.models import ReconciliationRun

    return ReconciliationRun.objects.filter(group="reconciliation", trigger="beat").count()


def test_killing_the_active_beat_hands_the_schedule_to_the_other_once(chart, start_worker, start_beat):
    env = {"ERP_TEST_BEAT_ONLY": f"{ENTRY}={EVERY}", "ERP_TEST_BEAT_LOCK_TIMEOUT": str(LOCK_TIMEOUT)}
    worker = start_worker("worker")
    first = start_beat("beat-a", env=env)
    wait_for(first.has_lock, timeout=30, what="the first beat to take the lock")
    second = start_beat("beat-b", env=env)
    wait_for(lambda: "beat: Acquiring lock" in second.log(), timeout=30, what="the second beat to wait for the lock")

    # only the first schedules while both run
    wait_for(lambda: _beat_runs() >= 2, timeout=30, what="two reconciliation runs", worker=worker)
    assert not second.has_lock() and second.sent(ENTRY) == []

    # when the active beat dies
    first.kill()
    killed_at = time.time()
    sent_by_first = first.sent(ENTRY)
    wait_for(second.has_lock, timeout=LOCK_TIMEOUT + 15, what="the second beat to take over")
    took_over_in = time.time() - killed_at
    wait_for(lambda: len(second.sent(ENTRY)) >= 2, timeout=30, what="the second beat to send twice")

    # then: it took over within the lock timeout plus a loop, and the schedule went on once
    assert took_over_in < LOCK_TIMEOUT + 3, took_over_in
    sends = sorted(sent_by_first + second.sent(ENTRY))
    gaps = [b - a for a, b in zip(sends, sends[1:], strict=False)]
    assert min(gaps) >= EVERY - 0.5, f"an entry was sent twice within one interval: {gaps}"
    # the first send of the new beat came when the entry was next due, not at once on take-over
    assert second.sent(ENTRY)[0] - sent_by_first[-1] >= EVERY - 0.5
    wait_for(lambda: _beat_runs() >= len(sends), timeout=20, what="every send to run", worker=worker)
    time.sleep(1)
    assert _beat_runs() <= len(first.sent(ENTRY) + second.sent(ENTRY))  # each send ran once, no more
