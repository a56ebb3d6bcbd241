"""The inbound message log and the pipeline that turns messages into orders.

Every channel (Shopify, WooCommerce, EDI 850, CSV) first stores what it received with
`receive_message`, committed on its own, so nothing received is lost even if processing
crashes. `process_message` then parses it into canonical orders and submits each through
`sales.services.submit_order` in its own savepoint: a bad order never leaves half an order
behind, good ones are kept. Reprocessing is safe because sales deduplicates on
(channel, external_ref). Failures open an exception (kind `inbound_message_failed`) for
support; a later success resolves it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core import context
from core.exceptions import DomainError, NotFound
from core.messaging.publishing import publish
from core.partitions import PartitionedTable
from integrations import events
from integrations.exceptions import MessageNotReprocessable, PayloadTooLarge
from integrations.models import EdiDocument, InboundMessage
from sales import services as sales_services

log = structlog.get_logger(__name__)
M = InboundMessage.Status
EXCEPTION_KIND = "inbound_message_failed"
CONFLICT_KIND = "inbound_message_conflict"
_HEADER_ALLOW = ("content-type", "content-length", "user-agent", "x-correlation-id", "x-shopify-", "x-wc-",
                 "idempotency-key", "x-request-id", "x-erp-")
# never kept even under an allowed prefix (e.g. "X-ERP-Token", "X-WC-Webhook-Secret")
_HEADER_DENY_WORDS = ("secret", "token", "password", "authorization", "cookie", "api-key", "apikey")


@dataclass
class OrderDraft:
    """A canonical order parsed from a message, with where it came from (for error reports)."""

    canonical: Any  # sales.services.CanonicalOrder
    ref: str
    rows: list[int] = field(default_factory=list)   # CSV row numbers of each line, in line order
    meta: dict = field(default_factory=dict)


@dataclass
class Parsed:
    drafts: list[OrderDraft] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    fatal: str = ""          # the whole message is unusable (bad syntax): no order is submitted
    ignored: str = ""        # not an order at all (a ping, another topic)
    after: Callable[[InboundMessage, dict], None] | None = None  # e.g. write a 997


Parser = Callable[[InboundMessage], Parsed]
_parsers: dict[str, Parser] = {}


def register_parser(channel: str) -> Callable[[Parser], Parser]:
    def deco(fn: Parser) -> Parser:
        _parsers[channel] = fn
        return fn
    return deco


def _parser_for(channel: str) -> Parser:
    return _parsers[channel]  # the channel modules register theirs (IntegrationsConfig.ready imports them)


def safe_headers(meta_or_headers) -> dict:
    """Keep the headers worth keeping (never Authorization or cookies)."""
    out = {}
    for key, value in dict(meta_or_headers).items():
        k = key.lower()
        if any(word in k for word in _HEADER_DENY_WORDS):
            continue
        if any(k == a or (a.endswith("-") and k.startswith(a)) for a in _HEADER_ALLOW):
            out[key] = str(value)[:500]
    return out


def check_size(size: int | None) -> None:
    limit = settings.ERP["INBOUND_MAX_BYTES"]
    if size is not None and size > limit:
        raise PayloadTooLarge(f"The message is {size} bytes; the limit is {limit} bytes.",
                              errors={"body": [f"At most {limit} bytes."]})


def receive_message(*, channel: str, body: bytes, external_id: str = "", source: str = "", headers=None,
                    content_type: str = "", correlation_id: str | None = None, received_by=None,
                    status: str = M.RECEIVED, error: str = "", reuse_is_conflict: bool = False) -> InboundMessage:
    """Store a message raw, committed before anything else happens.

    A repeat of (channel, external_id) is stored too, as `ignored` with `duplicate_of` set.
    `status=rejected` records a message refused before processing (bad signature, unknown shop):
    its hash, size and safe headers only. The body of an unauthenticated sender is not kept, so
    rejected requests cannot fill the database; the hash still tells whether a later, genuine
    delivery carried the same bytes.

    With `reuse_is_conflict` (EDI: the key is a control number the sender must never reuse), a
    repeat whose bytes differ from the original's is not a harmless duplicate: it is stored
    `rejected` with its body (the sender is authenticated), linked to the original, and opens an
    exception (kind `inbound_message_conflict`) for support. An exact resend stays `ignored`.
    """
    body = bytes(body)
    fields = dict(channel=channel, source=source[:200], external_id=str(external_id)[:200],
                  content_type=content_type[:100], headers=safe_headers(headers or {}),
                  body=b"" if status == M.REJECTED else body, size=len(body),
                  body_sha256=hashlib.sha256(body).hexdigest(), status=status, error=error,
                  correlation_id=correlation_id or context.current_or_new_correlation_id(),
                  received_by=received_by if getattr(received_by, "is_authenticated", False) else None)
    with transaction.atomic():
        # the unique (channel, external_id) of originals cannot hold across months on PostgreSQL
        # (partitioned by received_at: the key is in the index), so the original is looked up
        # first, under a lock on the key until commit
        original = _original(channel, fields["external_id"]) if status != M.REJECTED else None
        if original is None:
            try:
                with transaction.atomic():
                    return InboundMessage.objects.create(**fields)
            except IntegrityError:  # a plain table's unique constraint (SQLite)
                original = _original(channel, fields["external_id"])
                if original is None:
                    raise
        if reuse_is_conflict and _sha256_of(original) != fields["body_sha256"]:
            fields.update(status=M.REJECTED, duplicate_of=original, error=(
                f"{channel} {fields['external_id']} was already received as message {original.pk} with "
                "different content: the sender reused a control number. Not processed."))
            message = InboundMessage.objects.create(**fields)
            _raise_conflict(message, original)
            log.warning("inbound_reused_id_conflict", channel=channel, external_id=external_id,
                        original=original.pk, message_id=message.pk)
            return message
        fields.update(status=M.IGNORED, duplicate_of=original,
                      error=f"Duplicate of message {original.pk} ({channel} {fields['external_id']}).")
        message = InboundMessage.objects.create(**fields)
        log.info("inbound_duplicate_ignored", channel=channel, external_id=external_id, original=original.pk)
        return message


def _original(channel: str, external_id: str) -> InboundMessage | None:
    """The original message of (channel, external_id), if any; on PostgreSQL the key is locked
    (transaction-level advisory lock) so two receivers of the same message store one original."""
    if not external_id:
        return None
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 19))", [f"inbound:{channel}:{external_id}"])
    return (InboundMessage.objects.filter(channel=channel, external_id=external_id, duplicate_of__isnull=True)
            .exclude(status=M.REJECTED).order_by("pk").first())


def _sha256_of(message: InboundMessage) -> str:
    # rows stored before body_sha256 existed still have their body
    return message.body_sha256 or hashlib.sha256(bytes(message.body)).hexdigest()


def _raise_conflict(message: InboundMessage, original: InboundMessage) -> None:
    """Open an exception for a reused message id (in the caller's transaction: with the row)."""
    publish(events.EXCEPTION_RAISED, f"inbound-conflict-{message.pk}", events.exception_raised_payload(
        kind=CONFLICT_KIND, key=str(message.pk), severity="high", owner_role="support",
        title=f"{message.channel} {message.external_id} reused with different content",
        correlation_id=message.correlation_id,
        links=[{"type": "inbound_message", "id": message.pk}, {"type": "inbound_message", "id": original.pk}],
        detail=message.error), correlation_id=message.correlation_id)


def process_message(*, message_id: int, submitted_by=None,
                    progress: Callable[[int], object] | None = None) -> InboundMessage:
    """Parse a received (or failed) message and submit its orders; record the outcome.

    Each order is submitted in its own savepoint. The message ends `processed` when every
    order was accepted (or already existed), `failed` otherwise (with per-row / per-segment
    errors), or `ignored` when it holds no order. Returns the updated message.
    """
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(pk=message_id)
        if message.status not in (M.RECEIVED, M.FAILED):
            return message
        message.attempts += 1
        try:
            parsed = _parser_for(message.channel)(message)
        except DomainError as exc:
            parsed = Parsed(fatal=exc.detail, errors=[{"message": exc.detail, **_extra(exc)}])
        except Exception as exc:  # noqa: BLE001 - an unexpected parser crash is a failed message, not a 500
            log.exception("inbound_parser_crashed", message_id=message_id)
            parsed = Parsed(fatal=f"Could not read the message ({type(exc).__name__}).",
                            errors=[{"message": str(exc)[:500]}])

        results, errors = [], list(parsed.errors)
        if parsed.ignored:
            message.status, message.error = M.IGNORED, parsed.ignored
        elif not parsed.fatal:
            many = len(parsed.drafts) > 1
            for index, draft in enumerate(parsed.drafts, start=1):
                cid = f"{message.correlation_id[:118]}.{index}" if many else message.correlation_id
                try:
                    with transaction.atomic(), context.correlation(cid):
                        result = sales_services.submit_order(draft.canonical, submitted_by=submitted_by,
                                                             correlation_id=cid)
                    results.append({"ref": draft.ref, "order_id": result.order.pk, "number": result.order.number,
                                    "status": result.order.status, "created": result.created,
                                    "correlation_id": result.order.correlation_id, **draft.meta})
                except DomainError as exc:
                    errors.extend(_order_errors(draft, exc))
                except Exception as exc:  # noqa: BLE001 - recorded on the message and surfaced in ops
                    log.exception("inbound_submit_crashed", message_id=message_id, ref=draft.ref)
                    errors.append({"ref": draft.ref, "message": f"Unexpected error: {type(exc).__name__}: {exc}"[:500]})
                if progress is not None:
                    progress(1)
            failed = bool(errors) or not results
            message.status = M.FAILED if failed else M.PROCESSED
            if not parsed.drafts and not errors:
                errors.append({"message": "The message contains no order."})
            message.error = _summary(errors) if failed else ""
        else:
            message.status, message.error = M.FAILED, parsed.fatal
        message.errors = errors
        message.result = {"orders": results}
        message.order_id = results[0]["order_id"] if results else message.order_id
        message.processed_at = timezone.now()
        message.save()
        outcome = {"orders": results, "errors": errors, "fatal": parsed.fatal}
        if parsed.after is not None:
            try:
                with transaction.atomic():
                    parsed.after(message, outcome)
            except Exception:  # noqa: BLE001 - an acknowledgement failure must not lose the outcome
                log.exception("inbound_after_hook_failed", message_id=message.pk)

    if message.status == M.FAILED:
        with transaction.atomic():
            publish(events.EXCEPTION_RAISED, f"inbound-{message.pk}", events.exception_raised_payload(
                kind=EXCEPTION_KIND, key=str(message.pk), severity="medium", owner_role="support",
                title=f"{message.channel} message {message.external_id or message.pk} failed",
                correlation_id=message.correlation_id, links=[{"type": "inbound_message", "id": message.pk}],
                detail=message.error), correlation_id=message.correlation_id)
    elif message.attempts > 1:
        with transaction.atomic():
            publish(events.EXCEPTION_CLEARED, f"inbound-{message.pk}", events.exception_cleared_payload(
                kind=EXCEPTION_KIND, key=str(message.pk), note=f"Reprocessed: {message.status}."),
                correlation_id=message.correlation_id)
    log.info("inbound_processed", message_id=message.pk, channel=message.channel, status=message.status,
             orders=len(results), errors=len(errors))
    return message


def reprocess_message(*, message_id: int, submitted_by=None) -> InboundMessage:
    """Run a failed message again (after a fix: a SKU created, a customer configured)."""
    message = InboundMessage.objects.filter(pk=message_id).first()
    if message is None:
        raise NotFound(f"Inbound message {message_id} does not exist.")
    if message.status not in (M.FAILED, M.RECEIVED):
        raise MessageNotReprocessable(
            f"Only failed (or never processed) messages can be reprocessed; message {message_id} is "
            f"{message.status}.")
    return process_message(message_id=message_id, submitted_by=submitted_by)


def process_stuck_messages(*, older_than_seconds: int = 60, limit: int = 100) -> int:
    """Process messages left `received` (the process died between storing and processing).
    Returns how many were picked up. Beat, every minute."""
    from datetime import timedelta

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(InboundMessage.objects.filter(status=M.RECEIVED, received_at__lt=cutoff)
               .order_by("id").values_list("pk", flat=True)[:limit])
    for message_id in ids:
        process_message(message_id=message_id)
    return len(ids)


def receive_and_process(*, submitted_by=None, **receive_kwargs) -> InboundMessage:
    message = receive_message(received_by=submitted_by, **receive_kwargs)
    if message.status != M.RECEIVED:
        return message
    return process_message(message_id=message.pk, submitted_by=submitted_by)


def _extra(exc: DomainError) -> dict:
    return {k: v for k, v in (exc.extra or {}).items() if v is not None and isinstance(v, int | str)}


def _order_errors(draft: OrderDraft, exc: DomainError) -> list[dict]:
    """Map a submit_order refusal to per-row errors (CSV rows known from line positions)."""
    out = []
    for key, messages in (exc.errors or {}).items():
        row = None
        parts = str(key).split(".")
        if len(parts) >= 2 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(draft.rows):
            row = draft.rows[int(parts[1])]
        for text in messages if isinstance(messages, list) else [messages]:
            item = {"ref": draft.ref, "field": parts[-1] if len(parts) > 1 else key, "message": str(text)}
            if row is not None:
                item["row"] = row
            out.append(item)
    if not out:
        item = {"ref": draft.ref, "message": exc.detail}
        if draft.rows:
            item["rows"] = draft.rows
        out.append(item)
    return out


def _summary(errors: list[dict]) -> str:
    parts = []
    for e in errors[:5]:
        where = " ".join(str(x) for x in (e.get("ref"), f"row {e['row']}" if "row" in e else None) if x)
        parts.append(f"{where}: {e.get('message')}" if where else str(e.get("message")))
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts)[:2000] + more


def month_still_needed(start, end) -> bool:
    """Retention by month (core.partitions): a month of inbound messages is kept while one is
    still to be processed or failed (waiting in the exception queue for a reprocess)."""
    return InboundMessage.objects.filter(received_at__gte=start, received_at__lt=end,
                                         status__in=[M.RECEIVED, M.FAILED]).exists()


def before_month_dropped(start, end) -> None:
    """What on_delete=SET_NULL would do: EDI documents (997s) forget the dropped messages.
    Later duplicates keep `duplicate_of` (the original is in the archive)."""
    month = InboundMessage.objects.filter(received_at__gte=start, received_at__lt=end).values("pk")
    EdiDocument.objects.filter(inbound_message_id__in=month).update(inbound_message=None)


def partitioned_table() -> PartitionedTable:
    return PartitionedTable(model=InboundMessage, key="received_at", archive_kind="inbound", group="inbound",
                            retention_days=lambda: settings.ERP["INBOUND_RETENTION_DAYS"],
                            still_needed=month_still_needed, before_drop=before_month_dropped)
