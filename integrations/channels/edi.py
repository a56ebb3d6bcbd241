"""EDI X12 with trading partners: inbound 850 → orders (+ 997), outbound 855 / 856 / 810.

Inbound: the interchange is parsed strictly (integrations.channels.x12). Any syntax or
structure error rejects the whole interchange: no order is created and a 997 with AK9=R
(and AK5=R for each set, with the error code on the faulty one) is written to the
partner's outbox. A clean interchange gets a 997 with AK9=A; each 850 (one per ST) then
becomes one order whose external_ref is "<partner code>/<PO number>" on channel "edi" (PO
numbers are only unique per partner). Business refusals (unknown SKU…) fail that PO only.

Outbound documents are saved through Django's storage API (core.storage: a local folder by
default, an S3-compatible bucket in production, so any host's worker writes where every host
and the partner pickup read) as ERP["EDI_OUTBOX_PREFIX"]/<partner code>/
"<set>_<reference>_<control>.x12" (a reader never sees half a file) and recorded as
EdiDocument rows listed by the API.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import countries, currencies, numbering, storage
from integrations.channels import x12
from integrations.exceptions import X12Error
from integrations.inbound import OrderDraft, Parsed, register_parser
from integrations.models import EdiDocument, EdiPartner, InboundMessage
from sales.services import CanonicalLine, CanonicalOrder, ShipTo

log = structlog.get_logger(__name__)
CHANNEL = "edi"
PART_QUALIFIERS = ("VP", "SK")   # vendor part number / stock keeping unit = our SKU
BASE_UOMS = ("", "EA")
FUNCTIONAL_IDS = {"850": "PO", "855": "PR", "856": "SH", "810": "IN", "997": "FA"}


def po_reference(partner: EdiPartner, po_number: str) -> str:
    return f"{partner.code}/{po_number}"


def po_number_of(partner: EdiPartner, external_ref: str, fallback: str) -> str:
    prefix = f"{partner.code}/"
    if external_ref.startswith(prefix):
        return external_ref[len(prefix):]
    return external_ref or fallback


def find_partner(qualifier: str, isa_id: str) -> EdiPartner | None:
    return (EdiPartner.objects.select_related("customer")
            .filter(isa_qualifier=qualifier.strip(), isa_id=isa_id.strip(), is_active=True).first())


def external_id_for(text: str) -> tuple[str, str]:
    """(external id, source) of an interchange, read leniently: "<ISA05>:<ISA06>:<ISA13>:<ISA15>".

    The duplicate key of an interchange is its sender, control number and usage indicator: a
    test (T) interchange does not make the production (P) one with the same number a duplicate.
    Messages stored before ISA15 joined the key keep "<ISA05>:<ISA06>:<ISA13>"; a resend of one
    is processed again, and sales still refuses a second order for the same PO (channel,
    external_ref)."""
    info = x12.peek_envelope(text)
    if not info or not info.get("sender"):
        return "", ""
    qualifier, sender = info["sender"]
    return f"{qualifier}:{sender}:{info['control']}:{info.get('usage') or ''}", sender


# --- inbound 850 -----------------------------------------------------------------------------------


def _decimal(seg: x12.Segment, index: int, name: str, *, required: bool, positive: bool = False) -> Decimal | None:
    raw = seg.decimal(index, name)  # ASCII digits only: Decimal() alone would take "٣" or "1_000"
    if not raw:
        if required:
            raise X12Error(f"{name} is required", segment_number=seg.number, segment_id=seg.id, element=index)
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise X12Error(f"{name} {raw!r} is not a number", segment_number=seg.number, segment_id=seg.id,
                       element=index) from None
    if not value.is_finite() or (positive and value <= 0) or value < 0:
        raise X12Error(f"{name} {raw!r} must be {'greater than zero' if positive else 'zero or more'}",
                       segment_number=seg.number, segment_id=seg.id, element=index)
    return value


def _sku(po1: x12.Segment) -> str:
    pairs = [(po1.get(i).strip(), po1.get(i + 1).strip()) for i in range(6, len(po1.elements) + 1, 2)]
    for wanted in PART_QUALIFIERS:
        for qualifier, value in pairs:
            if qualifier == wanted and value:
                return value
    raise X12Error(f"no product id with qualifier {' or '.join(PART_QUALIFIERS)} (found "
                   f"{', '.join(q for q, _ in pairs if q) or 'none'})", segment_number=po1.number, segment_id="PO1",
                   element=6)


def _address(segments: list[x12.Segment]) -> str | None:
    """The ship-to party (N1*ST with its N2/N3/N4) as address text."""
    lines: list[str] = []
    in_st = False
    for seg in segments:
        if seg.id == "N1":
            if in_st:
                break
            in_st = seg.get(1) == "ST"
            if in_st and seg.get(2):
                lines.append(seg.get(2))
        elif in_st and seg.id in ("N2", "N3"):
            lines.extend(v for v in seg.elements if v)
        elif in_st and seg.id == "N4":
            lines.append(" ".join(v for v in (seg.get(1), seg.get(2), seg.get(3)) if v))
            if seg.get(4):
                lines.append(seg.get(4))
        elif seg.id == "PO1":
            break
    return "\n".join(lines) or None


def _ship_to(segments: list[x12.Segment]) -> ShipTo | None:
    """The ship-to party (N1*ST, N3, N4) as a structured ship-to, when it names a street, city,
    postcode and a known country; otherwise None (the address text above still travels, so a
    PO is never refused for its address)."""
    name, street, n4 = "", [], None
    in_st = False
    for seg in segments:
        if seg.id == "N1":
            if in_st:
                break
            in_st = seg.get(1) == "ST"
            name = seg.get(2) if in_st else name
        elif in_st and seg.id == "N3":
            street.extend(v for v in seg.elements if v)
        elif in_st and seg.id == "N4":
            n4 = seg
        elif seg.id == "PO1":
            break
    if not (in_st or name) or n4 is None or not street:
        return None
    country = (n4.get(4) or "").strip().upper()
    fields = {"name": name[:200], "line1": street[0][:200], "line2": " ".join(street[1:])[:200],
              "city": n4.get(1)[:100], "region": n4.get(2)[:100], "postcode": n4.get(3)[:20], "country": country}
    if not all(fields[k] for k in ("name", "line1", "city", "postcode")) or not countries.is_known(country):
        return None
    return ShipTo(**fields)


def purchase_order_draft(ts: x12.TransactionSet, partner: EdiPartner) -> OrderDraft:
    """One 850 set → a canonical order. Raises X12Error naming the segment and element, and the
    set (its index, and AK5 code 5 "one or more segments in error" unless a more precise one is
    known), so that the 997 flags the faulty set."""
    try:
        return _purchase_order_draft(ts, partner)
    except X12Error as exc:
        if exc.transaction_index is None:  # an element error (PO1, BEG…) found below
            exc.transaction_index = ts.index
            exc.ak_code = exc.ak_code or "5"
        raise


CHANGE_REFUSAL = ("order changes are not accepted by EDI: the order stays as first sent; ask us to amend it "
                  "(sales/orders/{id}/amend/ in the API) or cancel it and send a new 850")


def _currency(ts: x12.TransactionSet) -> str | None:
    """The buyer's currency from `CUR*BY*EUR` (CUR01 BY = buying party, CUR02 the ISO 4217 code);
    absent, the order is in the customer's currency. An unknown code is refused by intake."""
    for cur in ts.find("CUR"):
        if cur.get(1).strip().upper() in ("BY", ""):
            code = cur.get(2).strip().upper()
            if len(code) != 3 or not code.isalpha():
                raise X12Error(f"CUR02 {cur.get(2)!r} is not a three-letter currency code",
                               segment_number=cur.number, segment_id="CUR", element=2, ak_code="5")
            return code
    return None


