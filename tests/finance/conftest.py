"""Finance fixtures: reference data by factories, documents through the real services."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finance.models import Account, JournalEntry
from tests.factories.inventory import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory


@pytest.fixture(autouse=True)
def _default_chart(request):
    """The migration loads the default chart; a transactional test elsewhere may have flushed it."""
    from finance.defaults import ensure_default_chart

    if request.node.get_closest_marker("django_db"):
        ensure_default_chart()         # the marker has already opened database access
    elif "db" in request.fixturenames:
        request.getfixturevalue("db")  # open it now, before the chart is checked
        ensure_default_chart()


@pytest.fixture
def customer(db):
    return CustomerFactory(code="ACME", payment_terms_days=30)


@pytest.fixture
def other_customer(db):
    return CustomerFactory(code="OTHER", payment_terms_days=14)


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="MAIN")


@pytest.fixture
def product(db):
    return ProductFactory(sku="WIDGET")


@pytest.fixture
def supplier(db):
    return SupplierFactory(code="SUPPLY")


def balances() -> dict[str, Decimal]:
    """Account role (or code) → debit − credit over the whole journal."""
    from django.db.models import Sum

    from finance.models import JournalLine

    out = {}
    for row in JournalLine.objects.values("account__role", "account__code").annotate(d=Sum("debit"), c=Sum("credit")):
        out[row["account__role"] or row["account__code"]] = row["d"] - row["c"]
    return out


def entry_lines(entry: JournalEntry) -> list[tuple[str, Decimal, Decimal]]:
    """[(role, debit, credit)] sorted, for exact comparisons with DESIGN's table."""
    return sorted((ln.account.role or ln.account.code, ln.debit, ln.credit) for ln in entry.lines.all())


def role_totals(entry: JournalEntry) -> dict[str, Decimal]:
    """role → debit − credit within one entry."""
    out: dict[str, Decimal] = {}
    for ln in entry.lines.all():
        key = ln.account.role or ln.account.code
        out[key] = out.get(key, Decimal("0")) + ln.debit - ln.credit
    return {k: v for k, v in out.items() if v != 0}


def shipment_payload(*, shipment_id: int, order_id: int | None, customer, lines: list[dict], number: str = "SHP-1",
                     shipped_at: str = "2026-11-20T10:00:00+00:00", warehouse_code: str = "MAIN") -> dict:
    return {"shipment_id": shipment_id, "shipment_number": number, "order_id": order_id, "order_number": "SO-1",
            "customer_id": customer.pk, "customer_code": customer.code, "warehouse_code": warehouse_code,
            "shipped_at": shipped_at, "tracking_number": "", "lines": lines}


def account(role: str) -> Account:
    return Account.objects.get(role=role)


# --- real flows through the other apps' services ------------------------------------------------

def receive(warehouse, product, quantity: str, unit_cost: str, *, drain=True, supplier=None):
    from core.messaging.relay import drain_outbox
    from inventory.services import ReceiptLineInput, receive_stock

    receipt = receive_stock(warehouse=warehouse, supplier=supplier,
                            lines=[ReceiptLineInput(product=product, quantity=Decimal(quantity),
                                                    unit_cost=Decimal(unit_cost))])
    if drain:
        drain_outbox()
    return receipt


def order(customer, lines: list[tuple[str, str, str]], *, ref: str = "o1"):
    """lines: (sku, quantity, unit_price). Submitted with authorised prices."""
    from sales.services import CanonicalLine, CanonicalOrder, submit_order

    result = submit_order(CanonicalOrder(customer_code=customer.code, channel="test", external_ref=ref,
                                         lines=[CanonicalLine(sku=s, quantity=Decimal(q), unit_price=Decimal(p))
                                                for s, q, p in lines],
                                         price_authorised=True))
    return result.order


def ship_all(order_obj, *, drain=True):
    from core.messaging.relay import drain_outbox
    from sales.models import Shipment
    from sales.services import ship_shipment

    shipped = []
    for shipment in Shipment.objects.filter(order=order_obj, status="ready").order_by("pk"):
        shipped.append(ship_shipment(shipment_id=shipment.pk))
    if drain:
        drain_outbox()
    return shipped


def return_goods(order_obj, sku: str, quantity: str, disposition: str):
    from core.messaging.relay import drain_outbox
    from sales.services import ReturnLineInput, create_return, receive_return

    ret = create_return(order_id=order_obj.pk, disposition=disposition,
                        lines=[ReturnLineInput(sku=sku, quantity=Decimal(quantity))])
    receive_return(return_id=ret.pk)
    drain_outbox()
    return ret
