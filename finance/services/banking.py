"""Bank statements: import (CAMT.053, OFX, CSV), automatic and manual matching.

Import writes the statement and its new lines in one transaction, or nothing (a bad file is
refused with the line and the reason). A line already imported — same bank account,
booking date, amount, reference and bank transaction id — is skipped, and the same file
twice is the same statement.

Matching turns a line into what it records, through finance's own services: a customer
payment allocated to invoices (receive_payment), a supplier payment of bills (pay_supplier),
the clearing of a payment, supplier payment or refund recorded earlier, or a posting to an
account (bank fees, interest). Every cash posting uses the bank account's GL account. A line
is locked while it is matched and only its open amount can be matched, so matching twice
creates nothing new.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from core import context, currencies
from core.exceptions import DomainError
from core.money import q2
from finance import locks, posting
from finance.banking import parsers
from finance.banking.parsers import StatementRejected
from finance.exceptions import FinanceNotFound, OverAllocation, ValidationFailed
from finance.models import (
    Account,
    BankAccount,
    BankCsvMapping,
    BankLineMatch,
    BankMatchRule,
    BankStatement,
    BankStatementLine,
    Invoice,
    JournalEntry,
    Payment,
    Refund,
    SupplierBill,
    SupplierPayment,
)
from finance.services import terms
from finance.services.bills import pay_supplier
from finance.services.payments import AllocationInput, receive_payment
from inventory import selectors as inventory_selectors
from sales import selectors as sales_selectors

ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("1e15")  # MoneyField holds 16 digits before the point; a bank line is far below
OPEN_INVOICE = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)
OPEN_BILL = (SupplierBill.Status.OPEN, SupplierBill.Status.PARTIALLY_PAID)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9]|[A-Za-z0-9]")


# --- import -----------------------------------------------------------------------------------

def _norm_iban(value: str) -> str:
    return re.sub(r"\s+", "", value or "").upper()


def _resolve_account(parsed: parsers.ParsedStatement, bank_account_code: str | None) -> BankAccount:
    if bank_account_code:
        bank = BankAccount.objects.select_related("account", "csv_mapping").filter(code=bank_account_code).first()
        if bank is None:
            raise StatementRejected(f"Unknown bank account {bank_account_code!r}.",
                                    errors={"bank_account": [f"{bank_account_code!r} does not exist"]})
        if parsed.account_id and bank.iban and parsed.format == "camt053" \
                and _norm_iban(parsed.account_id) != _norm_iban(bank.iban):
            raise StatementRejected(
                f"The statement is for account {parsed.account_id}, not {bank.code} ({bank.iban}).",
                errors={"bank_account": [f"the file names account {parsed.account_id}"]})
        return bank
    if not parsed.account_id:
        raise StatementRejected("Say which bank account the statement is for.",
                                errors={"bank_account": ["required for this file (it names no account)"]})
    wanted = _norm_iban(parsed.account_id)
    for bank in BankAccount.objects.select_related("account", "csv_mapping").exclude(iban=""):
        if _norm_iban(bank.iban) == wanted:
            return bank
    raise StatementRejected(f"No bank account has the IBAN/account id {parsed.account_id}.",
                            errors={"bank_account": [f"no bank account with IBAN {parsed.account_id}"]})


def _parse(data: bytes, fmt: str, bank_account_code: str | None) -> parsers.ParsedStatement:
    if fmt == "camt053":
        return parsers.parse_camt053(data)
    if fmt == "ofx":
        return parsers.parse_ofx(data)
    bank = BankAccount.objects.select_related("csv_mapping").filter(code=bank_account_code).first() \
        if bank_account_code else None
    if bank is None:
        raise StatementRejected("A CSV statement needs its bank_account (which has the column mapping).",
                                errors={"bank_account": ["required for a CSV statement" if not bank_account_code
                                                         else f"{bank_account_code!r} does not exist"]})
    mapping = bank.csv_mapping or BankCsvMapping.objects.filter(name=bank.code).first()
    if mapping is None:
        raise StatementRejected(f"Bank account {bank.code} has no CSV column mapping.",
                                errors={"bank_account": [f"{bank.code} has no CSV mapping; add one in the admin"]})
    return parsers.parse_csv(data, mapping)


@dataclass
class ImportResult:
    statement: BankStatement
    created: bool
    lines_created: int = 0
    lines_skipped: int = 0


@transaction.atomic
def import_bank_statement(*, data: bytes, filename: str = "", bank_account_code: str | None = None,
                          imported_by=None) -> ImportResult:
    """Import a bank statement file (format detected from its content).

    Raises StatementRejected (422) naming the line and reason for a malformed file, an
    unknown account or a currency other than the company's; nothing is written then. The
    same file again returns the existing statement (created=False); lines already imported
    by another file are skipped and counted.
    """
    if not data or not data.strip():
        raise StatementRejected("The file is empty.", errors={"file": ["empty file"]})
    fmt = parsers.detect_format(data)
    parsed = _parse(data, fmt, bank_account_code)
    bank = _resolve_account(parsed, bank_account_code)
    company = currencies.company_currency()
    if bank.currency != company:
        raise StatementRejected(
            f"Bank account {bank.code} is in {bank.currency}; only statements in the company currency "
            f"({company}) can be imported for now.", errors={"bank_account": [f"currency {bank.currency} not supported"]})
    if parsed.currency and parsed.currency != bank.currency:
        raise StatementRejected(f"The statement is in {parsed.currency}, bank account {bank.code} in {bank.currency}.",
                                errors={"file": [f"currency {parsed.currency} differs from {bank.currency}"]})
    errors = {f"lines.{i}.amount": [f"{ln.amount} is out of range"]
              for i, ln in enumerate(parsed.lines, start=1) if not abs(ln.amount) < MAX_AMOUNT}
    errors.update({f"balances.{name}": [f"{value} is out of range"] for name, value in
                   (("opening", parsed.opening_balance), ("closing", parsed.closing_balance))
                   if value is not None and not abs(value) < MAX_AMOUNT})
    if errors:
        raise StatementRejected("Some amounts of the statement are out of range.", errors=errors)
    errors = {f"lines.{i}.amount": [f"{ln.amount} has more decimals than {bank.currency} allows"]
              for i, ln in enumerate(parsed.lines, start=1) if not currencies.fits(ln.amount, bank.currency)}
    errors.update({f"lines.{i}.amount": ["a zero amount"] for i, ln in enumerate(parsed.lines, start=1)
                   if ln.amount == 0})
    if errors:
        raise StatementRejected("Some statement lines have invalid amounts.", errors=errors)
    sha = hashlib.sha256(data).hexdigest()
    existing = BankStatement.objects.filter(bank_account=bank).filter(
        Q(sha256=sha) | (Q(statement_id=parsed.statement_id) & ~Q(statement_id=""))).first()
    if existing is not None:
        return ImportResult(statement=existing, created=False, lines_skipped=len(parsed.lines))
    statement = BankStatement.objects.create(
        bank_account=bank, format=fmt, statement_id=parsed.statement_id[:80], filename=(filename or "")[:255],
        sha256=sha, date_from=parsed.date_from, date_to=parsed.date_to,
        opening_balance=q2(parsed.opening_balance) if parsed.opening_balance is not None else None,
        closing_balance=q2(parsed.closing_balance) if parsed.closing_balance is not None else None,
        imported_by=imported_by if getattr(imported_by, "pk", None) else None,
        correlation_id=context.current_or_new_correlation_id())
    # Identical lines inside one file without a bank id (two equal fees on one day) are told
    # apart by their occurrence number, which is the same when the file comes again.
    seen: dict[tuple, int] = defaultdict(int)
    keys = []
    for ln in parsed.lines:
        base = (ln.booking_date, q2(ln.amount), ln.reference, ln.bank_id)
        seen[base] += 1
        bank_id = ln.bank_id if seen[base] == 1 else f"{ln.bank_id[:70]}#{seen[base]}"
        keys.append((ln, bank_id))
    existing_keys = set(BankStatementLine.objects.filter(
        bank_account=bank, booking_date__in={ln.booking_date for ln, _ in keys}).values_list(
        "booking_date", "amount", "reference", "bank_id"))
    rows, skipped = [], 0
    for n, (ln, bank_id) in enumerate(keys, start=1):
        if (ln.booking_date, q2(ln.amount), ln.reference, bank_id) in existing_keys:
            skipped += 1
            continue
        rows.append(BankStatementLine(
            statement=statement, bank_account=bank, line_no=n, booking_date=ln.booking_date,
            value_date=ln.value_date, amount=q2(ln.amount), reference=ln.reference, description=ln.description,
            counterparty=ln.counterparty, counterparty_iban=ln.counterparty_iban, bank_id=bank_id))
    BankStatementLine.objects.bulk_create(rows)
    if skipped:
        statement.lines_skipped = skipped
        statement.save(update_fields=["lines_skipped"])
    return ImportResult(statement=statement, created=True, lines_created=len(rows), lines_skipped=skipped)


# --- matching ---------------------------------------------------------------------------------

@dataclass
class MatchPart:
    """One part of a line's match. kind is a BankLineMatch.Kind; the target fits the kind."""

    kind: str
    amount: Decimal
    invoice: Invoice | None = None
    customer: object = None
    payment: Payment | None = None
    bill: SupplierBill | None = None
    supplier_payment: SupplierPayment | None = None
    refund: Refund | None = None
    account: Account | None = None
    memo: str = ""
    extra: dict = field(default_factory=dict)


