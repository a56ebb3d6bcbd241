"""Exception queue, integrations (deliveries, inbound messages, events) and reconciliation
runs. Writes go through ops.services / ops.actions and integrations' services."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from core.messaging import selectors as messaging_selectors
from core.templatetags import erp_format
from integrations import selectors as integrations_selectors
from integrations import services as integrations_services
from ops import actions as ops_actions
from ops import services as ops
from ops.models import ExceptionItem, ReconciliationRun
from ops.web import forms, queries, related, trace
from ops.web.access import may, require, staff_page
from ops.web.render import next_url, page
from ops.web.tables import Col, Table


def _exc_url(item) -> str:
    return reverse("web:exception", args=[item.pk])


@staff_page("ops.exceptions")
def exception_list(request: HttpRequest) -> HttpResponse:
    f = forms.ExceptionFilter(request.GET)
    qs = ExceptionItem.objects.select_related("assignee").order_by("-opened_at", "-id")
    status = f.value("status") or "live"
    if status == "live":
        qs = qs.exclude(status="resolved")
    elif status != "all":
        qs = qs.filter(status=status)
    if q := f.value("q"):
        qs = qs.filter(Q(title__icontains=q) | Q(key__icontains=q) | Q(correlation_id=q))
    if k := f.value("kind"):
        qs = qs.filter(kind__icontains=k)
    if r := f.value("owner_role"):
        qs = qs.filter(owner_role=r)
    if s := f.value("severity"):
        qs = qs.filter(severity=s)
    a = f.value("assignee")
    if a == "me":
        qs = qs.filter(assignee=request.user)
    elif a == "none":
        qs = qs.filter(assignee__isnull=True)
    table = Table(
        title=_("Exception queue"), related=related.integrations(), rows=qs, filter_form=f,
        empty=_("No exceptions match. When something needs a person, it shows up here."),
        columns=[
            Col("#", "id", link=_exc_url),
            Col(_("Opened"), "opened_at"),
            Col(_("Severity"), "severity", badge=True),
            Col(_("Kind"), "kind"),
            Col(_("Title"), "title", link=_exc_url),
            Col(_("Owner"), "owner_role"),
            Col(_("Assignee"), "assignee.username"),
            Col(_("Status"), "status", badge=True),
            Col(_("Seen"), "occurrences", numeric=True),
        ],
    )
    return table.response(request, section="exceptions")


def _link_url(link: dict) -> str | None:
    t, i = link.get("type", ""), link.get("id")
    if i is None:
        return None
    mapping = {"sales.order": "web:order", "order": "web:order", "finance.invoice": "web:invoice",
               "invoice": "web:invoice", "inventory.purchaseorder": "web:purchase-order",
               "purchase_order": "web:purchase-order"}
    if t in mapping:
        try:
            return reverse(mapping[t], args=[i])
        except Exception:  # noqa: BLE001
            return None
    if t in ("integrations.webhookdelivery", "webhook_delivery"):
        return f"{reverse('web:deliveries')}?id={i}"
    if t in ("integrations.inboundmessage", "inbound_message"):
        return reverse("web:inbound-message", args=[i])
    if t in ("integrations.webhookendpoint", "webhook_endpoint"):
        return f"{reverse('web:deliveries')}?endpoint={i}"
    return None


@staff_page("ops.exceptions")
def exception_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ExceptionItem.objects.select_related("assignee", "resolved_by"), pk=pk)
    links = [{**link, "url": _link_url(link)} for link in item.links or []]
    return page(request, "web/exception_detail.html", {
        "item": item, "links": links, "notes": item.notes.select_related("author").order_by("created_at", "id"),
        "actions": ops_actions.available_actions(item),
        "assign_form": forms.AssignForm(initial={"assignee": item.assignee_id or ""}),
        "note_form": forms.NoteForm(), "timeline": trace.timeline(item.correlation_id) if item.correlation_id else [],
        "page_title": _("Exception #%(id)s") % {"id": item.pk}}, section="exceptions")


@require_POST
@staff_page("ops.exceptions")
def exception_act(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    """assign | acknowledge | resolve | note | run (an action such as replay or reprocess)."""
    done = None
    try:
        if verb == "assign":
            form = forms.AssignForm(request.POST)
            form.is_valid()
            value = form.cleaned_data.get("assignee") if hasattr(form, "cleaned_data") else None
            ops.assign_exception(exception_id=pk, assignee_id=int(value) if value else None, by=request.user)
            done = "Assignment saved."
        elif verb == "acknowledge":
            ops.acknowledge_exception(exception_id=pk, by=request.user, note=request.POST.get("note", ""))
            done = "Acknowledged: the exception is yours."
        elif verb == "resolve":
            ops.resolve_exception(exception_id=pk, note=request.POST.get("note", ""), by=request.user)
            done = "Resolved."
        elif verb == "note":
            ops.add_exception_note(exception_id=pk, body=request.POST.get("note", ""), by=request.user)
            done = "Note added."
        elif verb == "run":
            action = request.POST.get("action", "")
            require(request, ops_actions.ACTION_RESOURCES.get(action, "ops.exceptions"))
            result = ops_actions.perform_action(exception_id=pk, action=action, by=request.user)
            done = f"{result['action']}: {result['detail']}" + (" — resolved." if result.get("resolved") else "")
        else:
            messages.error(request, _("Unknown action."))
    except DomainError as exc:
        messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
    if done:
        messages.success(request, done)
    return redirect(next_url(request, reverse("web:exception", args=[pk])))


@staff_page("integrations.webhooks")
def delivery_list(request: HttpRequest) -> HttpResponse:
    f = forms.DeliveryFilter(request.GET)
    i = request.GET.get("id", "")
    qs = integrations_selectors.list_deliveries(status=f.value("status"), endpoint_id=f.value("endpoint"),
                                                event_type=f.value("event_type"),
                                                ids=[int(i)] if i.isdigit() else None)
    table = Table(
        title=_("Webhook deliveries"), related=related.integrations(), rows=qs, filter_form=f, empty=_("No deliveries match."),
        columns=[
            Col("#", "id"), Col(_("Created"), "created_at"), Col(_("Endpoint"), "endpoint_id"),
            Col(_("Event"), "event_type"), Col(_("Subject"), "subject"), Col(_("Status"), "status", badge=True),
            Col(_("Attempts"), "attempt_count", numeric=True), Col(_("Last code"), "last_status_code"),
            Col(_("Last error"), "last_error"), Col(_("Next attempt"), "next_attempt_at"),
        ],
    )
    return table.response(request, template="web/deliveries.html", section="integrations",
                          can_replay=may(request.user, "integrations.webhooks"))


@require_POST
@staff_page("integrations.webhooks")
def delivery_replay(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = integrations_selectors.get_delivery(delivery_id=pk)
    if delivery is None:
        raise Http404
    try:
        integrations_services.replay_delivery(delivery=delivery)
    except DomainError as exc:
        messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
    else:
        messages.success(request, _("Delivery #%(pk)s queued again.") % {"pk": delivery.pk})
    return redirect(next_url(request, reverse("web:deliveries")))


@require_POST
@staff_page("integrations.webhooks")
def delivery_replay_dead(request: HttpRequest) -> HttpResponse:
    endpoint = request.POST.get("endpoint", "")
    try:
        n = integrations_services.replay_deliveries(endpoint_id=int(endpoint) if endpoint.isdigit() else None, status="dead")
    except DomainError as exc:
        messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
    else:
        messages.success(request, _("%(n)s dead deliveries queued again.") % {"n": n})
    return redirect(next_url(request, reverse("web:deliveries") + "?status=dead"))


@staff_page("integrations.inbound")
def inbound_list(request: HttpRequest) -> HttpResponse:
    f = forms.InboundFilter(request.GET)
    qs = integrations_selectors.list_inbound_messages(status=f.value("status"), channel=f.value("channel"),
                                                      search=f.value("q"))
    table = Table(
        title=_("Inbound messages"), related=related.integrations(), rows=qs, filter_form=f, empty=_("No inbound messages match."),
        columns=[
            Col("#", "id", link=lambda m: reverse("web:inbound-message", args=[m.pk])),
            Col(_("Received"), "received_at"), Col(_("Channel"), "channel"), Col(_("Source"), "source"),
            Col(_("External id"), "external_id"), Col(_("Status"), "status", badge=True),
            Col(_("Attempts"), "attempts", numeric=True), Col(_("Error"), lambda m: erp_format.sentence(m.error)[:160] if m.error else ""),
            Col(_("Order"), "order_id", link=lambda m: reverse("web:order", args=[m.order_id]) if m.order_id else None),
        ],
    )
    return table.response(request, section="integrations")


@staff_page("integrations.inbound")
def inbound_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = integrations_selectors.get_inbound_message(message_id=pk)
    if message is None:
        raise Http404
    if request.method == "POST":
        try:
            message = integrations_services.reprocess_message(message_id=message.pk, submitted_by=request.user)
        except DomainError as exc:
            messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
        else:
            messages.success(request, _("Message #%(pk)s reprocessed: %(status)s.") % {"pk": message.pk, "status": message.status})
        return redirect("web:inbound-message", pk=message.pk)
    return page(request, "web/inbound_detail.html", {"message": message, "body": message.text[:20000],
                                                     "can_reprocess": may(request.user, "integrations.inbound"),
                                                     "page_title": _("Inbound message #%(id)s") % {"id": message.pk}},
                section="integrations")


@staff_page("integrations.events")
def event_list(request: HttpRequest) -> HttpResponse:
    f = forms.EventFilter(request.GET)
    qs = messaging_selectors.list_events(type_contains=f.value("type"),
                                            correlation_id=(f.value("correlation_id") or "").strip() or None,
                                            subject_contains=f.value("subject"))
    table = Table(
        title=_("Events (outbox)"), related=related.integrations(), rows=qs, filter_form=f, empty=_("No events match."),
        columns=[Col(_("Position"), "position", numeric=True), Col(_("Time"), "time"), Col(_("Type"), "type"),
                 Col(_("Subject"), "subject"), Col(_("Correlation id"), "correlation_id"),
                 Col(_("Dispatched"), "dispatched_at")],
    )
    return table.response(request, section="integrations")


@staff_page("ops.reconciliations")
def reconciliations(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            run = ops.run_reconciliation(trigger="ui", user=request.user)
        except DomainError as exc:
            messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
        else:
            messages.success(request, _("Reconciliation run #%(pk)s: %(status)s, %(findings_count)s finding(s).") % {"pk": run.pk, "status": run.status, "findings_count": run.findings_count})
        return redirect(next_url(request, reverse("web:reconciliations")))
    qs = ReconciliationRun.objects.select_related("requested_by").order_by("-started_at", "-id")
    table = Table(
        title=_("Reconciliation runs"), related=related.integrations(), rows=qs, empty=_("No run yet. Runs happen every 15 minutes, or now:"),
        intro="Each run checks the invariants (ledger vs levels, GL vs sub-ledgers, shipped vs invoiced …) "
              "and opens an exception per discrepancy.",
        columns=[Col(_("Run"), "id"), Col(_("Started"), "started_at"), Col(_("Group"), "group"),
                 Col(_("Trigger"), "trigger"), Col(_("By"), "requested_by.username"), Col(_("Status"), "status", badge=True),
                 Col(_("Checks"), lambda r: len(r.checks or [])), Col(_("Findings"), "findings_count", numeric=True),
                 Col(_("Opened"), "opened_count", numeric=True), Col(_("Resolved"), "resolved_count", numeric=True)],
    )
    return table.response(request, template="web/reconciliations.html", section="exceptions",
                          latest=queries.latest_reconciliation_results(), can_run=may(request.user, "ops.reconciliations"))
