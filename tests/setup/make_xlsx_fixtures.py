"""Write each fixtures/KIND.xlsx from fixtures/KIND.csv, as a spreadsheet program would save it:
numbers as numbers, dates as dates, codes and GTINs as text, empty cells empty.

    .venv/bin/python -m tests.setup.make_xlsx_fixtures

test_import_kinds.py checks that the two files of each kind hold the same rows."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation

from openpyxl import Workbook

from tests.setup.helpers import FIXTURES, KINDS


def cell(text: str, *, header: bool):
    if header or text == "":
        return text or None
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return date.fromisoformat(text)
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if text.startswith("0") or len(text) >= 12 or not number.is_finite():
        return text  # leading zeros, GTINs: text, as a careful user types them
    return int(number) if "." not in text else float(text)


def main() -> None:
    for kind in KINDS:
        book = Workbook()
        sheet = book.active
        sheet.title = kind
        with open(FIXTURES / f"{kind}.csv", encoding="utf-8", newline="") as f:
            for n, row in enumerate(csv.reader(f)):
                sheet.append([cell(v, header=n == 0) for v in row])
        book.save(FIXTURES / f"{kind}.xlsx")


if __name__ == "__main__":
    main()