_IN_KINDS = {BankLineMatch.Kind.INVOICE, BankLineMatch.Kind.ON_ACCOUNT, BankLineMatch.Kind.PAYMENT}
_OUT_KINDS = {BankLineMatch.Kind.BILL, BankLineMatch.Kind.SUPPLIER_PAYMENT, BankLineMatch.Kind.REFUND}


def _check(line: BankStatementLine, parts: list[MatchPart]) -> None:
    """Every refusal before anything is written (STYLE rule 12)."""
    errors: dict[str, list[str]] = {}
    incoming = line.amount > 0
    for i, p in enumerate(parts):
        if p.amount <= 0:
            errors.setdefault(f"parts.{i}.amount", []).append("must be greater than zero")
        if incoming and p.kind in _OUT_KINDS:
            errors.setdefault(f"parts.{i}", []).append(f"money came in: a {p.kind} cannot be matched")
        if not incoming and p.kind in _IN_KINDS:
            errors.setdefault(f"parts.{i}", []).append(f"money went out: a {p.kind} cannot be matched")
        if p.kind in (BankLineMatch.Kind.PAYMENT, BankLineMatch.Kind.SUPPLIER_PAYMENT, BankLineMatch.Kind.REFUND):
            doc = p.payment or p.supplier_payment or p.refund
            if doc.amount != p.amount:
                errors.setdefault(f"parts.{i}.amount", []).append(f"{doc.number} is {doc.amount}, not {p.amount}")
            taken = BankLineMatch.objects.filter(**{"kind": p.kind, p.kind: doc}).exists()
            if taken:
                errors.setdefault(f"parts.{i}", []).append(f"{doc.number} is already matched to a bank line")
    if errors:
        raise ValidationFailed("The match is invalid.", errors=errors)
    total = q2(sum((p.amount for p in parts), ZERO))
    if total > line.open_amount:
        raise OverAllocation(
            f"The match ({total}) is more than the line's open amount ({line.open_amount}).",
            errors={"parts": [f"total {total} exceeds the line's open amount {line.open_amount}"]})


