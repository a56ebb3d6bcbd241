"""A keyboard-wedge scanner on a web page: what the receive and pick screens share.

The scanner types the barcode and Enter into the scan field; the form posts it (no
JavaScript, the strict CSP holds). The first submit button of the form is the scan field's
own "Add" button, so Enter in the field never presses the page's main button by accident
(a browser's implicit submission presses the form's first submit button). The barcode is
decoded by inventory's scan service (GS1-128 / DataMatrix element strings, EAN/UPC); a bad
check digit or an unknown product comes back as the error shown beside the field.
"""

from __future__ import annotations

from core.exceptions import DomainError
from inventory import services as inv


def read_scan(text: str) -> tuple[dict | None, str]:
    """(the decoded scan, "") or (None, the error to show beside the scan field)."""
    try:
        scanned = inv.scan_barcode(barcode=text)
    except DomainError as exc:
        reasons = [str(e) for errs in (exc.errors or {}).values() for e in errs]
        return None, f"{exc.detail}" + (f" ({'; '.join(reasons)})" if reasons else "")
    if not scanned.get("sku"):
        return None, f"No product has the GTIN {scanned.get('gtin')}." if scanned.get("gtin") else "No GTIN in this barcode."
    return scanned, ""
