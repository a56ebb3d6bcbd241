"""The first-run page (company setup) and the import page with its preview (issue 20).

Both are admin pages (resource `admin.setup`). Setup calls finance.services.setup_company;
an import is read, run as a dry run and shown (what each row would do, every bad row by row
and column); only "Import" on the preview writes, running the same file again for real in
one transaction (core.imports). The previewed file travels back in the form (base64) with its
sha256, so what is written is exactly what was previewed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from core import company as core_company
from core import context, imports
from core.exceptions import DomainError
from finance import services as finance_services
from ops.web import forms
from ops.web.access import staff_page
from ops.web.render import page

SETUP = "admin.setup"


@staff_page(SETUP, form=True)
def setup(request: HttpRequest) -> HttpResponse:
    existing = core_company.get_company()
    initial = {f: getattr(existing, f) for f in forms.CompanySetupForm.base_fields if hasattr(existing, f)} \
        if existing else {"chart": "generic"}
    if existing:
        initial["chart"] = existing.chart_template
    form = forms.CompanySetupForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        try:
            with context.correlation(f"setup-company-{context.new_id()}"):
                result = finance_services.setup_company(
                    name=d.pop("name"), currency=d.pop("currency"), country=d.pop("country"), chart=d.pop("chart"),
                    warehouse_code=d.pop("warehouse_code") or "MAIN", **d)
        except DomainError as exc:
            for name, msgs in exc.errors.items():
                if name in form.fields:
                    for m in msgs:
                        form.add_error(name, m)
            messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
        else:
            messages.success(request, _("Company set up: %(summary)s.") % {"summary": result.summary()})
            return redirect("web:import")
    return page(request, "web/setup.html", {"form": form, "company": existing, "page_title": _("Company setup")},
                section="setup")


def _decode(request) -> tuple[bytes, str] | None:
    """The previewed file sent back with the confirmation, if intact."""
    try:
        content = base64.b64decode(request.POST.get("content", ""), validate=True)
    except (binascii.Error, ValueError):
        return None
    if hashlib.sha256(content).hexdigest() != request.POST.get("sha256"):
        return None
    return content, request.POST.get("filename", "")


@staff_page(SETUP, form=True)
def import_file(request: HttpRequest) -> HttpResponse:
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    ctx = {"form": form, "kinds": imports.kinds(), "page_title": _("Import data"),
           "set_up": core_company.is_set_up()}
    if request.method == "POST" and request.POST.get("confirm"):
        sent = _decode(request)
        kind = request.POST.get("kind", "")
        if sent is None:
            messages.error(request, _("The previewed file did not come back intact; upload it again."))
            return redirect("web:import")
        content, filename = sent
        try:
            dataset = imports.read_dataset(content, filename)
            with context.correlation(f"import-{kind}-{context.new_id()}"):
                report = imports.run_import(kind, dataset, dry_run=False)
        except DomainError as exc:
            messages.error(request, _("Refused: %(detail)s") % {"detail": exc.detail})
            return redirect("web:import")
        if report.ok:
            messages.success(request, _("Imported %(file)s: %(summary)s.") % {"file": filename,
                                                                                "summary": report.summary()})
            return redirect("web:import")
        ctx.update(report=report, filename=filename)
        return page(request, "web/import.html", ctx, section="setup", status=422)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        content = upload.read()
        kind = form.cleaned_data["kind"]
        try:
            dataset = imports.read_dataset(content, upload.name)
            report = imports.run_import(kind, dataset, dry_run=True)
        except DomainError as exc:
            form.add_error("file", exc.detail)
        else:
            ctx.update(report=report, filename=upload.name, kind=kind,
                       content=base64.b64encode(content).decode("ascii"),
                       sha256=hashlib.sha256(content).hexdigest())
    return page(request, "web/import.html", ctx, section="setup")