def _entry(source_type: str, source_id) -> JournalEntry | None:
    return JournalEntry.objects.filter(source_type=source_type, source_id=str(source_id)).order_by("pk").first()


def _apply(line: BankStatementLine, parts: list[MatchPart], *, automatic: bool, rule: BankMatchRule | None = None,
           user=None) -> list[BankLineMatch]:
    _check(line, parts)
    bank = line.bank_account
    cash = bank.account
    made: list[BankLineMatch] = []
    common = {"line": line, "automatic": automatic, "rule": rule,
              "created_by": user if getattr(user, "pk", None) else None}
    cid = context.current_or_new_correlation_id()
    K = BankLineMatch.Kind

    # customer money: one payment per customer, allocated to its invoices, the rest on account
    by_customer: dict[int, list[MatchPart]] = defaultdict(list)
    for p in parts:
        if p.kind == K.INVOICE:
            by_customer[p.invoice.customer_id].append(p)
        elif p.kind == K.ON_ACCOUNT:
            by_customer[p.customer.pk].append(p)
    for _cid, group in by_customer.items():
        customer = group[0].invoice.customer if group[0].kind == K.INVOICE else group[0].customer
        allocations = [AllocationInput(invoice_id=p.invoice.pk, amount=p.amount) for p in group if p.kind == K.INVOICE]
        payment = receive_payment(customer=customer, amount=sum((p.amount for p in group), ZERO),
                                  received_on=line.booking_date, reference=line.reference or line.description,
                                  allocations=allocations, created_by=common["created_by"], cash_account=cash)
        je = _entry("finance.payment", payment.pk)
        for p in group:
            made.append(BankLineMatch.objects.create(kind=p.kind, amount=p.amount, invoice=p.invoice,
                                                     payment=payment, journal_entry=je, **common))
    # supplier money: one payment per supplier over its bills
    by_supplier: dict[int, list[MatchPart]] = defaultdict(list)
    for p in parts:
        if p.kind == K.BILL:
            by_supplier[p.bill.supplier_id].append(p)
    for _sid, group in by_supplier.items():
        sp = pay_supplier(supplier=group[0].bill.supplier, amount=sum((p.amount for p in group), ZERO),
                          allocations=[(p.bill.pk, p.amount) for p in group], paid_on=line.booking_date,
                          reference=line.reference, cash_account=cash, correlation_id=cid)
        je = _entry("finance.supplier_payment", sp.pk)
        for p in group:
            made.append(BankLineMatch.objects.create(kind=K.BILL, amount=p.amount, bill=p.bill, supplier_payment=sp,
                                                     journal_entry=je, **common))
    # documents recorded earlier: the bank line clears them
    for p in parts:
        if p.kind == K.PAYMENT:
            made.append(BankLineMatch.objects.create(kind=p.kind, amount=p.amount, payment=p.payment,
                                                     journal_entry=_entry("finance.payment", p.payment.pk), **common))
        elif p.kind == K.SUPPLIER_PAYMENT:
            made.append(BankLineMatch.objects.create(
                kind=p.kind, amount=p.amount, supplier_payment=p.supplier_payment,
                journal_entry=_entry("finance.supplier_payment", p.supplier_payment.pk), **common))
        elif p.kind == K.REFUND:
            made.append(BankLineMatch.objects.create(kind=p.kind, amount=p.amount, refund=p.refund,
                                                     journal_entry=_entry("finance.refund", p.refund.pk), **common))
    # postings to accounts, one entry per match call
    to_accounts = [p for p in parts if p.kind == K.ACCOUNT]
    if to_accounts:
        n = BankLineMatch.objects.filter(line=line, kind=K.ACCOUNT).values("journal_entry").distinct().count() + 1
        je = posting.post_bank_posting(line=line, cash_account=cash, rule=f"bank_account:{n}", correlation_id=cid,
                                       postings=[(p.account, p.amount, p.memo) for p in to_accounts])
        for p in to_accounts:
            made.append(BankLineMatch.objects.create(kind=K.ACCOUNT, amount=p.amount, account=p.account,
                                                     journal_entry=je, **common))
    line.matched_amount = q2(line.matched_amount + sum((p.amount for p in parts), ZERO))
    line.status = (BankStatementLine.Status.MATCHED if line.matched_amount == abs(line.amount)
                   else BankStatementLine.Status.PARTIAL)
    line.save(update_fields=["matched_amount", "status"])
    return made


