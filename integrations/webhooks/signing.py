"""Standard Webhooks signing (CONTRACT "Events"): secrets, the HMAC signature, the header.

    webhook-id: <event id>   webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64(HMAC-SHA256(base64decode(secret after "whsec_"), "{id}.{ts}.{body}"))>
During a secret rotation both signatures are sent, space-separated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as pysecrets

SECRET_PREFIX = "whsec_"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(pysecrets.token_bytes(24)).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(*, secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets)
