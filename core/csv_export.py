"""CSV export cells safe to open in a spreadsheet (CSV / formula injection, OWASP).

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, tab or carriage
return) as a formula, so a customer named `=HYPERLINK(...)` becomes a link that leaks data.
Every exporter writes its cells through `csv_cell` (and `csv_line_writer`), which prefixes such a
text cell with a single quote, as OWASP recommends.

The rule is by type, so numbers stay numbers: an int, Decimal or float (a quantity, an amount,
`-12.50` on a credit note) is written as the plain number; so is a string in a column the
exporter marks `numeric=True` when it is a plain ASCII number (`-12.50`, never `-1+2` or
`-1E3`). Every other text cell, including text that merely looks like a negative number, is
neutralised. Hand-written because it is a few lines and no maintained library does only this.
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def neutralise(text: str) -> str:
    """Prefix a text that a spreadsheet would read as a formula with a single quote."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_cell(value: Any, *, numeric: bool = False) -> str:
    """One cell's text: numbers as numbers, dates in ISO 8601, other text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if numeric and _PLAIN_NUMBER.fullmatch(text):
        return text
    return neutralise(text)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_line_writer():
    """A csv.writer whose writerow returns the line (for StreamingHttpResponse generators)."""
    return csv.writer(_Echo())