def _tokens(line: BankStatementLine) -> set[str]:
    text = " ".join((line.reference, line.description))
    return {t.upper() for t in _TOKEN.findall(text)} | {t for t in _TOKEN.findall(text)}


def _spread(amount: Decimal, docs: list, make, on=None) -> tuple[list[MatchPart], Decimal]:
    """Apply `amount` to documents oldest first (by due date); returns the parts and the rest.
    An amount equal to what settles them all on `on` with their early-payment discounts
    (finance.services.terms) pays each its discounted balance, so the discounts are taken."""
    if on is not None:
        discounted = [terms.payable_now(doc, on) for doc in docs]
        if amount == sum(discounted, ZERO) and discounted != [doc.balance_due for doc in docs]:
            return [make(doc, a) for doc, a in zip(docs, discounted, strict=True) if a > 0], ZERO
    parts, rest = [], amount
    for doc in docs:
        if rest <= 0:
            break
        take = min(rest, doc.balance_due)
        if take > 0:
            parts.append(make(doc, take))
            rest -= take
    return parts, q2(rest)


def _invoice_parts(amount: Decimal, invoices: list[Invoice], customer, on=None) -> list[MatchPart]:
    parts, rest = _spread(amount, sorted(invoices, key=lambda i: (i.due_date, i.pk)),
                          lambda inv, a: MatchPart(kind=BankLineMatch.Kind.INVOICE, amount=a, invoice=inv), on)
    if rest > 0:
        parts.append(MatchPart(kind=BankLineMatch.Kind.ON_ACCOUNT, amount=rest, customer=customer))
    return parts


