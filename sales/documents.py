"""Sales' documents for core.documents: the order confirmation and the packing slip.

Registered by SalesConfig.ready; core renders them from an object id (core imports no app).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.documents import registry
from core.exceptions import NotFound
from sales import selectors
from sales.models import Order, Quotation, Shipment


def _lines_of(text: str) -> list[str]:
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip()]


def customer_block(customer) -> dict:
    return selectors.document_customer(customer_id=customer.pk)


def _get(model, key):
    try:
        return model.objects.select_related("customer" if model is Order else "order__customer").get(pk=int(key))
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No {model._meta.verbose_name} {key}.") from None


def _document_lines(lines) -> list[dict]:
    """An order's or a quotation's lines as the document shows them."""
    return [{"line_no": ln.line_no, "sku": ln.sku, "description": ln.product.name, "quantity": ln.quantity,
             "unit_price": ln.unit_price, "tax": ln.line_tax, "amount": ln.line_subtotal}
            for ln in lines.select_related("product").order_by("line_no")]


def _priced_document(doc, title, **extra) -> registry.Document:
    """An order confirmation or a quotation: its lines, ship-to and totals for the customer."""
    customer = doc.customer
    return registry.Document(
        number=doc.number,
        recipient=customer.billing_email or customer.email,
        context={"title": title, "number": doc.number, "currency": doc.currency, "customer": customer_block(customer),
                 "ship_to_lines": _lines_of(doc.shipping_address or customer.shipping_address),
                 "lines": _document_lines(doc.lines), **extra,
                 "totals": {"subtotal": doc.subtotal, "tax": doc.tax, "total": doc.total}})


def order_confirmation(key) -> registry.Document:
    order = _get(Order, key)
    return _priced_document(order, _("Order confirmation"), order=order)


def quotation(key) -> registry.Document:
    try:
        quote = Quotation.objects.select_related("customer").get(pk=int(key))
    except (Quotation.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No quotation {key}.") from None
    return _priced_document(quote, _("Quotation"), quotation=quote)


def _tracking(line, name: str) -> list[str]:
    """Lots or serials a shipment line left with: its `picks` (bin, lot, expiry, serials — written
    when it ships), lots with their expiry date; [] for untracked products."""
    out: list[str] = []
    for pick in getattr(line, "picks", None) or []:
        if name == "lots" and pick.get("lot"):
            expiry = f" (exp. {pick['expiry_date']})" if pick.get("expiry_date") else ""
            out.append(f"{pick['lot']}{expiry} × {pick.get('quantity', '')}".rstrip(" ×"))
        elif name == "serials":
            out.extend(str(s) for s in pick.get("serials") or [])
    return out


def packing_slip(key) -> registry.Document:
    shipment = _get(Shipment, key)
    order, customer = shipment.order, shipment.order.customer
    lines = [{"sku": ln.sku, "description": ln.product.name, "quantity": ln.quantity,
              "lots": _tracking(ln, "lots"), "serials": _tracking(ln, "serials")}
             for ln in shipment.lines.select_related("product").order_by("id")]
    return registry.Document(
        number=shipment.number,
        recipient=customer.email,
        context={"title": _("Packing slip"), "number": shipment.number, "shipment": shipment,
                 "order_number": order.number, "warehouse": shipment.warehouse.code,
                 "customer": customer_block(customer),
                 "ship_to_lines": _lines_of(order.shipping_address or customer.shipping_address),
                 "lines": lines, "has_lots": any(ln["lots"] for ln in lines),
                 "has_serials": any(ln["serials"] for ln in lines),
                 "total_quantity": sum((ln["quantity"] for ln in lines), start=0)})


def register() -> None:
    registry.register(registry.DocumentType("order_confirmation", _("Order confirmation"),
                                            "documents/order_confirmation.html", order_confirmation))
    registry.register(registry.DocumentType("packing_slip", _("Packing slip"),
                                            "documents/packing_slip.html", packing_slip))
    registry.register(registry.DocumentType("quotation", _("Quotation"), "documents/quotation.html", quotation))
