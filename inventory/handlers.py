"""Idempotent consumers of other apps' events (registered with integrations.consumers)."""

import structlog

from core.documents import services as document_services
from core.exceptions import ValidationFailed
from core.messaging.consumers import consumer
from inventory.events import PURCHASE_ORDER_APPROVED
from inventory.models import Supplier

log = structlog.get_logger(__name__)


@consumer(PURCHASE_ORDER_APPROVED, name="inventory.email_purchase_order")
def email_purchase_order(event) -> None:
    """E-mail an approved purchase order to its supplier (core.documents: queued here, sent by the
    send task after commit). A supplier without an e-mail address gets nothing; staff may send
    it from the PO page with an address."""
    data = event.data
    email = Supplier.objects.filter(code=data["supplier_code"]).values_list("email", flat=True).first()
    if not email:
        return
    try:
        document_services.request_send(document_type="purchase_order", key=data["purchase_order_id"], to=email,
                                       trigger="automatic", correlation_id=event.correlation_id)
    except ValidationFailed as exc:  # a stored address that is not one: say so, do not retry forever
        log.warning("purchase_order_not_emailed", number=data["number"], reason=exc.detail)