def _purchase_order_draft(ts: x12.TransactionSet, partner: EdiPartner) -> OrderDraft:
    if ts.id == "860":
        raise X12Error(f"transaction set 860 (purchase order change) is not supported: {CHANGE_REFUSAL}",
                       segment_number=ts.st.number, segment_id="ST", element=1, ak_code="1",
                       transaction_index=ts.index)
    if ts.id != "850":
        raise X12Error(f"transaction set {ts.id} is not supported here (expected 850)", segment_number=ts.st.number,
                       segment_id="ST", element=1, ak_code="1", transaction_index=ts.index)
    begs = ts.find("BEG")
    if not begs:
        raise X12Error("BEG segment is missing", segment_number=ts.st.number, segment_id="ST", ak_code="5",
                       transaction_index=ts.index)
    if begs[0].get(1).strip() == "04":
        raise X12Error(f"BEG01 04 (change) is not supported: {CHANGE_REFUSAL}", segment_number=begs[0].number,
                       segment_id="BEG", element=1, ak_code="5", transaction_index=ts.index)
    po_number = begs[0].require(3, "purchase order number")
    lines, po1s = [], ts.find("PO1")
    if not po1s:
        raise X12Error("the purchase order has no PO1 line", segment_number=ts.se.number, segment_id="SE",
                       ak_code="5", transaction_index=ts.index)
    for po1 in po1s:
        quantity = _decimal(po1, 2, "quantity", required=True, positive=True)
        uom = po1.get(3).strip().upper()
        price = _decimal(po1, 4, "unit price", required=False)
        lines.append(CanonicalLine(sku=_sku(po1), quantity=quantity, unit_price=price,
                                   uom=None if uom in BASE_UOMS else uom))
    for ctt in ts.find("CTT"):
        if ctt.count(1, "number of line items") != len(po1s):
            raise X12Error(f"CTT01 says {ctt.get(1)!r} line items but the order has {len(po1s)}",
                           segment_number=ctt.number, segment_id="CTT", element=1, ak_code="5",
                           transaction_index=ts.index)
    canonical = CanonicalOrder(customer_code=partner.customer.code, channel=CHANNEL,
                               external_ref=po_reference(partner, po_number), lines=lines,
                               shipping_address=_address(ts.segments), ship_to=_ship_to(ts.segments),
                               requested_by_partner=True, currency=_currency(ts))
    return OrderDraft(canonical=canonical, ref=po_number, meta={"po_number": po_number, "set_control": ts.control})


