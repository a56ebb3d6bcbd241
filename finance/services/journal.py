"""The one way into the journal: post_journal_entry (and reverse_journal_entry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists
from django.utils import timezone

from core import context
from core.money import q2
from finance.exceptions import (
    AccountNotConfigured,
    AlreadyReversed,
    FinanceNotFound,
    UnbalancedEntry,
    ValidationFailed,
)
from finance.models import Account, AccountOverride, JournalEntry, JournalLine
from finance.services import numbering, periods

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Line:
    """One line to post. Give an account (manual entries) or a control role (posting rules).

    `amount` is signed: positive debits, negative credits — the rules read naturally
    (`Line("inventory", value)`, `Line("grni", -value)`) and a negative stock value simply
    flips sides. Alternatively give debit/credit explicitly.
    """

    role: str = ""
    amount: Decimal = ZERO
    account: Account | None = None
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    memo: str = ""
    customer_id: int | None = None
    supplier_id: int | None = None
    product_id: int | None = None
    warehouse_id: int | None = None
    product_category: str = field(default="", compare=False)

    def signed(self) -> Decimal:
        return q2(Decimal(self.amount) + Decimal(self.debit) - Decimal(self.credit))


# --- account determination -------------------------------------------------------------------

def account_for(role: str, *, customer_id: int | None = None, product_category: str = "") -> Account:
    """The account serving a control role: a customer override, then a product-category
    override, then the role's default account. Raises AccountNotConfigured."""
    overrides = AccountOverride.objects.filter(role=role).select_related("account")
    if customer_id is not None:
        hit = overrides.filter(customer_id=customer_id).first()
        if hit:
            return hit.account
    if product_category:
        hit = overrides.filter(product_category=product_category, customer__isnull=True).first()
        if hit:
            return hit.account
    account = Account.objects.filter(role=role, is_active=True).first()
    if account is None and not Account.objects.filter(role=role).exists():
        from finance.defaults import ensure_default_chart

        ensure_default_chart()
        account = Account.objects.filter(role=role, is_active=True).first()
    if account is None:
        raise AccountNotConfigured(f"No active account has the role {role!r}; configure the chart of accounts.",
                                   role=role)
    return account


def _has_overrides() -> bool:
    return AccountOverride.objects.exists()


# --- posting ----------------------------------------------------------------------------------

def _normalise(lines: list[Line]) -> list[tuple[Account, Decimal, Decimal, Line]]:
    """Resolve accounts and turn signed amounts into (debit, credit); drop zero lines."""
    # The role defaults and "are there any overrides?" in one query (the hot path of event postings).
    wanted = {ln.role for ln in lines if ln.account is None and ln.role}
    defaults = list(Account.objects.filter(role__in=wanted, is_active=True)
                    .annotate(any_override=Exists(AccountOverride.objects.all())))
    use_overrides = defaults[0].any_override if defaults else _has_overrides()
    cache: dict[str, Account] = {a.role: a for a in defaults}
    categories: dict[int, str] = {}
    if use_overrides:
        from inventory.models import Product

        pids = {ln.product_id for ln in lines if ln.product_id and not ln.product_category}
        categories = dict(Product.objects.filter(pk__in=pids).values_list("pk", "category"))
    out = []
    for ln in lines:
        if Decimal(ln.debit) < 0 or Decimal(ln.credit) < 0:
            raise ValidationFailed("Debit and credit must not be negative.",
                                   errors={"lines": ["debit and credit must be zero or positive"]})
        value = ln.signed()
        if value == 0:
            continue
        if ln.account is not None:
            account = ln.account
        elif not ln.role:
            raise ValidationFailed("A journal line needs an account.", errors={"lines": ["account is required"]})
        elif use_overrides:
            account = account_for(ln.role, customer_id=ln.customer_id,
                                  product_category=ln.product_category or categories.get(ln.product_id, ""))
        else:
            if ln.role not in cache:
                cache[ln.role] = account_for(ln.role)
            account = cache[ln.role]
        if not account.is_active:
            raise ValidationFailed(f"Account {account.code} is inactive.",
                                   errors={"lines": [f"account {account.code} is inactive"]})
        out.append((account, value if value > 0 else ZERO, -value if value < 0 else ZERO, ln))
    return out


