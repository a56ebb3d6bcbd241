"""Chart specs for static/js/app.js. Every chart carries the table of its numbers too, shown
under it (a <details> element), so nothing is only in pixels."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_skeleton
from django.utils.translation import get_language, to_locale

from core import labels
from core.templatetags import erp_format


def _num(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)  # display only: Chart.js needs numbers; the table shows the exact Decimal
    return v


def day_labels(days: list) -> list[str]:
    """Day axis labels in the active language: `12/7` (en), `7.12.` (de); ISO strings or dates."""
    locale = to_locale(get_language() or "en")
    return [format_skeleton("Md", d if isinstance(d, date) else date.fromisoformat(str(d)[:10]), locale=locale)
            for d in days]


def chart(chart_id: str, title: str, labels_: list, datasets: list[tuple[str, list]], *, kind: str = "bar",
          stacked: bool = False, horizontal: bool = False, money: bool = False, coded: bool = False) -> dict:
    """`money`: the figures are amounts in the company currency (the table shows them formatted);
    `coded`: the labels are codes (statuses, kinds) shown in plain words."""
    shown = [labels.text(x) for x in labels_] if coded else [str(x) for x in labels_]
    title = str(title)

    def cell(v):
        return erp_format.money(v) if money else erp_format.qty(v, 1) if isinstance(v, Decimal) else v

    spec = {"type": kind, "labels": shown, "locale": (get_language() or "en"), "stacked": stacked, "horizontal": horizontal,
            "datasets": [{"label": str(name), "data": [_num(v) for v in values]} for name, values in datasets]}
    table = {"headers": ["", *[str(name) for name, _ in datasets]],
             "rows": [{"label": label, "code": str(labels_[i]) if coded else "",
                       "values": [cell(values[i]) for _, values in datasets]} for i, label in enumerate(shown)]}
    return {"id": chart_id, "data_id": f"{chart_id}-data", "title": title, "spec": spec, "table": table, "empty": not any(
        any(v for v in values) for _, values in datasets)}