@register_parser(CHANNEL)
def parse_message(message: InboundMessage) -> Parsed:
    try:
        text = bytes(message.body).decode("utf-8")
    except UnicodeDecodeError as exc:
        return Parsed(fatal=f"The interchange is not valid UTF-8 text (byte {exc.start}).",
                      errors=[{"message": "not UTF-8", "byte": exc.start}])
    info = x12.peek_envelope(text)
    partner = find_partner(*info["sender"]) if info.get("sender") else None
    try:
        interchange = x12.parse(text)
        if partner is None:
            q, sender = interchange.sender
            raise X12Error(f"unknown trading partner {q}:{sender} (ISA05/ISA06)", segment_number=1,
                           segment_id="ISA", element=6)
        drafts = [purchase_order_draft(ts, partner) for ts in interchange.transactions]
    except (X12Error, ValueError, IndexError, ArithmeticError) as exc:
        if not isinstance(exc, X12Error):
            # a check this codec lacks must still answer the partner with a 997 R, not a crash
            log.exception("x12_unexpected_parse_error", message_id=message.pk)
            exc = X12Error(f"unreadable interchange ({type(exc).__name__})")
        error = {"message": exc.detail, "segment": exc.segment_number, "segment_id": exc.segment_id,
                 "element": exc.element}
        after = (lambda m, outcome, error=exc: write_997(partner=partner, info=info, error=error, message=m)
                 ) if partner else None
        return Parsed(fatal=exc.detail, errors=[error], after=after)
    return Parsed(drafts=drafts,
                  after=lambda m, outcome: write_997(partner=partner, info=info, error=None, message=m))


# --- outbound documents -------------------------------------------------------------------------------


def control_series_key(partner_id: int) -> str:
    """The partner's interchange control numbers: a core.NumberSeries per partner."""
    return f"edi.control.{partner_id}"


def _next_control(partner_id: int) -> tuple[EdiPartner, int]:
    """Lock the partner, then take its next control number (ISA13: 1 … 999999999, then 1
    again) from its gap-free series, in the caller's transaction."""
    partner = EdiPartner.objects.select_for_update().get(pk=partner_id)
    value = numbering.take(control_series_key(partner.pk), padding=9).first
    return partner, (value - 1) % 999_999_999 + 1


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:60] or "doc"


@transaction.atomic
def write_document(*, partner: EdiPartner, set_id: str, body: list[list], reference: str, order_id=None,
                   event_id=None, inbound_message=None, correlation_id: str = "",
                   files: list | None = None) -> EdiDocument:
    """Envelope one transaction set for a partner, record it and write its file.

    With `files` (a list) the file is not written but appended as (path, content) for the
    caller to write with write_files once all its documents are recorded: a batch that fails
    half-way then leaves no file behind for documents it rolled back."""
    partner, control = _next_control(partner.pk)
    content = x12.build_interchange(
        sender=(partner.our_qualifier, partner.our_id), receiver=(partner.isa_qualifier, partner.isa_id),
        control=control, usage=partner.usage, functional_id=FUNCTIONAL_IDS[set_id],
        gs_sender=partner.our_gs_id or partner.our_id, gs_receiver=partner.gs_id or partner.isa_id,
        sets=[(set_id, body)], now=timezone.now().replace(tzinfo=None))
    filename = f"{set_id}_{_safe(reference)}_{control:09d}.x12"
    document = EdiDocument.objects.create(
        partner=partner, transaction_set=set_id, control_number=control, filename=f"{partner.code}/{filename}",
        content=content, order_id=order_id, reference=reference[:120], event_id=event_id,
        inbound_message=inbound_message, correlation_id=correlation_id)
    out = (outbox_name(document), content)
    if files is None:
        write_files([out])
    else:
        files.append(out)
    return document


