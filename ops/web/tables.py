"""Lists: columns, filters, pagination, empty states and CSV export, the same on every page.

A list view builds a `Table` from rows (a queryset or a list from a selector) and calls
`table.response(request, ...)`: with `?format=csv` it streams every filtered row as CSV,
otherwise it renders `web/list.html` with one page of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from core import labels, replica
from core.csv_export import csv_cell, csv_line_writer
from core.templatetags import erp_format
from ops.web.render import page as render_page

PAGE_SIZE = 50


def resolve(obj: Any, path: str) -> Any:
    """Follow `a.b.c` through attributes or dict keys; None if any step is missing."""
    for part in path.split("."):
        if obj is None:
            return None
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
        if callable(obj) and not hasattr(obj, "all"):
            obj = obj()
    return obj


@dataclass
class Col:
    header: str
    value: str | Callable[[Any], Any]
    link: Callable[[Any], str | None] | None = None
    numeric: bool = False
    badge: bool = False          # render as a status badge
    money: str | Callable[[Any], str] | None = None   # the row's currency (path or callable); "" = company
    docno: bool = False          # a document number: never wraps
    precise: bool = False        # a unit price or cost: up to 6 decimals, at least the currency's

    def get(self, row: Any) -> Any:
        return self.value(row) if callable(self.value) else resolve(row, self.value)

    def currency(self, row: Any) -> str:
        if self.money is None or self.money == "":
            return ""
        return (self.money(row) if callable(self.money) else resolve(row, self.money)) or ""


@dataclass
class Table:
    title: str
    columns: list[Col]
    rows: Iterable[Any]
    empty: str = "Nothing here yet."
    filter_form: Any = None
    actions: list[dict] = field(default_factory=list)   # [{"label", "url"}] shown above the table
    intro: str = ""
    page_size: int = PAGE_SIZE
    related: list[tuple[str, str]] = field(default_factory=list)   # (label, url) links to sibling pages

    def csv_response(self) -> StreamingHttpResponse:
        writer = csv_line_writer()
        on_replica = replica.active_alias() is not None  # a report's export reads where its page does

        def lines():
            yield writer.writerow([c.header for c in self.columns])
            with replica.reading_replica() if on_replica else nullcontext():
                rows = self.rows.iterator(chunk_size=1000) if hasattr(self.rows, "iterator") else self.rows
                for row in rows:
                    yield writer.writerow([csv_cell(c.get(row), numeric=c.numeric) for c in self.columns])

        name = f"{slugify(self.title)}-{timezone.now():%Y%m%d-%H%M}.csv"
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def page(self, request: HttpRequest):
        paginator = Paginator(self.rows, self.page_size, allow_empty_first_page=True)
        page = paginator.get_page(request.GET.get("page"))
        return page, [[cell(c, row) for c in self.columns] for row in page.object_list]

    def response(self, request: HttpRequest, template: str = "web/list.html", *, section: str = "",
                 **extra) -> HttpResponse:
        if request.GET.get("format") == "csv":
            return self.csv_response()
        page, cells = self.page(request)
        query = request.GET.copy()
        query.pop("page", None)
        csv_query = query.copy()
        csv_query["format"] = "csv"
        ctx = {"table": self, "page": page, "cells": cells, "query": query.urlencode(),
               "csv_query": csv_query.urlencode(), **extra}
        return render_page(request, template, ctx, section=section)


def cell(col: Col, row: Any) -> dict:
    value = col.get(row)
    if col.money is not None and value is not None:
        shown = (erp_format.price if col.precise else erp_format.money)(value, col.currency(row))
    elif col.badge:
        shown = labels.text(value)
    else:
        shown = display(value)
    return {"value": shown, "raw": value, "link": col.link(row) if col.link else None,
            "numeric": col.numeric or col.money is not None, "badge": col.badge, "docno": col.docno}


def display(value: Any) -> str:
    """Every cell through the one formatting layer (core/templatetags/erp_format.py): dates per
    locale, quantities and other decimals with separators and no trailing zeros."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return erp_format.when(value)
    if isinstance(value, date):
        return erp_format.day(value)
    if isinstance(value, Decimal):
        return erp_format.qty(value, 6)
    return str(value)


