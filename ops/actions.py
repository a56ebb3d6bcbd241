"""Actions on exceptions that fix the cause through the owning app's services.

Which actions an exception offers depends on its kind and links:
- replay        dead/late webhook deliveries (integrations.services.replay_delivery / replay_deliveries)
- reprocess     a failed inbound message (integrations.services.reprocess_message)
- rerun_consumer  a consumer that failed on an event (core.messaging.relay.run_consumer_safely)
Each action writes a note on the exception saying what was done and by whom; an action
whose effect is known at once (a consumer re-run that succeeds, a message processed)
also resolves the exception.
"""

from __future__ import annotations

from django.db import transaction

from core.exceptions import DomainError
from core.messaging import relay
from core.messaging import selectors as messaging_selectors
from integrations import selectors as integrations_selectors
from integrations import services as integrations_services
from ops.exceptions import ActionNotApplicable, ExceptionAlreadyResolved, ExceptionNotFound
from ops.models import ExceptionItem, ExceptionNote
from ops.services import resolve_exception_if_open

REPLAY, REPROCESS, RERUN = "replay", "reprocess", "rerun_consumer"
# The right each action needs (core.access), the same one the owning app's own endpoint asks:
# reprocessing an inbound message from the queue is no easier than from integrations' API.
ACTION_RESOURCES = {REPLAY: "integrations.webhooks", REPROCESS: "integrations.inbound", RERUN: "ops.recovery"}

_DELIVERY_TYPES = {"integrations.webhookdelivery", "webhook_delivery"}
_ENDPOINT_TYPES = {"integrations.webhookendpoint", "webhook_endpoint"}
_INBOUND_TYPES = {"integrations.inboundmessage", "inbound_message"}
# a reused EDI control number: support talks to the partner; reprocessing cannot resolve it
_NOT_REPROCESSABLE = {"inbound_message_conflict"}


def _ids(item: ExceptionItem, types: set[str]) -> list:
    ids = [link.get("id") for link in (item.links or []) if link.get("type") in types and link.get("id") is not None]
    return list(dict.fromkeys(ids))


def available_actions(item: ExceptionItem) -> list[str]:
    """The actions that make sense for this exception (empty once resolved)."""
    if not item.is_live:
        return []
    actions = []
    if item.kind in ("reconciliation.dead_webhook_deliveries", "sla.sla_webhook_delivery") or _ids(item, _DELIVERY_TYPES):
        actions.append(REPLAY)
    if item.kind == "inbound_message_failed" or (_ids(item, _INBOUND_TYPES) and item.kind not in _NOT_REPROCESSABLE):
        actions.append(REPROCESS)
    if item.kind == "reconciliation.consumer_failures":
        actions.append(RERUN)
    return actions


def _get_live(exception_id) -> ExceptionItem:
    item = ExceptionItem.objects.filter(pk=exception_id).first() if str(exception_id).isdigit() else None
    if item is None:
        raise ExceptionNotFound(f"Exception {exception_id} does not exist.")
    if not item.is_live:
        raise ExceptionAlreadyResolved("The exception is already resolved.")
    return item


def _note(item: ExceptionItem, body: str, by) -> None:
    ExceptionNote.objects.create(exception=item, author=by if getattr(by, "is_authenticated", False) else None,
                                 body=body, is_system=True)


def perform_action(*, exception_id, action: str, by=None) -> dict:
    """Run an action on an exception. Returns {action, detail, resolved}.

    Raises ExceptionNotFound (404), ExceptionAlreadyResolved (409), ActionNotApplicable
    (422), and the owning app's DomainError when it refuses (e.g. a delivery already pending).
    """
    item = _get_live(exception_id)
    if action not in available_actions(item):
        raise ActionNotApplicable(f"Action {action!r} does not apply to this exception ({item.kind}).",
                                  errors={"action": [f"Available: {', '.join(available_actions(item)) or 'none'}."]})
    handler = {REPLAY: _replay, REPROCESS: _reprocess, RERUN: _rerun}[action]
    detail, resolved = handler(item, by)
    with transaction.atomic():
        _note(item, f"Action {action}: {detail}", by)
        if resolved:
            resolve_exception_if_open(kind=item.kind, key=item.key, note=f"Resolved by action {action}: {detail}",
                                      user=by if getattr(by, "is_authenticated", False) else None)
    item.refresh_from_db()
    return {"action": action, "detail": detail, "resolved": item.status == ExceptionItem.Status.RESOLVED}


def _replay(item: ExceptionItem, by) -> tuple[str, bool]:
    endpoint_ids = _ids(item, _ENDPOINT_TYPES)
    if endpoint_ids and item.kind == "reconciliation.dead_webhook_deliveries":
        count = sum(integrations_services.replay_deliveries(endpoint_id=int(e), status="dead") for e in endpoint_ids)
        return f"{count} dead deliveries queued again", False
    delivery_ids = _ids(item, _DELIVERY_TYPES)
    if not delivery_ids and endpoint_ids:
        delivery_ids = integrations_selectors.delivery_ids(endpoint_ids=endpoint_ids, statuses=["dead", "failed"],
                                                           limit=500)
    done, refused = 0, []
    for delivery in integrations_selectors.list_deliveries(ids=delivery_ids):
        try:
            integrations_services.replay_delivery(delivery=delivery)
            done += 1
        except DomainError as exc:
            refused.append(f"#{delivery.pk}: {exc.detail}")
    if not done and refused:
        raise ActionNotApplicable("No delivery could be replayed: " + "; ".join(refused)[:500])
    return f"{done} deliveries queued again" + (f"; refused {'; '.join(refused)}" if refused else ""), False


def _reprocess(item: ExceptionItem, by) -> tuple[str, bool]:
    ids = _ids(item, _INBOUND_TYPES) or ([int(item.key)] if item.key.isdigit() else [])
    if not ids:
        raise ActionNotApplicable("The exception names no inbound message.")
    outcomes, ok = [], True
    for message_id in ids:
        message = integrations_services.reprocess_message(message_id=int(message_id),
                                            submitted_by=by if getattr(by, "is_authenticated", False) else None)
        outcomes.append(f"message {message.pk}: {message.status}")
        ok = ok and message.status in ("processed", "ignored")
    return ", ".join(outcomes), ok


def _rerun(item: ExceptionItem, by) -> tuple[str, bool]:
    consumer_name, _, event_id = item.key.partition(":")
    if not event_id:
        raise ActionNotApplicable("The exception names no consumer and event.")
    try:
        ok = relay.run_consumer_safely(consumer_name=consumer_name, event_id=event_id)
    except KeyError:
        raise ActionNotApplicable(f"No consumer named {consumer_name!r} is registered.") from None
    handled = messaging_selectors.consumer_has_handled(consumer=consumer_name, event_id=event_id)
    if ok or handled:
        return f"consumer {consumer_name} handled event {event_id}", True
    failure = messaging_selectors.get_consumer_failure(consumer=consumer_name, event_id=event_id)
    return f"consumer {consumer_name} failed again: {failure.error if failure else 'unknown error'}"[:500], False
