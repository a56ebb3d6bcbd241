"""Set-based posting (post_journal_entries): the same entries as posting one by one, numbered
without gaps, idempotent, all or nothing, closed periods as post_journal_entry."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from core.models import NumberSeries
from finance.exceptions import PeriodClosed, UnbalancedEntry, ValidationFailed
from finance.models import AccountOverride, FiscalPeriod, JournalEntry, JournalLine
from finance.services import Line, account_for, close_period, create_fiscal_year, post_journal_entry
from finance.services.journal import EntryRequest, post_journal_entries
from tests.factories.finance import AccountFactory
from tests.factories.inventory import ProductFactory

D = Decimal
NOV = date(2026, 11, 5)


def _req(source_id, amount="100.00", on=NOV, rule="test", **kw) -> EntryRequest:
    value = D(amount)
    return EntryRequest(on=on, lines=[Line("inventory", value), Line("grni", -value)], source_type="test",
                        source_id=source_id, rule=rule, **kw)


def _numbers() -> list[int]:
    return list(JournalEntry.objects.order_by("number").values_list("number", flat=True))


def _next_journal_number() -> int:
    return NumberSeries.objects.get(key="journal").next_value


def _snapshot(entry: JournalEntry) -> tuple:
    """Everything an entry says except its identity (number, pk, source_id)."""
    lines = tuple((ln.line_no, ln.account.code, ln.date, ln.debit, ln.credit, ln.memo, ln.customer_id,
                   ln.supplier_id, ln.product_id, ln.warehouse_id)
                  for ln in JournalLine.objects.filter(entry=entry).select_related("account").order_by("line_no"))
    return (entry.date, entry.period.name, entry.memo, entry.source_type, entry.rule, entry.correlation_id,
            entry.reversal_of_id, lines)


@pytest.mark.django_db
def test_a_batch_posts_what_single_postings_post(customer, other_customer, warehouse, supplier):
    # given overrides by customer and by product category, and products in and out of the category
    export = AccountFactory(code="4010", type="income", name="Export revenue")
    books = AccountFactory(code="4020", type="income", name="Book revenue")
    AccountOverride.objects.create(role="revenue", customer=customer, account=export)
    AccountOverride.objects.create(role="revenue", product_category="books", account=books)
    novel = ProductFactory(sku="NOVEL", category="books")
    widget = ProductFactory(sku="WIDGET", category="tools")

    def requests(prefix: str) -> list[EntryRequest]:
        return [
            EntryRequest(on=NOV, source_type="test", source_id=f"{prefix}1", rule="sale", memo="sale 1",
                         correlation_id=f"{prefix}-c1", lines=[
                             Line("ar", D("30.00"), customer_id=other_customer.pk),
                             Line("revenue", D("-10.00"), customer_id=other_customer.pk, product_id=novel.pk,
                                  memo="NOVEL"),
                             Line("revenue", D("-20.00"), customer_id=other_customer.pk, product_id=widget.pk)]),
            EntryRequest(on=date(2026, 12, 2), source_type="test", source_id=f"{prefix}2", rule="sale",
                         correlation_id=f"{prefix}-c2", lines=[
                             Line("ar", D("12.00"), customer_id=customer.pk),
                             Line("revenue", D("-12.00"), customer_id=customer.pk, product_id=novel.pk)]),
            EntryRequest(on=NOV, source_type="test", source_id=f"{prefix}3", rule="receipt",
                         correlation_id=f"{prefix}-c3", lines=[
                             Line("inventory", D("7.50"), product_id=widget.pk, warehouse_id=warehouse.pk,
                                  supplier_id=supplier.pk),
                             Line("grni", D("-7.50"), product_id=widget.pk, warehouse_id=warehouse.pk,
                                  supplier_id=supplier.pk),
                             Line("cogs", D("0"))]),  # a zero line is dropped by both paths
        ]

    # when
    single = [post_journal_entry(on=r.on, lines=r.lines, source_type=r.source_type, source_id=r.source_id,
                                 rule=r.rule, memo=r.memo, correlation_id=r.correlation_id)
              for r in requests("s")]
    batch = post_journal_entries(requests("b"))
    # then: same lines, accounts, amounts, dimensions; correlation ids per entry
    assert [e.correlation_id for e in batch] == ["b-c1", "b-c2", "b-c3"]
    for s, b in zip(single, batch, strict=True):
        stored = JournalEntry.objects.get(pk=b.pk)
        assert _snapshot(stored)[:5] == _snapshot(JournalEntry.objects.get(pk=s.pk))[:5]
        assert _snapshot(stored)[6:] == _snapshot(JournalEntry.objects.get(pk=s.pk))[6:]
    # and the override semantics of account_for hold in the batch
    first = JournalEntry.objects.get(pk=batch[0].pk)
    assert first.lines.get(product=novel).account == books
    assert first.lines.get(product=widget).account == account_for("revenue")
    assert JournalEntry.objects.get(pk=batch[1].pk).lines.get(credit=D("12.00")).account == export
    assert JournalLine.objects.filter(entry_id=batch[2].pk).count() == 2
    assert batch[1].period.name == "2026-12"


@pytest.mark.django_db
def test_numbers_are_gapless_across_single_and_batch_posts_in_request_order():
    # when
    a = post_journal_entry(on=NOV, lines=_req("a").lines, source_type="test", source_id="a", rule="test")
    batch = post_journal_entries([_req("b1"), _req("a"), _req("b2"), _req("b1"), _req("b3")])
    c = post_journal_entry(on=NOV, lines=_req("c").lines, source_type="test", source_id="c", rule="test")
    # then: the existing entry and the repeat are returned, not posted; new ones numbered in order
    assert [e.number for e in batch] == [a.number + 1, a.number, a.number + 2, a.number + 1, a.number + 3]
    assert batch[1].pk == a.pk and batch[3].pk == batch[0].pk
    assert c.number == a.number + 4
    assert _numbers() == list(range(a.number, a.number + 5))
    assert _next_journal_number() == a.number + 5
    assert list(JournalEntry.objects.order_by("number").values_list("source_id", flat=True)) == [
        "a", "b1", "b2", "b3", "c"]


@pytest.mark.django_db
def test_the_same_batch_twice_posts_once():
    first = post_journal_entries([_req("1"), _req("2", amount="5.00"), _req("2", amount="5.00")])
    again = post_journal_entries([_req("2", amount="5.00"), _req("1")])
    assert [e.pk for e in again] == [first[1].pk, first[0].pk]
    assert JournalEntry.objects.count() == 2
    assert JournalLine.objects.filter(entry_id=first[1].pk).values_list("debit", flat=True).get(line_no=1) == D("5.00")


@pytest.mark.django_db
def test_one_bad_entry_fails_the_whole_batch_and_writes_nothing():
    post_journal_entries([_req("warm-up")])
    counter = _next_journal_number()
    unbalanced = EntryRequest(on=NOV, source_type="test", source_id="bad", rule="test",
                              lines=[Line("inventory", D("10.00")), Line("grni", D("-9.99"))])
    one_line = EntryRequest(on=NOV, source_type="test", source_id="bad", rule="test",
                            lines=[Line("inventory", D("10.00")), Line("grni", D("0"))])
    negative = EntryRequest(on=NOV, source_type="test", source_id="bad", rule="test",
                            lines=[Line("inventory", debit=D("-1")), Line("grni", credit=D("-1"))])
    for bad, error in ((unbalanced, UnbalancedEntry), (one_line, UnbalancedEntry), (negative, ValidationFailed)):
        with pytest.raises(error):
            post_journal_entries([_req("1"), bad, _req("2")])
    assert list(JournalEntry.objects.values_list("source_id", flat=True)) == ["warm-up"]
    assert _next_journal_number() == counter


@pytest.mark.django_db
def test_an_inactive_override_account_fails_the_batch(customer):
    closed = AccountFactory(code="4090", type="income", name="Old revenue", is_active=False)
    AccountOverride.objects.create(role="revenue", customer=customer, account=closed)
    with pytest.raises(ValidationFailed, match="4090"):
        post_journal_entries([_req("1"), EntryRequest(on=NOV, source_type="test", source_id="2", rule="t", lines=[
            Line("ar", D("1.00"), customer_id=customer.pk), Line("revenue", D("-1.00"), customer_id=customer.pk)])])
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db
def test_closed_period_refuses_the_batch_unless_it_rolls_forward():
    # given October 2025 closed (nothing of the test's own clock falls in it)
    create_fiscal_year(year=2025)
    close_period(period_id=FiscalPeriod.objects.get(name="2025-10").pk)
    october, november = date(2025, 10, 20), date(2025, 11, 3)
    # when a person's batch touches it: refused, nothing written
    with pytest.raises(PeriodClosed):
        post_journal_entries([_req("n1", on=november), _req("o1", on=october)])
    assert not JournalEntry.objects.exists()
    # an event batch rolls the October one forward, the November one stays put
    posted = post_journal_entries([_req("n1", on=november, roll_forward=True),
                                   _req("o1", on=october, roll_forward=True, memo="late"),
                                   _req("o2", on=date(2025, 10, 2), roll_forward=True)])
    assert [(e.date, e.period.name) for e in posted] == [
        (november, "2025-11"), (date(2025, 11, 1), "2025-11"), (date(2025, 11, 1), "2025-11")]
    assert posted[1].memo == "late (dated 2025-10-20, period closed: posted in 2025-11)"
    assert set(JournalLine.objects.filter(entry_id=posted[2].pk).values_list("date", flat=True)) == {date(2025, 11, 1)}


@pytest.mark.django_db
def test_an_empty_batch_posts_nothing():
    assert post_journal_entries([]) == []
    assert not JournalEntry.objects.exists()


pg = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")


@pg
@pytest.mark.django_db(transaction=True)
def test_the_deferred_balance_trigger_still_guards_multi_row_inserts():
    from finance.services import journal

    # a committed batch passes the trigger
    posted = post_journal_entries([_req("1"), _req("2", amount="3.00")])
    assert JournalEntry.objects.filter(pk__in=[e.pk for e in posted]).count() == 2
    # an unbalanced entry slipped past the service's checks is refused at commit
    good, bad = _req("3"), _req("4")
    resolved = journal._normalise([good.lines, bad.lines])
    account, debit, _, line = resolved[1][0]
    resolved[1][0] = (account, debit + D("1.00"), D("0.00"), line)
    with pytest.raises(DatabaseError, match="unbalanced"), transaction.atomic():
        places = journal._posting_places([good, bad])
        journal._insert([good, bad], resolved, places)
    assert not JournalEntry.objects.filter(source_id__in=["3", "4"]).exists()


@pg
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_get_gapless_unique_numbers():
    import threading

    from finance.defaults import ensure_default_chart

    ensure_default_chart()
    start = post_journal_entries([_req("warm-up")])[0].number  # creates the fiscal year outside the race
    barrier = threading.Barrier(4)
    errors = []

    def worker(i):
        try:
            barrier.wait()
            for j in range(5):
                batch = [_req(f"t{i}-{j}-{k}") for k in range(7)]
                if i == 0 and j == 2:
                    try:  # a batch rolled back after taking its numbers gives them back
                        with transaction.atomic():
                            post_journal_entries(batch)
                            raise RuntimeError("rolled back")
                    except RuntimeError:
                        continue
                if j % 2:
                    for req in batch[:2]:  # mixed with single postings
                        post_journal_entry(on=req.on, lines=req.lines, source_type=req.source_type,
                                           source_id=req.source_id, rule=req.rule)
                post_journal_entries(batch)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert _numbers() == list(range(start, start + 1 + 19 * 7))
    assert JournalEntry.objects.filter(source_id__startswith="t0-2-").count() == 0
    # each batch's entries are consecutive: one counter update per batch
    for i, j in ((i, j) for i in range(4) for j in range(5) if (i, j) != (0, 2)):
        nums = sorted(JournalEntry.objects.filter(source_id__regex=rf"^t{i}-{j}-[2-6]$")
                      .values_list("number", flat=True))
        assert nums == list(range(nums[0], nums[0] + 5)), (i, j, nums)


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_whatever_its_size(customer):
    from django.test.utils import CaptureQueriesContext

    AccountOverride.objects.create(role="revenue", product_category="books",
                                   account=AccountFactory(code="4020", type="income", name="Book revenue"))
    novel = ProductFactory(sku="NOVEL", category="books")
    post_journal_entries([_req("warm-up")])  # the fiscal year and the counter exist

    def batch(prefix: str, n: int) -> list[EntryRequest]:
        return [EntryRequest(on=date(2026, 11, 1 + i % 3), source_type="test", source_id=f"{prefix}{i}", rule="t",
                             lines=[Line("ar", D("2.00"), customer_id=customer.pk),
                                    Line("revenue", D("-2.00"), customer_id=customer.pk, product_id=novel.pk)])
                for i in range(n)]

    counts = []
    for prefix, n in (("a", 3), ("b", 60)):
        with CaptureQueriesContext(connection) as ctx:
            post_journal_entries(batch(prefix, n))
        counts.append(len(ctx.captured_queries))
    if connection.vendor == "postgresql":
        assert counts[0] == counts[1]
    else:  # bulk_create splits the lines at SQLite's 999 parameters per statement
        assert counts[1] - counts[0] <= 2
    assert JournalEntry.objects.filter(rule="t").count() == 63
    assert set(JournalLine.objects.filter(entry__rule="t", credit__gt=0).values_list("account__code", flat=True)) == {
        "4020"}
