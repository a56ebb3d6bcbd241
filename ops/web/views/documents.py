"""Documents in the staff UI: "Download PDF" and "Send" on each document page (the template tag
`{% document_actions %}`, ops/templatetags/erp_documents.py), the send action and the log of
what was e-mailed. Rendering and sending are core.documents' (the API's PDF URLs serve the
download: the staff session authenticates there too)."""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.documents import services as documents
from core.documents.models import OutboundDocument
from core.exceptions import DomainError
from ops.web.access import may, require, staff_page
from ops.web.render import next_url
from ops.web.tables import Col, Table
from sales import services as sales_services

LOG_RESOURCE = "documents.outbound"

# document type → (API route of its PDF, the matrix resource of the document)
DOCUMENTS: dict[str, tuple[str, str]] = {
    "order_confirmation": ("sales:order-pdf", "sales.orders"),
    "packing_slip": ("sales:shipment-pdf", "sales.shipments"),
    "invoice": ("finance:invoice-pdf", "finance.receivables"),
    "credit_note": ("finance:credit-note-pdf", "finance.receivables"),
    "purchase_order": ("inventory:purchase-order-pdf", "inventory.purchasing"),
    "quotation": ("sales:quotation-pdf", "sales.orders"),
}
# document types whose sending changes the document itself (a draft quotation becomes sent):
# their owner's service queues the e-mail
SENDERS = {
    "quotation": lambda pk, to, user: sales_services.send_quotation(quotation_id=pk, to=to, sent_by=user),
}


def actions_for(user, document_type: str, pk: int) -> dict:
    """What the page shows for one document: its PDF link, and the send form when allowed."""
    route, resource = DOCUMENTS[document_type]
    return {"document_type": document_type, "pk": pk, "pdf_url": reverse(route, args=[pk]),
            "can_send": may(user, resource) and may(user, LOG_RESOURCE),
            "send_url": reverse("web:document-send", args=[document_type, pk])}


class SendForm(django_forms.Form):
    to = django_forms.EmailField(required=False, max_length=254)


@require_POST
@staff_page(LOG_RESOURCE)
def document_send(request: HttpRequest, document_type: str, pk: int) -> HttpResponse:
    if document_type not in DOCUMENTS:
        raise Http404
    require(request, DOCUMENTS[document_type][1])  # and a write of the document itself
    back = next_url(request, reverse("web:documents"))
    form = SendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Not sent: %(detail)s") % {"detail": form.errors["to"][0]})
        return redirect(back)
    try:
        to = form.cleaned_data["to"] or None
        if document_type in SENDERS:
            outbound = SENDERS[document_type](pk, to, request.user)
        else:
            outbound = documents.request_send(document_type=document_type, key=pk, to=to, requested_by=request.user)
    except DomainError as exc:
        messages.error(request, _("Not sent: %(detail)s") % {"detail": exc.detail})
    else:
        messages.success(request, _("%(number)s queued for e-mail to %(to)s.") % {"number": outbound.number, "to": outbound.to})
    return redirect(back)


class LogFilter(django_forms.Form):
    document_type = django_forms.ChoiceField(required=False, choices=[("", "All documents")]
                                             + [(t, t.replace("_", " ").capitalize()) for t in DOCUMENTS])
    status = django_forms.ChoiceField(required=False, choices=[("", "Any status"), *OutboundDocument.Status.choices])
    q = django_forms.CharField(required=False, label=gettext_lazy("Number or address"))

    def value(self, name: str) -> str:
        return (self.cleaned_data.get(name) or "") if self.is_valid() else ""


def _pdf_link(row) -> str | None:
    return reverse(DOCUMENTS[row.document_type][0], args=[row.object_key]) if row.document_type in DOCUMENTS else None


@staff_page(LOG_RESOURCE)
def document_log(request: HttpRequest) -> HttpResponse:
    f = LogFilter(request.GET)
    qs = OutboundDocument.objects.order_by("-id")
    if t := f.value("document_type"):
        qs = qs.filter(document_type=t)
    if s := f.value("status"):
        qs = qs.filter(status=s)
    if q := f.value("q"):
        qs = qs.filter(number__icontains=q) | qs.filter(to__icontains=q)
    table = Table(
        title=_("Documents sent"), rows=qs, filter_form=f,
        empty=_("No document e-mailed yet. Use “Send” on an invoice, order or purchase order."),
        columns=[
            Col("#", "id"), Col(_("Queued"), "created_at"), Col(_("Document"), "document_type"),
            Col(_("Number"), "number", link=_pdf_link), Col(_("To"), "to"), Col(_("Status"), "status", badge=True),
            Col(_("Attempts"), "attempts", numeric=True), Col(_("Sent"), "sent_at"), Col(_("Trigger"), "trigger"),
            Col(_("SHA-256"), lambda r: r.sha256[:16]), Col(_("Last error"), "last_error"),
        ],
    )
    return table.response(request, section="documents")
