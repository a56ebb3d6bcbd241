"""The one way into the journal: post_journal_entries (set-based), post_journal_entry (a batch
of one) and reverse_journal_entry.

Posting is set-based because a statement, not a row, is what costs on the bench machine
(≈ 0.7 ms of Django ORM CPU per statement): a batch of N entries costs the same handful of
statements as one entry — an idempotency look-up, an account look-up, a period lock per
distinct date, and on PostgreSQL one statement that advances the gapless counter by N and
inserts the entries and their lines. The PostgreSQL deferred balance trigger still checks
every entry at commit (it fires per inserted row and re-sums that entry's lines through the
entry_id index: measured at ≈ 0.07 ms of database CPU per two-line entry, a sixth of a batched
entry's cost, so it stays).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from core import company as core_company
from core import context, sql
from core import numbering as core_numbering
from core.currencies import company_currency
from core.money import q2
from core.sql import columns
from finance.defaults import ensure_default_chart
from finance.exceptions import (
    AccountNotConfigured,
    AlreadyReversed,
    FinanceNotFound,
    UnbalancedEntry,
    ValidationFailed,
)
from finance.models import Account, AccountOverride, FiscalPeriod, JournalEntry, JournalLine
from finance.services import numbering, periods
from inventory import selectors as inventory_selectors

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
    # The document currency and the signed amount in it (None: a company-currency line whose
    # amount_currency is its own signed amount). debit/credit are always company currency.
    currency: str = ""
    amount_currency: Decimal | None = None

    def signed(self) -> Decimal:
        return q2(Decimal(self.amount) + Decimal(self.debit) - Decimal(self.credit))


# --- account determination -------------------------------------------------------------------

class _Accounts:
    """Account determination for a whole batch of lines, its queries done once: the role
    defaults (with "are there any overrides?" in the same query: the hot path of event
    postings), and only when overrides exist, the overrides of those roles and the
    categories of the products involved.

    The most specific match wins: a customer override, then a product-category override
    (one without a customer), then the role's active default account.
    """

    def __init__(self, roles: set[str], product_ids: set[int] | None = None) -> None:
        self.defaults: dict[str, Account] = {}
        self.by_customer: dict[tuple[str, int], Account] = {}
        self.by_category: dict[tuple[str, str], Account] = {}
        self.categories: dict[int, str] = {}
        if not roles:
            return
        # Raw SQL: compiling this ORM query (an Exists annotation) cost three times its execution.
        rows = list(Account.objects.raw(
            f"SELECT {columns(Account)}, EXISTS (SELECT 1 FROM {sql.table(AccountOverride)}) AS any_override "
            f"FROM {sql.table(Account)} WHERE {sql.column(Account, 'role')} IN ({', '.join(['%s'] * len(roles))}) "
            f"AND {sql.column(Account, 'is_active')}",
            sorted(roles)))
        self.defaults = {a.role: a for a in rows}
        if not (rows[0].any_override if rows else AccountOverride.objects.exists()):
            return
        # order by pk: of several overrides of one customer the first wins, as .first() did
        for o in AccountOverride.objects.filter(role__in=roles).select_related("account").order_by("pk"):
            if o.customer_id is not None:
                self.by_customer.setdefault((o.role, o.customer_id), o.account)
            elif o.product_category:
                self.by_category[(o.role, o.product_category)] = o.account
        if self.by_category and product_ids:
            self.categories = inventory_selectors.product_categories(product_ids)

    def resolve(self, role: str, *, customer_id: int | None = None, product_category: str = "",
                product_id: int | None = None) -> Account:
        if customer_id is not None:
            hit = self.by_customer.get((role, customer_id))
            if hit is not None:
                return hit
        category = product_category or self.categories.get(product_id, "")
        if category:
            hit = self.by_category.get((role, category))
            if hit is not None:
                return hit
        account = self.defaults.get(role)
        if account is None:
            account = self.defaults[role] = _role_default(role)
        return account


def _role_default(role: str) -> Account:
    account = Account.objects.filter(role=role, is_active=True).first()
    if account is None and not Account.objects.filter(role=role).exists():
        # a flushed database (tests, a fresh install that skipped the data migration)
        ensure_default_chart()
        account = Account.objects.filter(role=role, is_active=True).first()
    if account is None:
        raise AccountNotConfigured(f"No active account has the role {role!r}; configure the chart of accounts.",
                                   role=role)
    return account


def account_for(role: str, *, customer_id: int | None = None, product_category: str = "") -> Account:
    """The account serving a control role: a customer override, then a product-category
    override, then the role's default account. Raises AccountNotConfigured."""
    return _Accounts({role}).resolve(role, customer_id=customer_id, product_category=product_category)