def outbox_name(document: EdiDocument) -> str:
    """The document's name in the shared storage (core.storage.files())."""
    return f"{settings.ERP['EDI_OUTBOX_PREFIX'].strip('/')}/{document.filename}"


def write_files(files: list[tuple[str, str]]) -> None:
    """Save documents' files into the partners' folders of the shared storage. The name holds
    the partner's unique control number, so it is new; a storage that already has it (a retried
    batch after a crash) keeps the first file, whose content is the same document."""
    for name, content in files:
        if storage.files().exists(name):
            continue
        storage.save_text(name, content)


def lock_partners(partner_ids) -> None:
    """Lock partners' rows (their control-number counters) in id order: a transaction that writes
    documents for several partners takes them in one order, so two never deadlock."""
    ids = sorted({pk for pk in partner_ids})
    if ids:
        list(EdiPartner.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def write_997(*, partner: EdiPartner, info: dict, error: X12Error | None, message: InboundMessage) -> EdiDocument:
    """The functional acknowledgement: AK9 A when the interchange was accepted, R otherwise."""
    sets = info.get("sets") or []
    body: list[list] = [["AK1", info.get("gs_functional_id") or "PO", info.get("gs_control") or ""]]
    for index, (set_id, control) in enumerate(sets, start=1):
        body.append(["AK2", set_id, control])
        if error is None:
            body.append(["AK5", "A"])
        elif error.transaction_index == index and error.ak_code:
            body.append(["AK5", "R", error.ak_code])
        else:
            body.append(["AK5", "R"])
    n = len(sets)
    body.append(["AK9", "A" if error is None else "R", str(n), str(n), str(n if error is None else 0)])
    return write_document(partner=partner, set_id="997", body=body, reference=info.get("control") or "unknown",
                          inbound_message=message, correlation_id=message.correlation_id)


def _d(value) -> str:
    text = format(Decimal(str(value)).normalize(), "f") if value not in (None, "") else "0"
    return text


def _yyyymmdd(value: str | None) -> str:
    if not value:
        return timezone.now().strftime("%Y%m%d")
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).strftime("%Y%m%d")


def _price_changed(line: dict) -> bool:
    """The buyer asked for another price than the one accepted (release-hold chose ours)."""
    requested = line.get("requested_unit_price")
    return requested not in (None, "") and Decimal(str(requested)) != Decimal(str(line.get("unit_price") or "0"))


def build_855(data: dict, partner: EdiPartner, *, order_date: str | None = None) -> list[list]:
    """The purchase order acknowledgment, one PO1 per line at the accepted unit price (PO104).

    ACK01 per line (X12 line item status codes): IA item accepted, IP item accepted — price
    changed (release-hold kept our price, not the buyer's: PO104 is the price we will
    invoice), IB item backordered. BAK02 is AC (acknowledge with detail and change), AH
    (hold) while something is backordered."""
    po = po_number_of(partner, data.get("external_ref") or "", data["order_number"])
    body: list[list] = [["BAK", "00", "AC" if not _has_backorder(data) else "AH", po, _yyyymmdd(order_date),
                         "", "", "", data["order_number"]]]
    body += _cur(data)
    for n, line in enumerate(data.get("lines", []), start=1):
        body.append(["PO1", str(n), _d(line["quantity"]), "EA", _d(line.get("unit_price")), "", "VP", line["sku"]])
        changed = _price_changed(line)
        backordered = Decimal(str(line.get("quantity_backordered") or "0"))
        accepted = Decimal(str(line["quantity"])) - backordered - Decimal(str(line.get("quantity_cancelled") or "0"))
        if accepted > 0:
            body.append(["ACK", "IP" if changed else "IA", _d(accepted), "EA"])
        if backordered > 0:
            body.append(["ACK", "IB", _d(backordered), "EA"])
    body.append(["CTT", str(len(data.get("lines", [])))])
    return body


def _cur(data: dict) -> list[list]:
    """`CUR*SE*EUR` (seller's currency) when the document is not in the company currency, so a
    buyer reading amounts knows their currency; company-currency documents stay as before."""
    currency = (data.get("currency") or "").upper()
    return [["CUR", "SE", currency]] if currency and currency != currencies.company_currency() else []


