"""A small, strict X12 codec (parser and writer) for the envelope and the sets we exchange.

Hand-written on purpose: the maintained Python X12 libraries target the healthcare (HIPAA)
transaction sets, not 850/855/856/810/997, and the envelope rules we need are few.

Separators come from the ISA segment, which is fixed-width (106 characters): the element
separator is character 4, the component separator ISA16 (character 105) and the segment
terminator character 106. Line breaks after a terminator are tolerated. Every error names
the segment number (1-based within the interchange), the segment id and the element.

Envelope rules checked: ISA has 16 elements and a 9-digit control number equal to IEA02;
IEA01 = number of groups; GS06 = GE02; GE01 = number of sets in the group; ST02 = SE02;
SE01 = number of segments from ST to SE inclusive; nothing after IEA.

Numeric elements (N0 counts and control numbers, R decimals) accept ASCII only: Python's
`str.isdigit()`, `\\d`, `int()` and `Decimal()` also take "²", Arabic-Indic or full-width digits
and "1_000", none of which is X12. `count()` and `decimal()` are the only ways this module and
edi.py read a number, and every refusal is an X12Error (so a 997 R, never a crash).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from integrations.exceptions import X12Error

_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_R = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")      # X12 R: optional minus, ASCII digits, one point
_ISA13 = re.compile(r"[0-9]{9}")


def is_ascii_digits(value: str) -> bool:
    """True for one or more ASCII digits only (unlike str.isdigit, which takes '²' or '٣')."""
    return value.isascii() and value.isdigit()


@dataclass(frozen=True)
class Separators:
    element: str = "*"
    component: str = ">"
    segment: str = "~"
    repetition: str = "U"


@dataclass
class Segment:
    id: str
    elements: list[str]          # elements[0] is element 01
    number: int = 0

    def get(self, index: int, default: str = "") -> str:
        return self.elements[index - 1] if 0 < index <= len(self.elements) else default

    def count(self, index: int, name: str) -> int:
        """An N0 element (a count or a numeric control number): ASCII digits or an X12Error."""
        value = self.require(index, name)
        if not is_ascii_digits(value):
            raise X12Error(f"{name} {value[:20]!r} is not a number (ASCII digits only)", segment_number=self.number,
                           segment_id=self.id, element=index)
        return int(value)

    def decimal(self, index: int, name: str) -> str:
        """An R element (a quantity or price) as checked text for Decimal(), or "" when empty."""
        value = self.get(index).strip()
        if value and not _R.fullmatch(value):
            raise X12Error(f"{name} {value[:20]!r} is not a number", segment_number=self.number,
                           segment_id=self.id, element=index)
        return value

    def require(self, index: int, name: str = "") -> str:
        value = self.get(index).strip()
        if not value:
            raise X12Error(f"{name or 'element'} is required", segment_number=self.number, segment_id=self.id,
                           element=index)
        return value


@dataclass
class TransactionSet:
    id: str
    control: str
    segments: list[Segment]      # between ST and SE, exclusive
    st: Segment
    se: Segment
    index: int = 0               # 1-based within the interchange

    def find(self, segment_id: str) -> list[Segment]:
        return [s for s in self.segments if s.id == segment_id]


@dataclass
class FunctionalGroup:
    gs: Segment
    transactions: list[TransactionSet] = field(default_factory=list)

    @property
    def functional_id(self) -> str:
        return self.gs.get(1)

    @property
    def control(self) -> str:
        return self.gs.get(6)


@dataclass
class Interchange:
    isa: Segment
    separators: Separators
    groups: list[FunctionalGroup] = field(default_factory=list)

    @property
    def sender(self) -> tuple[str, str]:
        return self.isa.get(5).strip(), self.isa.get(6).strip()

    @property
    def receiver(self) -> tuple[str, str]:
        return self.isa.get(7).strip(), self.isa.get(8).strip()

    @property
    def control(self) -> str:
        return self.isa.get(13)

    @property
    def transactions(self) -> list[TransactionSet]:
        return [t for g in self.groups for t in g.transactions]


# --- parsing -------------------------------------------------------------------------------------


def detect_separators(text: str) -> Separators:
    if not text.startswith("ISA"):
        raise X12Error("an interchange must begin with an ISA segment", segment_number=1, segment_id="ISA")
    if len(text) < 106:
        raise X12Error(f"the ISA segment is truncated ({len(text)} of 106 characters)", segment_number=1,
                       segment_id="ISA")
    element, component, terminator = text[3], text[104], text[105]
    for name, ch in (("element separator", element), ("component separator", component),
                     ("segment terminator", terminator)):
        if ch.isalnum() or ch == " ":
            raise X12Error(f"bad {name} {ch!r} declared in ISA (must not be a letter, digit or space)",
                           segment_number=1, segment_id="ISA", element=16 if name.startswith("component") else None)
    if len({element, component, terminator}) != 3:
        raise X12Error("element separator, component separator and segment terminator must differ",
                       segment_number=1, segment_id="ISA")
    if text[:106].count(element) != 16:
        raise X12Error(f"the ISA segment must have 16 fixed-width elements separated by {element!r} "
                       f"(found {text[:106].count(element)} separators in its 106 characters)",
                       segment_number=1, segment_id="ISA")
    repetition = text[82] if not text[82].isalnum() else "U"
    return Separators(element=element, component=component, segment=terminator, repetition=repetition)


def tokenize(text: str) -> tuple[Separators, list[Segment]]:
    text = text.lstrip("\ufeff \r\n\t")
    seps = detect_separators(text)
    pieces = text.split(seps.segment)
    if pieces and not pieces[-1].strip("\r\n \t"):
        pieces = pieces[:-1]
    else:
        raise X12Error("the interchange does not end with a segment terminator "
                       f"{seps.segment!r} (truncated?)", segment_number=len(pieces),
                       segment_id=pieces[-1].strip()[:3] if pieces else "")
    segments = []
    for number, raw in enumerate(pieces, start=1):
        raw = raw.strip("\r\n") if seps.segment not in "\r\n" else raw
        if not raw.strip():
            raise X12Error("empty segment", segment_number=number)
        elements = raw.split(seps.element)
        seg_id = elements[0].strip()
        if not _SEGMENT_ID.match(seg_id):
            raise X12Error(f"invalid segment id {seg_id[:10]!r}", segment_number=number, segment_id=seg_id[:3])
        segments.append(Segment(id=seg_id, elements=elements[1:], number=number))
    return seps, segments


def parse(text: str) -> Interchange:
    """Parse and validate one interchange. Raises X12Error at the first problem."""
    seps, segments = tokenize(text)
    isa = segments[0]
    if len(isa.elements) != 16:
        raise X12Error(f"ISA must have 16 elements, found {len(isa.elements)}", segment_number=1, segment_id="ISA")
    if not _ISA13.fullmatch(isa.get(13)):
        raise X12Error("interchange control number must be 9 digits", segment_number=1, segment_id="ISA",
                       element=13)
    if isa.get(15) not in ("P", "T"):
        raise X12Error("usage indicator must be P or T", segment_number=1, segment_id="ISA", element=15)
    interchange = Interchange(isa=isa, separators=seps)
    i, n = 1, len(segments)
    set_index = 0
    while i < n and segments[i].id == "GS":
        gs = segments[i]
        if len(gs.elements) < 8:
            raise X12Error(f"GS must have 8 elements, found {len(gs.elements)}", segment_number=gs.number,
                           segment_id="GS")
        gs.count(6, "group control number")
        group = FunctionalGroup(gs=gs)
        i += 1
        while i < n and segments[i].id == "ST":
            st = segments[i]
            set_index += 1
            st.require(1, "transaction set identifier")
            control = st.require(2, "transaction set control number")
            body: list[Segment] = []
            i += 1
            while i < n and segments[i].id not in ("SE", "ST", "GE", "GS", "IEA"):
                body.append(segments[i])
                i += 1
            if i >= n or segments[i].id != "SE":
                where = segments[i] if i < n else segments[-1]
                raise X12Error(f"transaction set {control} has no SE trailer (found {where.id})",
                               segment_number=where.number, segment_id=where.id, ak_code="2",
                               transaction_index=set_index)
            se = segments[i]
            if se.get(2) != control:
                raise X12Error(f"SE02 {se.get(2)!r} does not match ST02 {control!r}", segment_number=se.number,
                               segment_id="SE", element=2, ak_code="3", transaction_index=set_index)
            count = se.get(1).strip()
            if not is_ascii_digits(count) or int(count) != len(body) + 2:
                raise X12Error(f"SE01 says {count} segments but the set has {len(body) + 2}",
                               segment_number=se.number, segment_id="SE", element=1, ak_code="4",
                               transaction_index=set_index)
            group.transactions.append(TransactionSet(id=st.get(1), control=control, segments=body, st=st, se=se,
                                                     index=set_index))
            i += 1
        if i >= n or segments[i].id != "GE":
            where = segments[i] if i < n else segments[-1]
            raise X12Error(f"expected ST or GE, found {where.id}", segment_number=where.number, segment_id=where.id)
        ge = segments[i]
        if ge.get(2) != group.control:
            raise X12Error(f"GE02 {ge.get(2)!r} does not match GS06 {group.control!r}", segment_number=ge.number,
                           segment_id="GE", element=2)
        if not is_ascii_digits(ge.get(1)) or int(ge.get(1)) != len(group.transactions):
            raise X12Error(f"GE01 says {ge.get(1)!r} transaction sets but the group has {len(group.transactions)}",
                           segment_number=ge.number, segment_id="GE", element=1)
        interchange.groups.append(group)
        i += 1
    if i >= n:
        raise X12Error("missing IEA trailer", segment_number=segments[-1].number, segment_id=segments[-1].id)
    iea = segments[i]
    if iea.id != "IEA":
        raise X12Error(f"expected GS or IEA, found {iea.id}", segment_number=iea.number, segment_id=iea.id)
    if iea.get(2) != isa.get(13):
        raise X12Error(f"IEA02 {iea.get(2)!r} does not match ISA13 {isa.get(13)!r}", segment_number=iea.number,
                       segment_id="IEA", element=2)
    if not is_ascii_digits(iea.get(1)) or int(iea.get(1)) != len(interchange.groups):
        raise X12Error(f"IEA01 says {iea.get(1)!r} functional groups but the interchange has "
                       f"{len(interchange.groups)}", segment_number=iea.number, segment_id="IEA", element=1)
    if i + 1 < n:
        raise X12Error("segments after IEA", segment_number=segments[i + 1].number, segment_id=segments[i + 1].id)
    if not interchange.groups:
        raise X12Error("the interchange contains no functional group", segment_number=iea.number, segment_id="IEA")
    return interchange


def peek_envelope(text: str) -> dict:
    """Best-effort header read of a possibly malformed interchange (for addressing a 997)."""
    try:
        seps, segments = tokenize(text)
    except X12Error:
        try:
            text = text.lstrip("\ufeff \r\n\t")
            seps = detect_separators(text)
            segments = []
            for number, raw in enumerate(text.split(seps.segment), start=1):
                parts = raw.strip("\r\n").split(seps.element)
                if parts and parts[0]:
                    segments.append(Segment(id=parts[0], elements=parts[1:], number=number))
        except X12Error:
            return {}
    isa = segments[0] if segments else None
    gs = next((s for s in segments if s.id == "GS"), None)
    sts = [(s.get(1), s.get(2)) for s in segments if s.id == "ST"]
    return {"sender": (isa.get(5).strip(), isa.get(6).strip()) if isa else None,
            "control": isa.get(13) if isa else "", "usage": isa.get(15).strip() if isa else "",
            "gs_functional_id": gs.get(1) if gs else "",
            "gs_control": gs.get(6) if gs else "", "sets": sts}


# --- writing -------------------------------------------------------------------------------------


def _clean(value, seps: Separators) -> str:
    text = "" if value is None else str(value)
    for ch in (seps.element, seps.segment, seps.component, "\r", "\n"):
        text = text.replace(ch, " ")
    return text


def render_segment(seg_id: str, elements: list, seps: Separators) -> str:
    values = [_clean(v, seps) for v in elements]
    while values and values[-1] == "":
        values.pop()  # trailing empty elements are omitted, as X12 requires
    return seps.element.join([seg_id, *values]) + seps.segment


def build_interchange(*, sender: tuple[str, str], receiver: tuple[str, str], control: int, usage: str,
                      functional_id: str, gs_sender: str, gs_receiver: str, sets: list[tuple[str, list[list]]],
                      now: datetime | None = None, seps: Separators | None = None, version: str = "004010") -> str:
    """Write an interchange with one functional group. `sets` is [(set id, [[seg id, el1, …], …])];
    ST/SE, GS/GE and ISA/IEA (control numbers and counts) are added here."""
    seps = seps or Separators()
    now = now or datetime.utcnow()
    ctrl = f"{control:09d}"
    isa = ["00", " " * 10, "00", " " * 10, sender[0].ljust(2)[:2], sender[1].ljust(15)[:15],
           receiver[0].ljust(2)[:2], receiver[1].ljust(15)[:15], now.strftime("%y%m%d"), now.strftime("%H%M"),
           seps.repetition, "00401", ctrl, "0", usage, seps.component]
    out = [seps.element.join(["ISA", *isa]) + seps.segment]
    out.append(render_segment("GS", [functional_id, gs_sender, gs_receiver, now.strftime("%Y%m%d"),
                                     now.strftime("%H%M"), str(control), "X", version], seps))
    for index, (set_id, body) in enumerate(sets, start=1):
        st_control = f"{index:04d}"
        out.append(render_segment("ST", [set_id, st_control], seps))
        for seg in body:
            out.append(render_segment(seg[0], list(seg[1:]), seps))
        out.append(render_segment("SE", [str(len(body) + 2), st_control], seps))
    out.append(render_segment("GE", [str(len(sets)), str(control)], seps))
    out.append(render_segment("IEA", ["1", ctrl], seps))
    return "\n".join(out) + "\n"
