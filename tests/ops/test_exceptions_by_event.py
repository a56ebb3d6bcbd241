"""Integrations raises and clears exceptions by event; ops opens and resolves them — in the
right outcome even when the two consumers run out of order."""

from __future__ import annotations

import pytest
from django.db import transaction

from core.messaging.consumers import run_consumer
from core.messaging.publishing import publish
from integrations import events
from ops.models import ExceptionItem

pytestmark = pytest.mark.django_db


def _publish(event_type, data):
    with transaction.atomic():
        return publish(event_type, f"inbound-{data['key']}", data, correlation_id="c-x")


def test_a_raise_handled_after_its_clear_does_not_reopen_the_problem():
    # given: a message failed (raise), then was reprocessed fine (clear)
    raised = _publish(events.EXCEPTION_RAISED, events.exception_raised_payload(
        kind="inbound_message_failed", key="7", title="csv message 7 failed"))
    cleared = _publish(events.EXCEPTION_CLEARED, events.exception_cleared_payload(
        kind="inbound_message_failed", key="7", note="Reprocessed: processed."))
    # when: the clear is handled first (another relay), the raise afterwards
    assert run_consumer(consumer_name="ops.resolve_exception", event_id=cleared.event_id)
    assert run_consumer(consumer_name="ops.open_exception", event_id=raised.event_id)
    # then: nothing is left open
    assert not ExceptionItem.objects.filter(kind="inbound_message_failed", key="7").exists()


def test_a_raise_after_a_clear_opens_the_exception_again():
    cleared = _publish(events.EXCEPTION_CLEARED, events.exception_cleared_payload(
        kind="inbound_message_failed", key="8", note="fixed"))
    raised = _publish(events.EXCEPTION_RAISED, events.exception_raised_payload(
        kind="inbound_message_failed", key="8", title="csv message 8 failed again"))
    assert run_consumer(consumer_name="ops.resolve_exception", event_id=cleared.event_id)
    assert run_consumer(consumer_name="ops.open_exception", event_id=raised.event_id)
    item = ExceptionItem.objects.get(kind="inbound_message_failed", key="8")
    assert item.status == "open" and item.title == "csv message 8 failed again"