def _has_backorder(data: dict) -> bool:
    return any(Decimal(str(line.get("quantity_backordered") or "0")) > 0 for line in data.get("lines", []))


def build_856(data: dict, partner: EdiPartner, *, po: str) -> list[list]:
    shipped = datetime.fromisoformat(str(data["shipped_at"]).replace("Z", "+00:00"))
    body: list[list] = [["BSN", "00", data["shipment_number"], shipped.strftime("%Y%m%d"), shipped.strftime("%H%M")],
                        ["HL", "1", "", "S"],
                        ["DTM", "011", shipped.strftime("%Y%m%d")]]
    if data.get("tracking_number"):
        body.append(["REF", "CN", data["tracking_number"]])
    if data.get("warehouse_code"):
        body.append(["N1", "SF", data["warehouse_code"]])
    body += [["HL", "2", "1", "O"], ["PRF", po, "", "", "", "", data["order_number"]]]
    hl = 2
    for line in data.get("lines", []):
        lots = line.get("lots") or []
        if not lots:
            hl += 1
            body += [["HL", str(hl), "2", "I"], ["LIN", "", "VP", line["sku"]], ["SN1", "", _d(line["quantity"]), "EA"]]
            continue
        for lot in lots:  # one item level per lot: LIN …*LT*lot, its expiry (DTM*036), serials (REF*SE)
            hl += 1
            lin = ["LIN", "", "VP", line["sku"]] + (["LT", lot["lot"]] if lot.get("lot") else [])
            body += [["HL", str(hl), "2", "I"], lin, ["SN1", "", _d(lot["quantity"]), "EA"]]
            if lot.get("expiry_date"):
                body.append(["DTM", "036", str(lot["expiry_date"]).replace("-", "")])
            body += [["REF", "SE", serial] for serial in lot.get("serials") or []]
    body.append(["CTT", str(hl)])
    return body


def build_810(data: dict, partner: EdiPartner, *, po: str, issued: str | None = None) -> list[list]:
    body: list[list] = [["BIG", _yyyymmdd(issued), data["invoice_number"], "", po]]
    body += _cur(data)
    if data.get("order_number"):
        body.append(["REF", "CO", data["order_number"]])
    goods = [line for line in data.get("lines", []) if not line.get("charge_kind")]
    for n, line in enumerate(goods, start=1):
        body.append(["IT1", str(n), _d(line["quantity"]), "EA", _d(line["unit_price"]), "", "VP", line["sku"]])
        if line.get("discount_percent") not in (None, "", "0", "0.00"):
            # a line discount: SAC allowance C310 (discount) with its percent (SAC06 qualifier 3 =
            # discount/gross, SAC07 percent) and amount in cents (SAC05)
            gross = Decimal(str(line["quantity"])) * Decimal(str(line["unit_price"]))
            cents = int(((gross - Decimal(str(line["amount"]))) * 100).to_integral_value())
            body.append(["SAC", "A", "C310", "", "", str(cents), "3", _d(line["discount_percent"])])
    for line in data.get("lines", []):
        if line.get("charge_kind"):
            # an order charge: SAC C (charge) with its code (D240 freight, H090 special handling,
            # ZZZZ mutually defined), amount in cents (SAC05) and description (SAC15)
            code = {"shipping": "D240", "handling": "H090"}.get(line["charge_kind"], "ZZZZ")
            cents = int((Decimal(str(line["amount"])) * 100).to_integral_value())
            body.append(["SAC", "C", code, "", "", str(cents), "", "", "", "", "", "", "", "",
                         (line.get("description") or line["charge_kind"])[:80]])
    total_cents = int((Decimal(str(data["total"])) * 100).to_integral_value())
    body.append(["TDS", str(total_cents)])
    if Decimal(str(data.get("tax") or "0")) != 0:
        body.append(["TXI", "TX", _d(data["tax"])])
    body.append(["CTT", str(len(goods))])
    return body


def partner_for_customer(customer_id) -> EdiPartner | None:
    if customer_id is None:
        return None
    return EdiPartner.objects.filter(customer_id=customer_id, is_active=True).first()


def partners_for_customers(customer_ids) -> dict:
    """{customer id: its active EDI partner} for several customers in one query."""
    ids = {c for c in customer_ids if c is not None}
    if not ids:
        return {}
    return {p.customer_id: p for p in EdiPartner.objects.filter(customer_id__in=ids, is_active=True)}
