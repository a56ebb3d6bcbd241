"""JSON bodies with a bounded nesting depth.

DRF's JSONParser turns only ValueError into a 400; a body of 100 000 nested `[` makes Python's
decoder raise RecursionError, a 500 (issue 14). This parser answers that with a 400 parse
error, and refuses any body nested deeper than `JSON_MAX_DEPTH` (no API shape here is deeper
than 4), so later code that walks the data recursively never meets a pathological tree.
"""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

JSON_MAX_DEPTH = 32


def depth_exceeds(data, limit: int) -> bool:
    """True when `data` nests containers deeper than `limit` (iterative: no recursion to blow)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        elif not isinstance(value, list):
            continue
        if depth > limit:
            return True
        stack.extend((item, depth + 1) for item in value if isinstance(item, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {JSON_MAX_DEPTH} levels.") from None
        if depth_exceeds(data, JSON_MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested deeper than {JSON_MAX_DEPTH} levels.")
        return data
