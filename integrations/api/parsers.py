"""Parsers that hand the raw body through untouched: channel messages are stored byte for
byte and their signatures cover the exact bytes received."""

from __future__ import annotations

from rest_framework.parsers import BaseParser


class _RawParser(BaseParser):
    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read() if stream is not None else b""


class PlainTextParser(_RawParser):
    media_type = "text/plain"


class CSVParser(_RawParser):
    media_type = "text/csv"


class RawJSONParser(_RawParser):
    media_type = "application/json"