@transaction.atomic
def post_journal_entry(*, on: date, lines: list[Line], source_type: str, source_id, rule: str, memo: str = "",
                       roll_forward: bool = False, reversal_of: JournalEntry | None = None, posted_by=None,
                       correlation_id: str | None = None) -> JournalEntry:
    """Post one balanced entry, numbered without gaps, and return it.

    Idempotent per (source_type, source_id, rule): when that entry exists it is returned
    and nothing is written. Share-locks the fiscal period (FOR SHARE) then locks the journal
    counter (FOR UPDATE). Raises UnbalancedEntry (400) when debits ≠ credits or fewer
    than two lines remain, PeriodClosed (409) for a closed period unless roll_forward,
    AccountNotConfigured (422). Emits nothing (the documents that post emit their events).
    """
    cid = correlation_id or context.current_or_new_correlation_id()
    source_id = str(source_id)
    # no ORDER BY: the unique (source_type, source_id, rule) index answers it alone
    existing = next(iter(JournalEntry.objects.filter(source_type=source_type, source_id=source_id, rule=rule)
                         .order_by()[:1]), None)
    if existing is not None:
        return existing

    resolved = _normalise(lines)
    total_debit = sum((d for _, d, _, _ in resolved), ZERO)
    total_credit = sum((c for _, _, c, _ in resolved), ZERO)
    if total_debit != total_credit:
        raise UnbalancedEntry(f"Debits {total_debit} do not equal credits {total_credit}.",
                              errors={"lines": [f"debits {total_debit} ≠ credits {total_credit}"]},
                              total_debit=str(total_debit), total_credit=str(total_credit))
    if len(resolved) < 2:
        raise UnbalancedEntry("An entry needs at least one debit and one credit line of non-zero amount.",
                              errors={"lines": ["at least two non-zero lines are required"]})

    period, posting_date = periods.resolve_posting_period(on, roll_forward=roll_forward)
    if posting_date != on:
        memo = f"{memo} (dated {on.isoformat()}, period closed: posted in {period.name})".strip()
    entry = JournalEntry(date=posting_date, period=period, memo=memo[:255],
                         source_type=source_type, source_id=source_id, rule=rule, correlation_id=cid,
                         request_id=context.get_request_id() or "", reversal_of=reversal_of,
                         posted_at=timezone.now(), posted_by=posted_by if getattr(posted_by, "pk", None) else None)
    lines_rows = [JournalLine(line_no=i, account=account, date=posting_date, debit=d, credit=c,
                              memo=ln.memo[:255], customer_id=ln.customer_id, supplier_id=ln.supplier_id,
                              product_id=ln.product_id, warehouse_id=ln.warehouse_id)
                  for i, (account, d, c, ln) in enumerate(resolved, start=1)]
    if connection.vendor == "postgresql" and _insert_in_one_statement(entry, lines_rows):
        return entry
    entry.number = numbering.next_value(numbering.JOURNAL)
    entry.save(_allow_insert=True)
    for row in lines_rows:
        row.entry = entry
    JournalLine.objects.bulk_create(lines_rows)
    return entry


_ENTRY_COLUMNS = ("date", "period_id", "memo", "source_type", "source_id", "rule", "correlation_id", "request_id",
                  "reversal_of_id", "posted_at", "posted_by_id")
_LINE_COLUMNS = ("line_no", "account_id", "date", "debit", "credit", "memo", "customer_id", "supplier_id",
                 "product_id", "warehouse_id")
_LINE_CASTS = ("integer", "bigint", "date", "numeric", "numeric", "varchar", "bigint", "bigint", "bigint", "bigint")


def _insert_in_one_statement(entry: JournalEntry, lines: list[JournalLine]) -> bool:
    """PostgreSQL: take the next number, insert the entry and its lines in one statement
    (data-modifying CTEs) — one round trip instead of three on the hot path of postings.
    The counter row is locked by the UPDATE exactly as numbering.next_value does. Returns
    False (nothing written) when the journal series row does not exist yet."""
    values = ", ".join("(" + ", ".join(f"%s::{cast}" for cast in _LINE_CASTS) + ")" for _ in lines)
    sql = f"""
        WITH num AS (
            UPDATE finance_numberseries SET next_value = next_value + 1 WHERE key = %s
            RETURNING next_value - 1 AS n
        ), e AS (
            INSERT INTO finance_journalentry (number, {", ".join(_ENTRY_COLUMNS)})
            SELECT n, {", ".join(["%s"] * len(_ENTRY_COLUMNS))} FROM num
            RETURNING id, number
        ), l AS (
            INSERT INTO finance_journalline (entry_id, {", ".join(_LINE_COLUMNS)})
            SELECT e.id, {", ".join("v." + c for c in _LINE_COLUMNS)}
              FROM e, (VALUES {values}) AS v({", ".join(_LINE_COLUMNS)})
        )
        SELECT id, number FROM e"""
    params: list = [numbering.JOURNAL]
    params += [getattr(entry, c) for c in _ENTRY_COLUMNS]
    for row in lines:
        params += [getattr(row, c) for c in _LINE_COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        got = cursor.fetchone()
    if got is None:
        return False
    entry.pk, entry.number = got
    entry._state.adding = False
    entry._state.db = connection.alias
    return True


@transaction.atomic
def reverse_journal_entry(*, entry_id: int, on: date | None = None, memo: str = "", posted_by=None,
                          correlation_id: str | None = None) -> JournalEntry:
    """Post the mirror image of an entry (debits ↔ credits), linked to it by reversal_of.

    Dated `on` (default today; the original stays untouched in its period). Refuses a second
    reversal (AlreadyReversed 409) and reversing a reversal. Locks as post_journal_entry.
    """
    original = JournalEntry.objects.filter(pk=entry_id).prefetch_related("lines__account").first()
    if original is None:
        raise FinanceNotFound(f"Journal entry {entry_id} does not exist.")
    if original.reversal_of_id is not None:
        raise AlreadyReversed(f"Entry {original.number} is itself a reversal; post a new entry instead.")
    if JournalEntry.objects.filter(reversal_of=original).exists():
        raise AlreadyReversed(f"Entry {original.number} has already been reversed.")
    lines = [Line(account=ln.account, debit=ln.credit, credit=ln.debit, memo=ln.memo, customer_id=ln.customer_id,
                  supplier_id=ln.supplier_id, product_id=ln.product_id, warehouse_id=ln.warehouse_id)
             for ln in original.lines.all()]
    return post_journal_entry(
        on=on or timezone.localdate(), lines=lines, source_type="journal_entry", source_id=original.pk,
        rule="reversal", memo=memo or f"Reversal of entry {original.number}", reversal_of=original,
        posted_by=posted_by, correlation_id=correlation_id or original.correlation_id)


@transaction.atomic
def post_manual_entry(*, on: date, lines: list[Line], memo: str, reference: str = "", posted_by=None,
                      correlation_id: str | None = None) -> JournalEntry:
    """A journal entry a person enters (finance role). Never rolls forward into the next period."""
    from uuid import uuid4

    return post_journal_entry(on=on, lines=lines, source_type="manual", source_id=reference or uuid4().hex,
                              rule="manual", memo=memo, posted_by=posted_by, correlation_id=correlation_id)
