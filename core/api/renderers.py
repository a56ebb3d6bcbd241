"""`?format=csv` for reports: a report is a dict whose `rows` are flat dicts; the CSV has one
line per row (nested values left out), cells written through core.csv_export (numbers stay
numbers, formula-looking text is neutralised). Anything else (an error document) is JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

from rest_framework.renderers import BaseRenderer, JSONRenderer

from core.csv_export import csv_cell


class ReportCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if not isinstance(data, dict) or "rows" not in data or (response is not None and response.status_code >= 400):
            if response is not None:
                response["Content-Type"] = "application/problem+json" if response.status_code >= 400 \
                    else "application/json"
            return json.dumps(data, default=str).encode()
        rows = [r for r in data["rows"] if isinstance(r, dict)]
        header: list[str] = []
        for r in rows:
            header += [k for k, v in r.items() if k not in header and not isinstance(v, dict | list)]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for r in rows:
            writer.writerow([csv_cell(r.get(k), numeric=True) for k in header])
        if response is not None:
            name = (renderer_context.get("view").__class__.__name__.removesuffix("View").lower() or "report")
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return out.getvalue().encode("utf-8")


REPORT_RENDERERS = [JSONRenderer, ReportCSVRenderer]


def jsonable(value):
    """A report dict made JSON-ready the CONTRACT way: Decimals as strings, dates ISO 8601."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
