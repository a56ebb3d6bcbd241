"""Bank statement parsers: ISO 20022 CAMT.053 XML, OFX (1.x SGML and 2.x XML) and CSV with
a per-bank column mapping. Each returns a ParsedStatement or raises StatementRejected naming
the line and the reason; nothing here touches the database.

- OFX is parsed by ofxtools (maintained; ofxparse has had no release since 2021).
- CAMT.053 is read with defusedxml's ElementTree (no external entities, no entity bombs).
  The element walk is written here because no maintained, widely used CAMT reader exists on
  PyPI; it reads the fields every camt.053.001.0x version shares (Stmt/Acct/Bal/Ntry).
- CSV uses the stdlib csv module with the bank's BankCsvMapping.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from django.utils.translation import gettext_lazy as _
from ofxtools.Parser import OFXTree

from core.exceptions import ValidationFailed

CAMT053_NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."


class StatementRejected(ValidationFailed):
    """The file cannot be imported as it is (422): its problems are in `errors`."""

    http_status = 422
    code = "statement_rejected"
    title = _("The bank statement cannot be imported")


@dataclass
class ParsedLine:
    booking_date: date
    amount: Decimal  # signed: in > 0, out < 0
    reference: str = ""
    description: str = ""
    counterparty: str = ""
    counterparty_iban: str = ""
    bank_id: str = ""
    value_date: date | None = None


@dataclass
class ParsedStatement:
    format: str
    account_id: str = ""  # IBAN (CAMT) or the bank's account id (OFX); empty for CSV
    currency: str = ""
    statement_id: str = ""
    date_from: date | None = None
    date_to: date | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    lines: list[ParsedLine] = field(default_factory=list)


def _reject(detail: str, errors: dict[str, list[str]]):
    raise StatementRejected(detail, errors=errors)


def detect_format(data: bytes) -> str:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    if head.startswith(b"OFXHEADER") or b"<OFX>" in head or b"<?OFX" in head:
        return "ofx"
    if head.startswith(b"<"):
        return "camt053"
    return "csv"


# --- CAMT.053 -------------------------------------------------------------------------------------

def _decimal(text: str | None, where: str) -> Decimal:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        _reject(f"{where}: {text!r} is not an amount.", {where: [f"{text!r} is not an amount"]})
    if not value.is_finite():
        _reject(f"{where}: {text!r} is not an amount.", {where: [f"{text!r} is not an amount"]})
    return value


def _iso_date(text: str | None, where: str) -> date:
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        _reject(f"{where}: {text!r} is not a date.", {where: [f"{text!r} is not an ISO date"]})


def parse_camt053(data: bytes) -> ParsedStatement:
    try:
        root = SafeET.fromstring(data)
    except DefusedXmlException as exc:
        _reject("The XML uses entities or DTDs, which are refused.", {"file": [str(exc) or type(exc).__name__]})
    except SafeET.ParseError as exc:
        _reject(f"The file is not well-formed XML: {exc}.", {"file": [f"not well-formed XML: {exc}"]})
    tag = root.tag
    ns = tag[1:].split("}")[0] if tag.startswith("{") else ""
    if not ns.startswith(CAMT053_NS_PREFIX) or not tag.endswith("}Document"):
        _reject(f"Not a CAMT.053 document (root element {tag!r}).",
                {"file": [f"root element {tag!r} is not a camt.053 Document"]})
    n = {"c": ns}

    def text(el, path):
        found = el.find(path, n)
        return found.text.strip() if found is not None and found.text else ""

    stmts = root.findall("c:BkToCstmrStmt/c:Stmt", n)
    if not stmts:
        _reject("The CAMT.053 document has no statement (BkToCstmrStmt/Stmt).",
                {"file": ["missing BkToCstmrStmt/Stmt"]})
    if len(stmts) > 1:
        _reject("Import one statement (Stmt) per file.", {"file": [f"{len(stmts)} Stmt elements; give one"]})
    stmt = stmts[0]
    out = ParsedStatement(format="camt053", statement_id=text(stmt, "c:Id"),
                          account_id=text(stmt, "c:Acct/c:Id/c:IBAN") or text(stmt, "c:Acct/c:Id/c:Othr/c:Id"),
                          currency=text(stmt, "c:Acct/c:Ccy"))
    if not out.account_id:
        _reject("The statement does not name its account (Stmt/Acct/Id/IBAN).", {"file": ["missing Stmt/Acct/Id"]})
    for i, bal in enumerate(stmt.findall("c:Bal", n)):
        kind = text(bal, "c:Tp/c:CdOrPrtry/c:Cd")
        amount = _decimal(text(bal, "c:Amt"), f"balances.{i}.amount")
        if text(bal, "c:CdtDbtInd") == "DBIT":
            amount = -amount
        on = text(bal, "c:Dt/c:Dt") or text(bal, "c:Dt/c:DtTm")
        if kind in ("OPBD", "PRCD"):
            out.opening_balance = amount
            out.date_from = _iso_date(on, f"balances.{i}.date") if on else None
        elif kind in ("CLBD",):
            out.closing_balance = amount
            out.date_to = _iso_date(on, f"balances.{i}.date") if on else None
    errors: dict[str, list[str]] = {}
    for i, ntry in enumerate(stmt.findall("c:Ntry", n), start=1):
        key = f"lines.{i}"
        missing = [p for p, path in (("Amt", "c:Amt"), ("CdtDbtInd", "c:CdtDbtInd")) if not text(ntry, path)]
        booked = text(ntry, "c:BookgDt/c:Dt") or text(ntry, "c:BookgDt/c:DtTm")
        if not booked:
            missing.append("BookgDt")
        if missing:
            errors[key] = [f"entry {i}: missing {', '.join(missing)}"]
            continue
        indicator = text(ntry, "c:CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            errors[key] = [f"entry {i}: CdtDbtInd {indicator!r} is neither CRDT nor DBIT"]
            continue
        amount = _decimal(text(ntry, "c:Amt"), f"{key}.amount")
        amt_el = ntry.find("c:Amt", n)
        if out.currency and amt_el is not None and amt_el.get("Ccy") and amt_el.get("Ccy") != out.currency:
            errors[key] = [f"entry {i}: currency {amt_el.get('Ccy')} differs from the account's {out.currency}"]
            continue
        tx = ntry.find("c:NtryDtls/c:TxDtls", n)
        ref = desc = party = party_iban = ""
        if tx is not None:
            e2e = text(tx, "c:Refs/c:EndToEndId")
            ref = text(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref") or (e2e if e2e != "NOTPROVIDED" else "")
            desc = " ".join(u.text.strip() for u in tx.findall("c:RmtInf/c:Ustrd", n) if u.text)
            side = "Dbtr" if indicator == "CRDT" else "Cdtr"
            party = text(tx, f"c:RltdPties/c:{side}/c:Nm") or text(tx, f"c:RltdPties/c:{side}/c:Pty/c:Nm")
            party_iban = text(tx, f"c:RltdPties/c:{side}Acct/c:Id/c:IBAN")
        desc = desc or text(ntry, "c:AddtlNtryInf")
        out.lines.append(ParsedLine(
            booking_date=_iso_date(booked, f"{key}.booking_date"),
            value_date=_iso_date(text(ntry, "c:ValDt/c:Dt"), f"{key}.value_date") if text(ntry, "c:ValDt/c:Dt")
            else None,
            amount=amount if indicator == "CRDT" else -amount, reference=(ref or desc)[:140],
            description=desc[:500], counterparty=party[:140], counterparty_iban=party_iban[:34],
            bank_id=(text(ntry, "c:AcctSvcrRef") or text(ntry, "c:NtryRef"))[:80]))
    if errors:
        _reject("Some entries of the CAMT.053 statement are invalid.", errors)
    return out


# --- OFX ------------------------------------------------------------------------------------------

def parse_ofx(data: bytes) -> ParsedStatement:
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(data))
        ofx = tree.convert()
    except Exception as exc:  # ofxtools raises ParseError, OFXHeaderError, ValueError, IndexError…
        _reject(f"The OFX file cannot be read: {type(exc).__name__}: {exc}".strip(),
                {"file": [f"invalid or truncated OFX ({type(exc).__name__}: {exc})"]})
    statements = list(getattr(ofx, "statements", []) or [])
    if len(statements) != 1:
        _reject("The OFX file must hold exactly one bank statement.",
                {"file": [f"{len(statements)} statements found; give one"]})
    st = statements[0]
    account = getattr(st, "account", None)
    out = ParsedStatement(format="ofx", account_id=str(getattr(account, "acctid", "") or ""),
                          currency=str(getattr(st, "curdef", "") or ""))
    txs = st.banktranlist
    if txs is not None:
        out.date_from = txs.dtstart.date() if txs.dtstart else None
        out.date_to = txs.dtend.date() if txs.dtend else None
    if getattr(st, "ledgerbal", None) is not None:
        out.closing_balance = Decimal(st.ledgerbal.balamt)
    for tx in (txs or []):
        amount = Decimal(tx.trnamt)
        ref = str(tx.refnum or tx.checknum or tx.name or "")
        desc = " ".join(str(x) for x in (tx.name, tx.memo) if x)
        out.lines.append(ParsedLine(booking_date=tx.dtposted.date(), amount=amount, reference=ref[:140],
                                    description=desc[:500], counterparty=str(tx.name or "")[:140],
                                    bank_id=str(tx.fitid or "")[:80]))
    return out


# --- CSV ------------------------------------------------------------------------------------------

def parse_csv(data: bytes, mapping) -> ParsedStatement:
    """`mapping` is a finance BankCsvMapping (column names per field)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        _reject("The CSV file is not UTF-8 text.", {"file": ["not UTF-8 text"]})
    reader = csv.DictReader(io.StringIO(text), delimiter=mapping.delimiter or ",")
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in mapping.required_columns() if c not in header]
    if missing:
        _reject(f"The CSV lacks the column(s) {', '.join(missing)} of mapping {mapping.name!r}.",
                {"file": [f"missing column {c!r}" for c in missing]})
    out = ParsedStatement(format="csv")
    errors: dict[str, list[str]] = {}

    def amount_of(raw: str, where: str) -> Decimal | None:
        raw = (raw or "").strip().replace(" ", "")
        if not raw:
            return None
        if mapping.decimal_separator == ",":
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            errors.setdefault(where, []).append(f"{raw!r} is not an amount")
            return None
        if not value.is_finite():
            errors.setdefault(where, []).append(f"{raw!r} is not an amount")
            return None
        return value

    for i, row in enumerate(reader, start=2):  # line 1 is the header
        row = {(k or "").strip(): (v or "") for k, v in row.items()}
        key = f"lines.{i}"
        try:
            on = datetime.strptime(row[mapping.date_column].strip(), mapping.date_format).date()
        except ValueError:
            errors.setdefault(f"{key}.date", []).append(
                f"line {i}: {row[mapping.date_column]!r} does not match {mapping.date_format}")
            continue
        if mapping.amount_column:
            amount = amount_of(row[mapping.amount_column], f"{key}.amount")
        else:
            out_amt = amount_of(row[mapping.debit_column], f"{key}.debit") or Decimal("0")
            in_amt = amount_of(row[mapping.credit_column], f"{key}.credit") or Decimal("0")
            amount = in_amt - out_amt
        if amount is None or amount == 0:
            if f"{key}.amount" not in errors:
                errors.setdefault(f"{key}.amount", []).append(f"line {i}: no amount")
            continue
        out.lines.append(ParsedLine(
            booking_date=on, amount=amount, reference=row[mapping.reference_column].strip()[:140],
            description=row.get(mapping.description_column, "").strip()[:500] if mapping.description_column else "",
            counterparty=row.get(mapping.counterparty_column, "").strip()[:140] if mapping.counterparty_column else "",
            bank_id=row.get(mapping.bank_id_column, "").strip()[:80] if mapping.bank_id_column else ""))
    if errors:
        _reject("Some lines of the CSV are invalid.", errors)
    if out.lines:
        out.date_from = min(ln.booking_date for ln in out.lines)
        out.date_to = max(ln.booking_date for ln in out.lines)
    return out
