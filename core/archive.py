"""Archive queue rows to the shared storage before retention deletes them.

Rows go to `archive/<kind>/<YYYY>/<MM>/<kind>-<UTC time>-<random>.jsonl.gz` in the storage
(core.storage: a bucket in production) as gzip-compressed JSON lines, one row per line, with
Django's JSON encoder (dates ISO 8601, decimals as strings, UUIDs as text; binary columns such
as an inbound message's body as base64 text). The file is
written before the rows are deleted, in the deleting transaction: a failed write keeps the
rows; a transaction that rolls back after the write leaves an archive of rows still in the
database, archived again (in another file) next time — never a row lost.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import uuid
from collections.abc import Iterable

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from core import storage

PREFIX = "archive"


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, bytes | memoryview):
            return base64.b64encode(bytes(o)).decode("ascii")
        return super().default(o)


def archive_rows(kind: str, rows: Iterable[dict]) -> str | None:
    """Write rows (dicts) as one gzip JSON-lines file of `kind`; return its storage name (None
    when there were no rows)."""
    buffer = io.BytesIO()
    count = 0
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
        for row in rows:
            gz.write(json.dumps(row, cls=_Encoder, separators=(",", ":")).encode())
            gz.write(b"\n")
            count += 1
    if not count:
        return None
    now = timezone.now()
    name = f"{PREFIX}/{kind}/{now:%Y/%m}/{kind}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.jsonl.gz"
    return storage.save_bytes(name, buffer.getvalue())


def read_archive(name: str) -> list[dict]:
    """The rows of an archive file (for restores and tests)."""
    with storage.files().open(name, "rb") as fh:
        return [json.loads(line) for line in gzip.decompress(fh.read()).splitlines() if line]