def _rule_for(line: BankStatementLine) -> BankMatchRule | None:
    text = " ".join((line.reference, line.description, line.counterparty)).lower()
    amount = abs(line.amount)
    rules = BankMatchRule.objects.filter(is_active=True).filter(
        Q(bank_account__isnull=True) | Q(bank_account_id=line.bank_account_id)).select_related(
        "account", "customer", "supplier")
    for rule in rules.order_by("priority", "id"):
        if rule.text.lower() not in text:
            continue
        if rule.direction == BankMatchRule.Direction.IN and line.amount < 0:
            continue
        if rule.direction == BankMatchRule.Direction.OUT and line.amount > 0:
            continue
        if rule.min_amount is not None and amount < rule.min_amount:
            continue
        if rule.max_amount is not None and amount > rule.max_amount:
            continue
        return rule
    return None


def _propose(line: BankStatementLine) -> tuple[list[MatchPart], BankMatchRule | None]:
    """What the automatic matching would do with the line's open amount ([] when unsure)."""
    amount = line.open_amount
    K = BankLineMatch.Kind
    tokens = _tokens(line)
    matched = BankLineMatch.objects.filter
    if line.amount > 0:
        if line.reference:
            pay = Payment.objects.filter(amount=amount, reference=line.reference).exclude(
                pk__in=matched(payment__isnull=False).values("payment_id")).order_by("pk").first()
            if pay is not None:
                return [MatchPart(kind=K.PAYMENT, amount=amount, payment=pay)], None
        invoices = list(Invoice.objects.filter(number__in=tokens, status__in=OPEN_INVOICE).select_related("customer"))
        if invoices and len({i.customer_id for i in invoices}) == 1:
            return _invoice_parts(amount, invoices, invoices[0].customer, line.booking_date), None
    else:
        for model, kind, field_name in ((SupplierPayment, K.SUPPLIER_PAYMENT, "supplier_payment"),
                                        (Refund, K.REFUND, "refund")):
            if not line.reference:
                break
            doc = model.objects.filter(amount=amount, reference=line.reference).exclude(
                pk__in=matched(**{f"{field_name}__isnull": False}).values(f"{field_name}_id")).order_by("pk").first()
            if doc is not None:
                return [MatchPart(kind=kind, amount=amount, **{field_name: doc})], None
        bills = list(SupplierBill.objects.filter(Q(number__in=tokens) | Q(supplier_reference__in=tokens),
                                                 status__in=OPEN_BILL).exclude(supplier_reference="", number="")
                     .select_related("supplier"))
        if bills and len({b.supplier_id for b in bills}) == 1 and amount <= sum((b.balance_due for b in bills), ZERO):
            parts, _ = _spread(amount, sorted(bills, key=lambda b: (b.due_date, b.pk)),
                               lambda b, a: MatchPart(kind=K.BILL, amount=a, bill=b), line.booking_date)
            return parts, None
    rule = _rule_for(line)
    if rule is None:
        return _by_counterparty(line, amount), None
    if rule.account_id:
        return [MatchPart(kind=K.ACCOUNT, amount=amount, account=rule.account, memo=rule.name)], rule
    if rule.customer_id and line.amount > 0:
        invoices = list(Invoice.objects.filter(customer=rule.customer, status__in=OPEN_INVOICE))
        exact = [i for i in invoices if amount in (i.balance_due, terms.payable_now(i, line.booking_date))]
        return _invoice_parts(amount, exact[:1] or invoices, rule.customer, line.booking_date), rule
    if rule.supplier_id and line.amount < 0:
        bills = list(SupplierBill.objects.filter(supplier=rule.supplier, status__in=OPEN_BILL))
        exact = [b for b in bills if amount in (b.balance_due, terms.payable_now(b, line.booking_date))]
        if exact or amount <= sum((b.balance_due for b in bills), ZERO):
            parts, _ = _spread(amount, exact[:1] or sorted(bills, key=lambda b: (b.due_date, b.pk)),
                               lambda b, a: MatchPart(kind=K.BILL, amount=a, bill=b), line.booking_date)
            return parts, rule
    return [], None


