"""Chart specs for static/js/app.js. Every chart carries the table of its numbers too, shown
under it (a <details> element), so nothing is only in pixels."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def _num(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)  # display only: Chart.js needs numbers; the table shows the exact Decimal
    return v


def chart(chart_id: str, title: str, labels: list, datasets: list[tuple[str, list]], *, kind: str = "bar",
          stacked: bool = False, horizontal: bool = False) -> dict:
    spec = {"type": kind, "labels": [str(x) for x in labels], "stacked": stacked, "horizontal": horizontal,
            "datasets": [{"label": name, "data": [_num(v) for v in values]} for name, values in datasets]}
    table = {"headers": ["", *[name for name, _ in datasets]],
             "rows": [[label, *[values[i] for _, values in datasets]] for i, label in enumerate(labels)]}
    return {"id": chart_id, "data_id": f"{chart_id}-data", "title": title, "spec": spec, "table": table, "empty": not any(
        any(v for v in values) for _, values in datasets)}
