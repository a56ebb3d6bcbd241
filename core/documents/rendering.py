"""A Django template to PDF bytes, through xhtml2pdf (HTML/CSS → ReportLab).

Why xhtml2pdf (docs/architecture.md "Documents"): it installs with pip alone (ReportLab,
Pillow and pure-Python parsers; no system Pango/Cairo as WeasyPrint needs), so `make test`
works on a fresh machine with only Python. Its CSS is a subset (tables, floats-free layout),
which is enough for business documents.

Deterministic output: ReportLab's `invariant` mode fixes the creation date and the document
ID, so the same template and context give the same bytes (the archive and tests rely on it).
"""

from __future__ import annotations

import base64
import io
import mimetypes
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from reportlab import rl_config
from xhtml2pdf import pisa
from xhtml2pdf.default import DEFAULT_CSS

# the documents' CSS, from a file beside this module (no inline styles in templates: see
# tests/core/test_security_headers.py), after xhtml2pdf's own defaults
_STYLE_SHEET = (Path(__file__).parent / "pdf.css").read_text()

# fixed /CreationDate and /ID in every PDF ReportLab writes in this process
rl_config.invariant = 1


class RenderingFailed(RuntimeError):
    """A template xhtml2pdf could not lay out: a programming error, not bad input."""


def _logo_data_uri(path: str) -> str:
    """The logo file as a data: URI, read by us (xhtml2pdf's resource policy refuses local files
    outside the working directory, and the renderer then fetches nothing at all)."""
    if not path or not Path(path).is_file():
        return ""
    mime = mimetypes.guess_type(path)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def company() -> dict:
    """The company block every document shows (settings ERP COMPANY_*)."""
    erp = settings.ERP
    return {
        "name": erp.get("COMPANY_NAME", ""),
        "address_lines": [ln for ln in (erp.get("COMPANY_ADDRESS") or "").splitlines() if ln.strip()],
        "tax_id": erp.get("COMPANY_TAX_ID", ""),
        "email": erp.get("COMPANY_EMAIL", ""),
        "logo": _logo_data_uri(erp.get("COMPANY_LOGO") or ""),
        "currency": erp.get("CURRENCY", ""),
    }


def _link_callback(uri: str, rel: str) -> str:
    """Only an inline image (the logo) may be loaded: nothing from disk or the network."""
    return uri if uri.startswith("data:image/") else ""


def render_html(template: str, context: dict) -> str:
    return render_to_string(template, {"company": company(), **context})


def render_pdf(template: str, context: dict) -> bytes:
    """Render `template` with `context` (plus `company`) to PDF bytes."""
    html = render_html(template, context)
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8", link_callback=_link_callback,
                            default_css=DEFAULT_CSS + _STYLE_SHEET)
    if result.err:
        raise RenderingFailed(f"{template}: {result.err} error(s) while rendering the PDF.")
    return out.getvalue()
