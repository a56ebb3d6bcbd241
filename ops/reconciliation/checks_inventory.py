"""Inventory invariants: I1 (on_hand and value = Σ moves), I2 (reserved = Σ open reservations),
I3 (0 <= reserved <= on_hand).

Both are computed by inventory (inventory.selectors.iter_on_hand_discrepancies /
iter_reserved_discrepancies: one grouped aggregate over the ledger joined to the levels,
streamed); the checks turn its rows into findings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from inventory import selectors as inventory_selectors
from ops.reconciliation.base import Check, CheckOutcome, Finding, register


def dec(value, places: str = "0.001") -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal(places))


def _links(product_id, warehouse_id, sku, code) -> list[dict]:
    return [{"type": "inventory.product", "id": product_id, "label": sku},
            {"type": "inventory.warehouse", "id": warehouse_id, "label": code}]


@register
class LedgerVsLevels(Check):
    name = "i1_ledger_vs_levels"
    title = "I1 stock ledger vs stock levels"
    owner_role = "operations"
    severity = "high"
    description = ("Every StockLevel.on_hand must equal the sum of its StockMove quantities, and its value "
                   "the sum of the move values; a level without moves must be zero, and moves without a "
                   "level must net to zero.")

    def run(self, *, now: datetime) -> CheckOutcome:
        totals = inventory_selectors.ledger_totals()
        figures = {"moves": totals["moves"], "levels": totals["levels"],
                   "ledger_quantity": dec(totals["ledger_quantity"]), "on_hand_total": dec(totals["on_hand"]),
                   "ledger_value": dec(totals["ledger_value"], "0.01"),
                   "level_value_total": dec(totals["level_value"], "0.01")}
        return CheckOutcome(figures=figures, findings=self._findings())

    def _findings(self):
        for r in inventory_selectors.iter_on_hand_discrepancies():
            sku, code = r["sku"], r["warehouse_code"]
            if r["on_hand"] is None:
                title = (f"{sku} @ {code}: ledger holds {r['moves_quantity']} (value {r['moves_value']}) "
                         "but no stock level exists")
            else:
                title = (f"{sku} @ {code}: on hand {r['on_hand']} vs ledger {r['moves_quantity']}; "
                         f"value {r['value']} vs ledger {r['moves_value']}")
            yield Finding(
                key=f"product={r['product_id']}:warehouse={r['warehouse_id']}", title=title[:255],
                links=_links(r["product_id"], r["warehouse_id"], sku, code), detail=self.description,
                figures={"on_hand": r["on_hand"], "ledger_quantity": r["moves_quantity"],
                         "level_value": r["value"], "ledger_value": r["moves_value"]},
            )


@register
class ReservationsVsLevels(Check):
    name = "i2_reservations_vs_levels"
    title = "I2 reservations vs stock levels"
    owner_role = "operations"
    severity = "high"
    description = ("Every StockLevel.reserved must equal the open quantity of its active reservations; "
                   "active reservations without a level must not exist.")

    def run(self, *, now: datetime) -> CheckOutcome:
        totals = inventory_selectors.reservation_totals()
        figures = {"active_reservations": totals["active_reservations"], "open_quantity": dec(totals["open_quantity"]),
                   "reserved_total": dec(totals["reserved"])}
        return CheckOutcome(figures=figures, findings=self._findings())

    def _findings(self):
        for r in inventory_selectors.iter_reserved_discrepancies():
            shown = "no stock level" if r["reserved"] is None else f"reserved {r['reserved']}"
            yield Finding(
                key=f"product={r['product_id']}:warehouse={r['warehouse_id']}",
                title=f"{r['sku']} @ {r['warehouse_code']}: {shown} vs active reservations "
                      f"{r['reservations_quantity']}"[:255],
                links=_links(r["product_id"], r["warehouse_id"], r["sku"], r["warehouse_code"]),
                detail=self.description,
                figures={"reserved": r["reserved"], "reservations_open": r["reservations_quantity"]},
            )


@register
class LevelBounds(Check):
    name = "i3_level_bounds"
    title = "I3 no negative stock, reserved within on hand"
    owner_role = "operations"
    severity = "high"
    description = ("Every StockLevel must have on_hand >= 0, reserved >= 0 and reserved <= on_hand. The "
                   "database refuses such writes (CHECK constraints); this check proves no row got past them.")

    def run(self, *, now: datetime) -> CheckOutcome:
        totals = inventory_selectors.level_bound_totals()
        return CheckOutcome(figures=dict(totals), findings=self._findings())

    def _findings(self):
        for r in inventory_selectors.iter_level_bound_violations():
            problems = []
            if r["on_hand"] < 0:
                problems.append(f"on hand {r['on_hand']} is negative")
            if r["reserved"] < 0:
                problems.append(f"reserved {r['reserved']} is negative")
            if r["reserved"] > r["on_hand"]:
                problems.append(f"reserved {r['reserved']} exceeds on hand {r['on_hand']}")
            yield Finding(
                key=f"product={r['product_id']}:warehouse={r['warehouse_id']}",
                title=f"{r['sku']} @ {r['warehouse_code']}: {'; '.join(problems)}"[:255],
                links=_links(r["product_id"], r["warehouse_id"], r["sku"], r["warehouse_code"]),
                detail=self.description, figures={"on_hand": r["on_hand"], "reserved": r["reserved"]},
            )


@register
class BinsVsLedger(Check):
    name = "bins_vs_ledger"
    title = "I1/I2 at bin and lot grain"
    owner_role = "operations"
    severity = "high"
    description = ("Every bin × lot row's on hand must equal the sum of its moves and its reserved the open "
                   "reservations naming it; a level's default bin (on hand − binned) must equal its moves "
                   "without a bin, and its binned/blocked quantities the sum of its rows (in quarantine).")

    def run(self, *, now: datetime) -> CheckOutcome:
        findings = list(self._findings())
        return CheckOutcome(figures={"discrepancies": len(findings)}, findings=findings)

    def _findings(self):
        for r in inventory_selectors.iter_bin_discrepancies():
            where = f"bin {r['location_id']} lot {r['lot_id'] or '-'}" if r["location_id"] else "level"
            yield Finding(
                key=f"{r['kind']}:product={r['product_id']}:warehouse={r['warehouse_id']}:"
                    f"location={r['location_id']}:lot={r['lot_id']}",
                title=f"{r['sku']} @ {r['warehouse_code']} {where}: {r['kind']} {r['actual']} vs {r['expected']}"[:255],
                links=_links(r["product_id"], r["warehouse_id"], r["sku"], r["warehouse_code"]),
                detail=self.description, figures={"actual": r["actual"], "expected": r["expected"]})


@register
class ExpiredStockAvailable(Check):
    name = "expired_stock_available"
    title = "Expired stock still available"
    owner_role = "operations"
    severity = "medium"
    description = ("Stock of an expired lot outside quarantine: allocation never takes it (FEFO skips it), "
                   "but it still counts as available in its warehouse. Move it to quarantine or scrap it.")

    def run(self, *, now: datetime) -> CheckOutcome:
        rows = inventory_selectors.expired_stock_available(today=now.date())
        findings = [Finding(
            key=f"product={r['product_id']}:warehouse={r['warehouse_id']}:location={r['location']}:lot={r['lot']}",
            title=f"{r['sku']} lot {r['lot']} expired {r['expiry_date']}: {r['quantity']} in {r['warehouse_code']}"
                  f"/{r['location']}"[:255],
            links=_links(r["product_id"], r["warehouse_id"], r["sku"], r["warehouse_code"]),
            detail=self.description, figures={"quantity": r["quantity"]}) for r in rows]
        return CheckOutcome(figures={"rows": len(rows), "quantity": dec(sum((r["quantity"] for r in rows), 0))},
                            findings=findings)
