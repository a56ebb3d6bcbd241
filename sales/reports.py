"""Sales reports (selectors; a read replica may serve them): sales and gross margin by
customer, product, product category or month for a period, optionally for one warehouse's
shipments or one product category, with the previous period of the same length. Revenue and cost are what was invoiced, net of credit notes; finance answers through
sales.ports.MarginSource (invoice and credit-note lines carry the amount and the cost the
shipment posted to COGS), sales adds the names."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from core.money import q2
from inventory import selectors as inventory_selectors
from sales import ports
from sales.models import Customer

ZERO = Decimal("0.00")
GROUPS = ("customer", "product", "category", "month")


class UnknownFilter(ValueError):
    """A warehouse code that names no warehouse (the API answers 400)."""


def _rows(group_by: str, date_from: date | None, date_to: date | None, warehouse_id: int | None,
          product_ids) -> dict[str, dict]:
    source = ports.margin_source()
    base = group_by if group_by in ("customer", "month") else "product"
    raw = source.margin_rows(group_by=base, date_from=date_from, date_to=date_to, warehouse_id=warehouse_id,
                             product_ids=product_ids)
    out: dict[str, dict] = {}
    if base == "month":
        for r in raw:
            month = r["month"].date() if hasattr(r["month"], "date") else r["month"]
            out[month.strftime("%Y-%m")] = {"month": month.strftime("%Y-%m"),
                                            **{k: r[k] for k in ("quantity", "revenue", "cost")}}
    elif base == "customer":
        names = {pk: (code, name) for pk, code, name in
                 Customer.objects.filter(pk__in={r["customer_id"] for r in raw}).values_list("pk", "code", "name")}
        for r in raw:
            code, name = names.get(r["customer_id"], ("", ""))
            out[code] = {"customer": code, "name": name, **{k: r[k] for k in ("quantity", "revenue", "cost")}}
    else:
        labels = inventory_selectors.product_labels(r["product_id"] for r in raw)
        for r in raw:
            label = labels.get(r["product_id"], {"sku": "", "name": "(no product)", "category": ""})
            if group_by == "product":
                out[label["sku"]] = {"product": label["sku"], "name": label["name"], "category": label["category"],
                                     **{k: r[k] for k in ("quantity", "revenue", "cost")}}
                continue
            key = label["category"] or "(none)"
            row = out.setdefault(key, {"category": key, "quantity": ZERO, "revenue": ZERO, "cost": ZERO})
            for k in ("quantity", "revenue", "cost"):
                row[k] += r[k]
    for row in out.values():
        row["margin"] = q2(row["revenue"] - row["cost"])
        row["margin_percent"] = q2(row["margin"] * 100 / row["revenue"]) if row["revenue"] else None
    return out


def margin(*, group_by: str = "product", date_from: date | None = None, date_to: date | None = None,
           compare: bool = True, warehouse: str | None = None, category: str | None = None) -> dict:
    """Invoiced quantity, revenue, cost and gross margin (company currency) grouped by
    customer, product, category or month, largest revenue first (months in date order); with
    the previous period when both dates are given. `warehouse` (a code) keeps that
    warehouse's shipments, `category` one product category's products."""
    if group_by not in GROUPS:
        raise ValueError(group_by)
    warehouse_id = None
    if warehouse:
        warehouse_id = inventory_selectors.warehouse_ids_by_code([warehouse]).get(warehouse)
        if warehouse_id is None:
            raise UnknownFilter(f"No warehouse {warehouse!r}.")
    product_ids = inventory_selectors.products().filter(category=category).values_list("pk", flat=True) \
        if category else None
    cur = _rows(group_by, date_from, date_to, warehouse_id, product_ids)
    prev_from = prev_to = None
    prev: dict[str, dict] = {}
    if compare and date_from is not None and date_to is not None and date_to >= date_from \
            and date_from - date.min > (date_to - date_from) + timedelta(days=1):
        prev_to = date_from - timedelta(days=1)
        prev_from = prev_to - (date_to - date_from)
        prev = _rows(group_by, prev_from, prev_to, warehouse_id, product_ids)
    rows = []
    order = (lambda kv: kv[0]) if group_by == "month" else (lambda kv: (-kv[1]["revenue"], kv[0]))
    for key, row in sorted(cur.items(), key=order):
        if group_by == "month":  # months of the previous period are other months: totals only
            rows.append({**row, "previous_revenue": None, "previous_margin": None})
            continue
        p = prev.get(key)
        rows.append({**row, "previous_revenue": p["revenue"] if p else ZERO,
                     "previous_margin": p["margin"] if p else ZERO})
    totals = {k: q2(sum((r[k] for r in cur.values()), ZERO)) for k in ("revenue", "cost", "margin")}
    totals["margin_percent"] = q2(totals["margin"] * 100 / totals["revenue"]) if totals["revenue"] else None
    prev_totals = {k: q2(sum((r[k] for r in prev.values()), ZERO)) for k in ("revenue", "cost", "margin")} \
        if prev_from else None
    return {"group_by": group_by, "warehouse": warehouse or None, "category": category or None,
            "date_from": date_from, "date_to": date_to, "previous_from": prev_from,
            "previous_to": prev_to, "rows": rows, "totals": totals, "previous_totals": prev_totals}


__all__ = ["margin", "GROUPS", "UnknownFilter"]
