"""Inventory's document for core.documents: the purchase order (registered by InventoryConfig.ready)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.documents import registry
from core.exceptions import NotFound
from core.money import q2
from inventory.models import PurchaseOrder


def purchase_order(key) -> registry.Document:
    try:
        po = PurchaseOrder.objects.select_related("supplier", "warehouse").get(pk=int(key))
    except (PurchaseOrder.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No purchase order {key}.") from None
    number = po.number or f"PO#{po.pk}"
    lines = [{"line_no": ln.line_no, "sku": ln.product.sku, "description": ln.product.name, "quantity": ln.quantity,
              "unit_cost": ln.unit_cost, "amount": q2(ln.quantity * ln.unit_cost)}
             for ln in po.lines.select_related("product").order_by("line_no")]
    currency = getattr(po, "currency", "") or ""
    return registry.Document(
        number=number, recipient=po.supplier.email,
        context={"title": _("Purchase order"), "number": number, "purchase_order": po, "supplier": po.supplier,
                 "warehouse": f"{po.warehouse.code} — {po.warehouse.name}", "currency": currency,
                 "lines": lines, "total": q2(sum((ln["amount"] for ln in lines), start=q2(0)))})


def register() -> None:
    registry.register(registry.DocumentType("purchase_order", _("Purchase order"),
                                            "documents/purchase_order.html", purchase_order))
