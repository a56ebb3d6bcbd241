"""Idempotency-Key for every POST under /api/ (CONTRACT "Conventions").

Written here rather than taken from a library: the maintained options are cache-only or
do not implement the in-flight 409 / different-body 422 semantics CONTRACT requires, and
the piece is small. The record is claimed in its own committed transaction *before* the
view runs, so a concurrent duplicate sees it at once:

    same key + same body, finished   → the stored response, `Idempotent-Replayed: true`
    same key + different body        → 422 problem
    same key, first still running    → 409 problem
    same key, claim older than IDEMPOTENCY_IN_FLIGHT_TIMEOUT (the first request was killed
      mid-way and never finished) → the claim is taken over and the retry runs
    first request ended in 5xx/401/429 → the claim is dropped so the caller may retry

Keys are scoped to the caller (session user, or a hash of the Authorization header, since
DRF token auth runs later than middleware) and expire after IDEMPOTENCY_KEY_TTL.

A response that carries a secret (a new webhook secret, an API key) is marked by its view with
`carries_secret(response)`: its body is stored Fernet-encrypted (core.encryption), so the
table never holds the secret, and a replay to the same caller decrypts it and answers the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import encryption
from core.api.problems import problem_json_response
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_NOT_STORED = {401, 403, 429}
_CARRIES_SECRET = "_erp_carries_secret"


def carries_secret(response: HttpResponse) -> HttpResponse:
    """Mark a response whose body holds a secret: never cached, stored encrypted for replays."""
    setattr(response, _CARRIES_SECRET, True)
    response["Cache-Control"] = "no-store"
    return response


def _principal(request: HttpRequest) -> str:
    auth = request.headers.get("Authorization")
    if auth:
        return "auth:" + hashlib.sha256(auth.encode()).hexdigest()[:40]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return "anonymous"


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.get_full_path().encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    body = encryption.decrypt(record.response_body) if record.response_encrypted else record.response_body
    response = HttpResponse(body, status=record.response_status,
                            content_type=record.response_content_type or "application/json")
    if record.response_location:
        response["Location"] = record.response_location
    if record.response_encrypted:
        response["Cache-Control"] = "no-store"
    response[REPLAYED_HEADER] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not key or len(key) > 255:
            return problem_json_response(400, _("Invalid input"), "Idempotency-Key must be 1 to 255 characters.",
                                         code="invalid", errors={HEADER: ["1 to 255 characters."]})

        principal, fingerprint = _principal(request), _fingerprint(request)
        record, outcome = self._claim(request, principal, key, fingerprint)
        if outcome is not None:
            return outcome

        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500 or response.status_code in _NOT_STORED or getattr(response, "streaming", False):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        body = response.content.decode("utf-8", errors="replace")
        secret = getattr(response, _CARRIES_SECRET, False)
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyRecord.State.COMPLETED,
            response_status=response.status_code,
            response_content_type=response.get("Content-Type", ""),
            response_body=encryption.encrypt(body) if secret else body,
            response_encrypted=secret,
            response_location=response.get("Location", ""),
            completed_at=timezone.now(),
        )
        return response

    def _claim(self, request, principal, key, fingerprint):
        ttl_start = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
        for _attempt in range(2):
            try:
                record = IdempotencyRecord(
                    principal=principal, key=key, fingerprint=fingerprint, method=request.method,
                    path=request.path[:500], correlation_id=getattr(request, "correlation_id", "") or "")
                if connection.in_atomic_block:
                    # inside a caller's transaction (tests) a collision must not abort it
                    with transaction.atomic():
                        record.save(force_insert=True)
                else:
                    # autocommit: the INSERT is its own committed transaction (no BEGIN/COMMIT
                    # round trips), visible to a concurrent duplicate at once
                    record.save(force_insert=True)
                return record, None
            except IntegrityError:
                existing = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
                if existing is None:
                    continue  # purged between our insert and read: try once more
                if existing.created_at < ttl_start:
                    IdempotencyRecord.objects.filter(pk=existing.pk).delete()
                    continue
                if existing.fingerprint != fingerprint:
                    return None, problem_json_response(
                        422, _("Idempotency key reused"),
                        "This Idempotency-Key was already used with a different request body or path.",
                        code="idempotency_key_mismatch")
                if existing.state == IdempotencyRecord.State.IN_FLIGHT:
                    if existing.created_at < timezone.now() - settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT:
                        # The first request was killed mid-way (worker timeout, crash, deploy)
                        # and never released its claim: take it over. Conditional on the row we
                        # read, so of two retries racing here only one runs (the other gets 409).
                        IdempotencyRecord.objects.filter(
                            pk=existing.pk, state=IdempotencyRecord.State.IN_FLIGHT,
                            created_at=existing.created_at).delete()
                        continue
                    return None, problem_json_response(
                        409, _("Request in progress"),
                        "A request with this Idempotency-Key is still being processed; retry later.",
                        code="idempotency_in_flight")
                return None, _replay(existing)
        return None, problem_json_response(409, _("Request in progress"), "Could not claim the Idempotency-Key.",
                                           code="idempotency_in_flight")


def purge_expired_keys() -> int:
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
