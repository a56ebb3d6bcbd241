"""One way to render a staff page: navigation, section and company name added to the context."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from core import company, replica
from ops.web.access import navigation


def page(request: HttpRequest, template: str, context: dict | None = None, *, section: str = "",
         status: int = 200) -> HttpResponse:
    ctx = {"nav": navigation(request.user), "section": section,
           "company_name": company.name()}
    if replica.configured():
        ctx["replica"] = replica.status()  # pages read on the replica show how far behind it is
    ctx.update(context or {})
    return render(request, template, ctx, status=status)


def next_url(request: HttpRequest, default: str) -> str:
    """The POSTed `next` when it points back into this site, else `default` (no open redirect)."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default