# --- posting ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class EntryRequest:
    """One entry to post with post_journal_entries (the arguments of post_journal_entry)."""

    on: date
    lines: Sequence[Line]
    source_type: str
    source_id: object
    rule: str
    memo: str = ""
    roll_forward: bool = False
    correlation_id: str | None = None
    reversal_of: JournalEntry | None = None
    posted_by: object = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source_type, str(self.source_id), self.rule)


Resolved = list[tuple[Account, Decimal, Decimal, Line]]


def _normalise(line_sets: list[Sequence[Line]]) -> list[Resolved]:
    """Resolve accounts and turn signed amounts into (debit, credit), dropping zero lines,
    for every entry of a batch (account queries once for all of them)."""
    roles = {ln.role for lines in line_sets for ln in lines if ln.account is None and ln.role}
    pids = {ln.product_id for lines in line_sets for ln in lines
            if ln.account is None and ln.product_id and not ln.product_category}
    accounts = _Accounts(roles, pids)
    out = []
    for lines in line_sets:
        rows: Resolved = []
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
            else:
                account = accounts.resolve(ln.role, customer_id=ln.customer_id, product_category=ln.product_category,
                                           product_id=ln.product_id)
            if not account.is_active:
                raise ValidationFailed(f"Account {account.code} is inactive.",
                                       errors={"lines": [f"account {account.code} is inactive"]})
            rows.append((account, value if value > 0 else ZERO, -value if value < 0 else ZERO, ln))
        out.append(rows)
    return out


def _check_balanced(rows: Resolved) -> None:
    total_debit = sum((d for _, d, _, _ in rows), ZERO)
    total_credit = sum((c for _, _, c, _ in rows), ZERO)
    if total_debit != total_credit:
        raise UnbalancedEntry(f"Debits {total_debit} do not equal credits {total_credit}.",
                              errors={"lines": [f"debits {total_debit} ≠ credits {total_credit}"]},
                              total_debit=str(total_debit), total_credit=str(total_credit))
    if len(rows) < 2:
        raise UnbalancedEntry("An entry needs at least one debit and one credit line of non-zero amount.",
                              errors={"lines": ["at least two non-zero lines are required"]})


_SOURCE_TYPE, _RULE, _SOURCE_ID = (sql.column(JournalEntry, n) for n in ("source_type", "rule", "source_id"))


def _existing(keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], JournalEntry]:
    """The entries already posted for these (source_type, source_id, rule), in one query:
    one OR-branch per source_type and rule (a batch usually has one or two), each answered
    by the unique (source_type, source_id, rule) index. Raw SQL because compiling the ORM
    filter cost twice its execution, on every posting."""
    groups: dict[tuple[str, str], list[str]] = {}
    for source_type, source_id, rule in keys:
        groups.setdefault((source_type, rule), []).append(source_id)
    where, params = [], []
    for (source_type, rule), ids in groups.items():
        where.append(f"({_SOURCE_TYPE} = %s AND {_RULE} = %s AND {_SOURCE_ID} IN ({', '.join(['%s'] * len(ids))}))")
        params += [source_type, rule, *ids]
    query = f"SELECT {columns(JournalEntry)} FROM {sql.table(JournalEntry)} WHERE {' OR '.join(where)}"
    return {(e.source_type, e.source_id, e.rule): e for e in JournalEntry.objects.raw(query, params)}


def _posting_places(todo: list[EntryRequest]) -> list[tuple[FiscalPeriod, date]]:
    """(locked period, posting date) per entry: resolve_posting_period (the FOR SHARE lock)
    once per distinct date, and not at all for a date inside a period already locked open
    by this batch (the lock holds to commit, so it stays open)."""
    open_locked: list[FiscalPeriod] = []
    done: dict[tuple[date, bool], tuple[FiscalPeriod, date]] = {}
    out = []
    for req in todo:
        k = (req.on, req.roll_forward)
        if k not in done:
            period = next((p for p in open_locked if p.start_date <= req.on <= p.end_date), None)
            if period is not None:
                done[k] = (period, req.on)
            else:  # the period it returns is always open and locked, rolled forward or not
                done[k] = periods.resolve_posting_period(req.on, roll_forward=req.roll_forward)
                open_locked.append(done[k][0])
        out.append(done[k])
    return out