def _by_counterparty(line: BankStatementLine, amount: Decimal) -> list[MatchPart]:
    """A customer (money in) or supplier (money out) named as the counterparty, with exactly
    one open document of exactly the amount."""
    name = line.counterparty.strip()
    if not name:
        return []
    K = BankLineMatch.Kind
    if line.amount > 0:
        ids = sales_selectors.customer_ids_named(name)
        invoices = [i for i in Invoice.objects.filter(customer_id__in=ids, status__in=OPEN_INVOICE,
                                                      balance_due__gte=amount)
                    if amount in (i.balance_due, terms.payable_now(i, line.booking_date))]
        if len(invoices) == 1:
            return [MatchPart(kind=K.INVOICE, amount=amount, invoice=invoices[0])]
    else:
        ids = inventory_selectors.supplier_ids_named(name)
        bills = [b for b in SupplierBill.objects.filter(supplier_id__in=ids, status__in=OPEN_BILL,
                                                        balance_due__gte=amount).select_related("supplier")
                 if amount in (b.balance_due, terms.payable_now(b, line.booking_date))]
        if len(bills) == 1:
            return [MatchPart(kind=K.BILL, amount=amount, bill=bills[0])]
    return []


@transaction.atomic
def auto_match_line(*, line_id: int) -> list[BankLineMatch]:
    """Match one line automatically if a document or rule fits; [] otherwise. Idempotent:
    a matched line (locked, its open amount zero) is left alone."""
    line = locks.bank_line_for_update(line_id)
    if line.status == BankStatementLine.Status.MATCHED or line.open_amount <= 0:
        return []
    parts, rule = _propose(line)
    if not parts:
        return []
    return _apply(line, parts, automatic=True, rule=rule)


def auto_match_lines(*, bank_account_id: int | None = None, statement_id: int | None = None) -> dict:
    """Run the automatic matching over unmatched lines, each line in its own transaction: a
    line whose match is refused (a closed period…) stays in the queue and the rest go on."""
    qs = BankStatementLine.objects.filter(status=BankStatementLine.Status.UNMATCHED)
    if bank_account_id is not None:
        qs = qs.filter(bank_account_id=bank_account_id)
    if statement_id is not None:
        qs = qs.filter(statement_id=statement_id)
    matched = refused = 0
    for line_id in list(qs.order_by("booking_date", "pk").values_list("pk", flat=True)):
        try:
            if auto_match_line(line_id=line_id):
                matched += 1
        except DomainError:
            refused += 1
    return {"matched": matched, "refused": refused}


@transaction.atomic
def match_bank_line(*, line_id: int, invoices: list[tuple[Invoice, Decimal]] = (),
                    bills: list[tuple[SupplierBill, Decimal]] = (), accounts: list[tuple[Account, Decimal, str]] = (),
                    on_account: tuple[object, Decimal] | None = None, payment: Payment | None = None,
                    supplier_payment: SupplierPayment | None = None, refund: Refund | None = None,
                    matched_by=None) -> BankStatementLine:
    """Match a line by hand: split across invoices (one customer payment per customer), bills,
    accounts (bank fees), money left on a customer's account, or a document recorded earlier.

    Locks the line, then the documents. Raises OverAllocation (400) when the parts add up to
    more than the line's open amount, ValidationFailed (400) for parts that do not fit the
    line's direction or a document already matched; nothing is written then.
    """
    try:
        line = locks.bank_line_for_update(line_id)
    except BankStatementLine.DoesNotExist:
        raise FinanceNotFound(f"Bank statement line {line_id} does not exist.") from None
    K = BankLineMatch.Kind
    parts = [MatchPart(kind=K.INVOICE, amount=q2(a), invoice=inv) for inv, a in invoices]
    parts += [MatchPart(kind=K.BILL, amount=q2(a), bill=b) for b, a in bills]
    parts += [MatchPart(kind=K.ACCOUNT, amount=q2(a), account=acc, memo=memo) for acc, a, memo in accounts]
    if on_account is not None:
        parts.append(MatchPart(kind=K.ON_ACCOUNT, amount=q2(on_account[1]), customer=on_account[0]))
    for doc, kind, name in ((payment, K.PAYMENT, "payment"), (supplier_payment, K.SUPPLIER_PAYMENT, "supplier_payment"),
                            (refund, K.REFUND, "refund")):
        if doc is not None:
            parts.append(MatchPart(kind=kind, amount=doc.amount, **{name: doc}))
    if not parts:
        raise ValidationFailed("Say what the line matches.", errors={"parts": ["give at least one part"]})
    _apply(line, parts, automatic=False, user=matched_by)
    return line
