"""Order-to-cash timeliness: I8 (every shipment invoiced within its SLA) and the SLA rules on
backorders and credit holds. Thresholds come from settings.ERP (SLA_* keys)."""

from __future__ import annotations

from datetime import datetime, timedelta

from finance import selectors as finance_selectors
from ops.reconciliation.base import Check, CheckOutcome, Finding, erp_setting, register
from sales import selectors as sales_selectors


@register
class ShippedNotInvoiced(Check):
    name = "i8_shipped_not_invoiced"
    title = "I8 shipped, not invoiced within SLA"
    owner_role = "finance"
    severity = "high"
    groups = ("reconciliation", "sla")
    description = ("Every shipped shipment must have its invoice within SLA_INVOICE_MINUTES of shipping "
                   "(finance invoices on the sales.shipment.shipped event).")

    def run(self, *, now: datetime) -> CheckOutcome:
        minutes = erp_setting("SLA_INVOICE_MINUTES", 15)
        cutoff = now - timedelta(minutes=minutes)
        late = finance_selectors.shipments_not_invoiced(shipped_before=cutoff)
        figures = {"sla_minutes": minutes, "shipped": sales_selectors.shipped_shipments().count()}

        def findings():
            for pk, number, order_id, order_number, shipped_at, cid in late.iterator(chunk_size=2000):
                minutes_late = int((now - shipped_at).total_seconds() // 60)
                yield Finding(
                    key=f"shipment={pk}",
                    title=f"Shipment {number} (order {order_number}) shipped {minutes_late} min ago, not invoiced",
                    correlation_id=cid or "", detail=self.description,
                    links=[{"type": "sales.shipment", "id": pk, "label": number},
                           {"type": "sales.order", "id": order_id, "label": order_number}],
                    figures={"shipped_at": shipped_at, "minutes_since_shipped": minutes_late},
                )

        return CheckOutcome(figures=figures, findings=findings())


@register
class BackorderAge(Check):
    name = "sla_backorder_age"
    title = "Backorders older than SLA"
    owner_role = "operations"
    severity = "medium"
    groups = ("sla",)
    kind_prefix = "sla"
    description = "An order with quantity on backorder for more than SLA_BACKORDER_DAYS days needs procurement."

    def run(self, *, now: datetime) -> CheckOutcome:
        days = erp_setting("SLA_BACKORDER_DAYS", 7)
        rows = sales_selectors.backorders_by_order(ordered_before=now - timedelta(days=days))
        figures = {"sla_days": days}

        def findings():
            for r in rows.iterator(chunk_size=2000):
                age = (now - r["since"]).days
                yield Finding(
                    key=f"order={r['order_id']}",
                    title=f"Order {r['order__number']}: {r['qty']} units on backorder for {age} days "
                          f"({r['lines']} line(s))",
                    correlation_id=r["order__correlation_id"] or "", detail=self.description,
                    links=[{"type": "sales.order", "id": r["order_id"], "label": r["order__number"]}],
                    figures={"quantity_backordered": r["qty"], "age_days": age},
                )

        return CheckOutcome(figures=figures, findings=findings())


@register
class CreditHoldAge(Check):
    name = "sla_credit_hold_age"
    title = "Credit holds older than SLA"
    owner_role = "finance"
    severity = "medium"
    groups = ("sla",)
    kind_prefix = "sla"
    description = "An order on credit hold for more than SLA_CREDIT_HOLD_HOURS hours needs a finance decision."

    def run(self, *, now: datetime) -> CheckOutcome:
        hours = erp_setting("SLA_CREDIT_HOLD_HOURS", 24)
        rows = sales_selectors.credit_hold_rows(created_before=now - timedelta(hours=hours))
        figures = {"sla_hours": hours, "on_hold": sales_selectors.orders_on_credit_hold().count()}

        def findings():
            for pk, number, customer, reason, created, cid in rows.iterator(chunk_size=2000):
                age = int((now - created).total_seconds() // 3600)
                yield Finding(
                    key=f"order={pk}",
                    title=f"Order {number} ({customer}) on credit hold for {age} h: {reason}"[:255],
                    correlation_id=cid or "", detail=self.description,
                    links=[{"type": "sales.order", "id": pk, "label": number}],
                    figures={"hours_on_hold": age},
                )

        return CheckOutcome(figures=figures, findings=findings())
