"""A Django template to PDF bytes, through xhtml2pdf (HTML/CSS → ReportLab).

Why xhtml2pdf (docs/architecture.md "Documents"): it installs with pip alone (ReportLab,
Pillow and pure-Python parsers; no system Pango/Cairo as WeasyPrint needs), so `make test`
works on a fresh machine with only Python. Its CSS is a subset (tables, floats-free layout),
which is enough for business documents.

Deterministic output: ReportLab's `invariant` mode fixes the creation date and the document
ID, so the same template and context give the same bytes (the archive and tests rely on it).
"""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from reportlab import rl_config
from xhtml2pdf import pisa

# fixed /CreationDate and /ID in every PDF ReportLab writes in this process
rl_config.invariant = 1


class RenderingFailed(RuntimeError):
    """A template xhtml2pdf could not lay out: a programming error, not bad input."""


def company() -> dict:
    """The company block every document shows (settings ERP COMPANY_*)."""
    erp = settings.ERP
    logo = erp.get("COMPANY_LOGO") or ""
    return {
        "name": erp.get("COMPANY_NAME", ""),
        "address_lines": [ln for ln in (erp.get("COMPANY_ADDRESS") or "").splitlines() if ln.strip()],
        "tax_id": erp.get("COMPANY_TAX_ID", ""),
        "email": erp.get("COMPANY_EMAIL", ""),
        "logo": logo if logo and Path(logo).is_file() else "",
        "currency": erp.get("CURRENCY", ""),
    }


def _link_callback(uri: str, rel: str) -> str:
    """Only the configured logo may be loaded from disk; nothing from the network."""
    logo = settings.ERP.get("COMPANY_LOGO") or ""
    if logo and uri == logo and Path(logo).is_file():
        return logo
    return ""


def render_html(template: str, context: dict) -> str:
    return render_to_string(template, {"company": company(), **context})


def render_pdf(template: str, context: dict) -> bytes:
    """Render `template` with `context` (plus `company`) to PDF bytes."""
    html = render_html(template, context)
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8", link_callback=_link_callback)
    if result.err:
        raise RenderingFailed(f"{template}: {result.err} error(s) while rendering the PDF.")
    return out.getvalue()