@transaction.atomic
def post_journal_entries(requests: Sequence[EntryRequest]) -> list[JournalEntry]:
    """Post a batch of balanced entries set-based and return one entry per request, in order.

    The same effect as post_journal_entry on each request in turn, in a few statements
    whatever the batch size: one idempotency look-up (an entry whose (source_type,
    source_id, rule) exists, or repeats an earlier request of the batch, is returned, not
    posted again), one account look-up, one period lock per distinct date, and (PostgreSQL)
    one statement that advances the journal counter by N and inserts the N entries and
    their lines — so the numbers are consecutive, in request order, without gaps.

    All or nothing: every entry is validated before anything is written, and any error
    (UnbalancedEntry 400, ValidationFailed 400, PeriodClosed 409 unless roll_forward,
    AccountNotConfigured 422) leaves the batch unposted. Locks as post_journal_entry.
    """
    if not requests:
        return []
    keys = [req.key for req in requests]
    posted = _existing(set(keys))
    todo: list[EntryRequest] = []
    seen = set(posted)
    for req, k in zip(requests, keys, strict=True):
        if k not in seen:
            seen.add(k)
            todo.append(req)
    if todo:
        resolved = _normalise([req.lines for req in todo])
        for rows in resolved:
            _check_balanced(rows)  # validate everything, then write
        places = _posting_places(todo)
        for entry in _insert(todo, resolved, places):
            posted[(entry.source_type, entry.source_id, entry.rule)] = entry
    return [posted[k] for k in keys]


def post_journal_entry(*, on: date, lines: list[Line], source_type: str, source_id, rule: str, memo: str = "",
                       roll_forward: bool = False, reversal_of: JournalEntry | None = None, posted_by=None,
                       correlation_id: str | None = None) -> JournalEntry:
    """Post one balanced entry, numbered without gaps, and return it (a batch of one).

    Idempotent per (source_type, source_id, rule): when that entry exists it is returned
    and nothing is written. Share-locks the fiscal period (FOR SHARE) then locks the journal
    counter (FOR UPDATE). Raises UnbalancedEntry (400) when debits ≠ credits or fewer
    than two lines remain, PeriodClosed (409) for a closed period unless roll_forward,
    AccountNotConfigured (422). Emits nothing (the documents that post emit their events).
    """
    return post_journal_entries([EntryRequest(
        on=on, lines=lines, source_type=source_type, source_id=source_id, rule=rule, memo=memo,
        roll_forward=roll_forward, correlation_id=correlation_id, reversal_of=reversal_of, posted_by=posted_by)])[0]


def _insert(todo: list[EntryRequest], resolved: list[Resolved],
            places: list[tuple[FiscalPeriod, date]]) -> list[JournalEntry]:
    """Number and write validated entries; returns them saved (pk, number set)."""
    now = timezone.now()
    company = company_currency()
    request_id = context.get_request_id() or ""
    entries: list[JournalEntry] = []
    # Lines as plain rows in _LINE_COLUMNS order: they are written, never returned, so no
    # model instances on the PostgreSQL path (their __init__ was a tenth of a batch's CPU).
    line_sets: list[list[tuple]] = []
    for req, rows, (period, posting_date) in zip(todo, resolved, places, strict=True):
        memo = req.memo
        if posting_date != req.on:
            memo = f"{memo} (dated {req.on.isoformat()}, period closed: posted in {period.name})".strip()
        posted_by = req.posted_by if getattr(req.posted_by, "pk", None) else None
        entries.append(JournalEntry(
            date=posting_date, period=period, memo=memo[:255], source_type=req.source_type,
            source_id=str(req.source_id), rule=req.rule,
            correlation_id=req.correlation_id or context.current_or_new_correlation_id(), request_id=request_id,
            reversal_of=req.reversal_of, posted_at=now, posted_by=posted_by))
        line_sets.append([(i, account.pk, posting_date, d, c, ln.memo[:255], ln.customer_id, ln.supplier_id,
                           ln.product_id, ln.warehouse_id, ln.currency or company,
                           d - c if ln.amount_currency is None else ln.amount_currency)
                          for i, (account, d, c, ln) in enumerate(rows, start=1)])
    if connection.vendor == "postgresql":
        _insert_in_one_statement(entries, line_sets)
    else:
        first = numbering.take_values(numbering.JOURNAL, len(entries))
        for i, entry in enumerate(entries):
            entry.number = first + i
        JournalEntry.objects.bulk_create(entries)  # bulk_create skips save(): these are inserts
        JournalLine.objects.bulk_create([JournalLine(entry=entry, **dict(zip(_LINE_COLUMNS, row, strict=True)))
                                         for entry, rows in zip(entries, line_sets, strict=True) for row in rows])
    return entries


