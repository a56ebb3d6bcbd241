"""A FIFO product through receipts, a sale, a customer return and goods sent back to the
supplier, every figure computed by hand.

Inventory has no supplier-return service (no return-to-vendor move kind, no debit note); the
only way stock leaves towards a supplier and reaches the GL is a count adjustment
(`adjust_stock` below on hand: Dr Inventory adjustment / Cr Inventory). `issue_stock` would
take the stock out but posts nothing to finance, so I5 would not hold.
"""

from decimal import Decimal

import pytest

from finance import selectors
from finance.models import CreditNote, Invoice, JournalEntry
from inventory import selectors as inventory_selectors
from inventory.models import CostLayer, StockMove
from inventory.services import adjust_stock
from tests.factories.inventory import ProductFactory
from tests.finance.conftest import order, receive, return_goods, role_totals, ship_all

D = Decimal
pytestmark = pytest.mark.django_db


def _layers(product):
    return list(CostLayer.objects.filter(product=product).order_by("pk")
                .values_list("quantity_in", "unit_cost", "quantity_remaining", "value_remaining"))


def _entry(source_type, source_id, rule):
    return JournalEntry.objects.get(source_type=source_type, source_id=str(source_id), rule=rule)


def test_fifo_with_customer_return_and_supplier_return_hand_computed(customer, warehouse, drain):
    # given: a FIFO product received twice: layer A 10 @ 2.00 = 20.00, layer B 5 @ 3.10 = 15.50
    product = ProductFactory(sku="FIFO-R", cost_method="fifo")
    receive(warehouse, product, "10", "2.00")
    receive(warehouse, product, "5", "3.10")

    # when: 12 sold @ 10.00 and shipped → FIFO takes all of A (20.00) and 2 of B (2 × 3.10 = 6.20)
    so = order(customer, [(product.sku, "12", "10.00")])
    shipment = ship_all(so)[0]

    # then: COGS 26.20, layer B keeps 3 worth 15.50 − 6.20 = 9.30
    assert role_totals(_entry("sales.shipment", shipment.pk, "shipment_cogs")) == {
        "cogs": D("26.20"), "inventory": D("-26.20")}
    invoice = Invoice.objects.get(shipment_id=shipment.pk)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("120.00"), D("9.60"), D("129.60"))
    assert _layers(product) == [(D("10"), D("2.000000"), D("0"), D("0.00")),
                                (D("5"), D("3.100000"), D("3"), D("9.30"))]

    # when: the customer sends 2 back to stock
    ret = return_goods(so, product.sku, "2", "restock")

    # then: they come back at the cost they left with, 26.20 / 12 = 2.1833333… → 2.183333,
    # worth q2(2 × 2.183333) = q2(4.366666) = 4.37, as a new layer C behind B
    ret_move = StockMove.objects.get(kind="return", reference=ret.number)
    assert (ret_move.quantity, ret_move.unit_cost, ret_move.value) == (D("2"), D("2.183333"), D("4.37"))
    assert _layers(product)[2] == (D("2"), D("2.183333"), D("2"), D("4.37"))
    cn = CreditNote.objects.get(return_ref=str(ret.pk))
    assert (cn.subtotal, cn.tax, cn.total) == (D("20.00"), D("1.60"), D("21.60"))
    assert role_totals(_entry("finance.credit_note", cn.pk, "credit_note")) == {
        "revenue": D("20.00"), "tax_payable": D("1.60"), "ar": D("-21.60"),
        "inventory": D("4.37"), "cogs": D("-4.37")}

    # when: 4 go back to the supplier (count 5 on hand down to 1)
    move = adjust_stock(warehouse=warehouse, product=product, counted_quantity=D("1"), reason="returned to supplier")
    drain()

    # then: FIFO empties B (its whole 9.30) and takes 1 of C: q2(1 × 2.183333) = 2.18 → 11.48,
    # unit cost q6(11.48 / 4) = 2.870000; C keeps 1 worth 4.37 − 2.18 = 2.19
    assert (move.quantity, move.unit_cost, move.value) == (D("-4"), D("2.870000"), D("-11.48"))
    assert _layers(product) == [(D("10"), D("2.000000"), D("0"), D("0.00")),
                                (D("5"), D("3.100000"), D("0"), D("0.00")),
                                (D("2"), D("2.183333"), D("1"), D("2.19"))]
    adjustment = JournalEntry.objects.get(source_type="inventory.adjustment", rule="adjustment")
    assert role_totals(adjustment) == {"inventory": D("-11.48"), "inventory_adjustment": D("11.48")}

    # and: the ledger, in order: +20.00 +15.50 −26.20 +4.37 −11.48 = 2.19
    moves = list(StockMove.objects.filter(product=product).order_by("pk").values_list("kind", "quantity", "value"))
    assert moves == [("receipt", D("10"), D("20.00")), ("receipt", D("5"), D("15.50")),
                     ("shipment", D("-12"), D("-26.20")), ("return", D("2"), D("4.37")),
                     ("adjustment", D("-4"), D("-11.48"))]
    level = inventory_selectors.get_stock_level(warehouse=warehouse, product=product)
    assert (level.on_hand, level.value) == (D("1"), D("2.19"))
    assert inventory_selectors.stock_value() == D("2.19")
    # GL, by hand: Inventory 35.50 − 26.20 + 4.37 − 11.48 = 2.19; COGS 26.20 − 4.37 = 21.83;
    # AR 129.60 − 21.60 = 108.00; revenue 120.00 − 20.00; tax 9.60 − 1.60; GRNI 35.50
    assert selectors.gl_balance_for_role("inventory") == D("2.19")
    assert selectors.gl_balance_for_role("cogs") == D("21.83")
    assert selectors.gl_balance_for_role("inventory_adjustment") == D("11.48")
    assert selectors.gl_balance_for_role("ar") == D("108.00")
    assert selectors.gl_balance_for_role("revenue") == D("100.00")
    assert selectors.gl_balance_for_role("tax_payable") == D("8.00")
    assert selectors.gl_balance_for_role("grni") == D("35.50")
