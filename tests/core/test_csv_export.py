"""CSV exports neutralise formula-looking text and keep numbers numbers (issue 14)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from core.csv_export import csv_cell
from ops.web.tables import Col, Table


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1",
                                  "=HYPERLINK(\"http://evil\")", "-1E3", "-12.50"])
def test_text_that_a_spreadsheet_would_run_is_prefixed_with_a_quote(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value, expected", [
    (Decimal("-12.50"), "-12.50"), (Decimal("-0.001"), "-0.001"), (Decimal("1E+3"), "1000"), (-7, "-7"),
    (-1.5, "-1.5"), (None, ""), (date(2026, 1, 2), "2026-01-02"), ("plain", "plain"), ("a=b", "a=b"),
])
def test_numbers_stay_numbers_and_plain_text_is_untouched(value, expected):
    assert csv_cell(value) == expected


def test_a_numeric_column_keeps_plain_number_strings_but_not_formulas():
    assert csv_cell("-12.50", numeric=True) == "-12.50"
    assert csv_cell("-1+2", numeric=True) == "'-1+2"
    assert csv_cell("-1E3", numeric=True) == "'-1E3"
    assert csv_cell("-\u0661", numeric=True) == "'-\u0661"


def test_the_table_export_writes_text_neutralised_and_negative_amounts_as_numbers():
    rows = [{"name": "=cmd|' /C calc'!A0", "note": "@evil", "amount": Decimal("-42.10"), "qty": "-3",
             "tab": "\t+1"}]
    table = Table(title="T", columns=[Col("Name", "name"), Col("Note", "note"),
                                      Col("Amount", "amount", numeric=True), Col("Qty", "qty", numeric=True),
                                      Col("Tab", "tab")], rows=rows)
    body = b"".join(table.csv_response().streaming_content).decode()
    header, row = list(csv.reader(io.StringIO(body)))
    assert dict(zip(header, row, strict=True)) == {
        "Name": "'=cmd|' /C calc'!A0", "Note": "'@evil", "Amount": "-42.10", "Qty": "-3", "Tab": "'\t+1"}