# The columns written per entry and per line (attnames, in the order of a line's row tuple).
_ENTRY_COLUMNS = ("date", "period_id", "memo", "source_type", "source_id", "rule", "correlation_id", "request_id",
                  "reversal_of_id", "posted_at", "posted_by_id")
_LINE_COLUMNS = ("line_no", "account_id", "date", "debit", "credit", "memo", "customer_id", "supplier_id",
                 "product_id", "warehouse_id", "currency", "amount_currency")


@functools.cache
def _insert_sql() -> str:
    """The PostgreSQL statement of _insert_in_one_statement, from the models' _meta."""
    def cols(model, names):
        return [sql.column(model, n) for n in names]

    def arrays(model, names):
        return ", ".join(f"%s::{sql.cast_type(model, n)}[]" for n in names)

    entry_cols, line_cols = cols(JournalEntry, _ENTRY_COLUMNS), cols(JournalLine, _LINE_COLUMNS)
    e_id, e_number = sql.column(JournalEntry, "id"), sql.column(JournalEntry, "number")
    return f"""
        WITH num(first, prefix, padding) AS (
            {core_numbering.take_sql()}
        ), e AS (
            INSERT INTO {sql.table(JournalEntry)} ({e_number}, {", ".join(entry_cols)})
            SELECT num.first + v.ord, {", ".join("v." + c for c in entry_cols)}
              FROM num, unnest(%s::integer[], {arrays(JournalEntry, _ENTRY_COLUMNS)}) AS v(ord, {", ".join(entry_cols)})
             ORDER BY v.ord
            RETURNING {e_id}, {e_number}
        ), l AS (
            INSERT INTO {sql.table(JournalLine)} ({sql.column(JournalLine, "entry")}, {", ".join(line_cols)})
            SELECT e.{e_id}, {", ".join("v." + c for c in line_cols)}
              FROM num CROSS JOIN unnest(%s::integer[], {arrays(JournalLine, _LINE_COLUMNS)}) AS v(ord, {", ".join(line_cols)})
              JOIN e ON e.{e_number} = num.first + v.ord
        )
        SELECT {e_id}, {e_number} FROM e ORDER BY {e_number}"""


def _insert_in_one_statement(entries: list[JournalEntry], line_sets: list[list[tuple]]) -> None:
    """PostgreSQL: advance the journal counter by N, insert the N entries and all their lines
    in one statement (data-modifying CTEs over unnest()ed column arrays: one parameter per
    column whatever the batch size, one round trip). The counter row is locked by the
    UPDATE of core.numbering.take; entry i gets number first + i."""
    n = len(entries)
    params: list = [n, numbering.JOURNAL, n, list(range(n))]
    params += [[getattr(e, c) for e in entries] for c in _ENTRY_COLUMNS]
    params.append([i for i, rows in enumerate(line_sets) for _ in rows])
    params += [[row[k] for rows in line_sets for row in rows] for k in range(len(_LINE_COLUMNS))]
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(), params)
            got = cursor.fetchall()
        if got:
            break
        numbering.ensure_series(numbering.JOURNAL)  # a fresh database: no counter row yet, nothing written
    if len(got) != n:
        raise RuntimeError(f"journal insert returned {len(got)} rows for {n} entries")
    for entry, (pk, number) in zip(entries, got, strict=True):
        entry.pk, entry.number = pk, number
        entry._state.adding = False
        entry._state.db = connection.alias


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
                  supplier_id=ln.supplier_id, product_id=ln.product_id, warehouse_id=ln.warehouse_id,
                  currency=ln.currency, amount_currency=None if ln.amount_currency is None else -ln.amount_currency)
             for ln in original.lines.all()]
    return post_journal_entry(
        on=on or core_company.today(), lines=lines, source_type="journal_entry", source_id=original.pk,
        rule="reversal", memo=memo or f"Reversal of entry {original.number}", reversal_of=original,
        posted_by=posted_by, correlation_id=correlation_id or original.correlation_id)


@transaction.atomic
def post_manual_entry(*, on: date, lines: list[Line], memo: str, reference: str = "", posted_by=None,
                      correlation_id: str | None = None) -> JournalEntry:
    """A journal entry a person enters (finance role). Never rolls forward into the next period."""
    from uuid import uuid4

    return post_journal_entry(on=on, lines=lines, source_type="manual", source_id=reference or uuid4().hex,
                              rule="manual", memo=memo, posted_by=posted_by, correlation_id=correlation_id)
