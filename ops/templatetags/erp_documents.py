"""`{% document_actions "invoice" invoice.pk %}`: "Download PDF" and "Send" on a staff page."""

from __future__ import annotations

from django import template

from ops.web.views.documents import actions_for

register = template.Library()


@register.inclusion_tag("web/_document_actions.html", takes_context=True)
def document_actions(context, document_type: str, pk: int, label: str = "") -> dict:
    request = context["request"]
    return {**actions_for(request.user, document_type, pk), "label": label, "next": request.get_full_path(),
            "csrf_token": context.get("csrf_token")}
