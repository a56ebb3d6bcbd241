"""Random sequences of receipts, reservations, issues, transfers, adjustments and returns keep
I1 (on_hand = Σ moves), I2 (reserved = Σ active reservations), I3 (0 ≤ reserved ≤ on_hand),
level value = Σ move values = Σ FIFO layers, and stock value = Σ move values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from core.exceptions import DomainError
from inventory import selectors, services
from inventory.models import CostLayer, Reservation, StockLevel
from tests.factories.inventory import ProductFactory, WarehouseFactory

qty = st.integers(min_value=1, max_value=20).map(Decimal)
cost = st.integers(min_value=0, max_value=5000).map(lambda c: Decimal(c) / 100)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.whs = [WarehouseFactory(code="HW1"), WarehouseFactory(code="HW2")]
        self.products = [ProductFactory(sku="HMA"), ProductFactory(sku="HFIFO", cost_method="fifo")]
        self.expected = {}  # (product_id, warehouse_id) → on_hand by our own bookkeeping
        self.n = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _key(self, p, w):
        return (self.products[p].pk, self.whs[w].pk)

    def _ref(self):
        self.n += 1
        return f"D{self.n}"

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=qty, c=cost)
    def receive(self, p, w, q, c):
        services.receive_stock(warehouse=self.whs[w], lines=[
            services.ReceiptLineInput(product=self.products[p], quantity=q, unit_cost=c)])
        k = self._key(p, w)
        self.expected[k] = self.expected.get(k, 0) + q

    @rule(p=st.integers(0, 1), q=qty, all_or_nothing=st.booleans(), order=st.booleans())
    def reserve(self, p, q, all_or_nothing, order):
        whs = self.whs if order else self.whs[::-1]
        services.reserve_stock(requests=[services.ReserveRequest(self._ref(), self.products[p].pk, q)],
                               warehouse_ids=[w.pk for w in whs], all_or_nothing=all_or_nothing)

    @rule(data=st.data())
    def release(self, data):
        active = list(Reservation.objects.filter(status="active").values_list("pk", flat=True))
        if active:
            services.release_reservations(reservation_ids=[data.draw(st.sampled_from(active))])

    @rule(data=st.data())
    def issue_reserved(self, data):
        active = list(Reservation.objects.filter(status="active"))
        if not active:
            return
        r = data.draw(st.sampled_from(active))
        q = data.draw(st.integers(1, int(r.quantity_open)).map(Decimal))
        services.issue_reserved_stock(reservation_ids_and_quantities=[(r.pk, q)], reference="S")
        k = (r.product_id, r.warehouse_id)
        self.expected[k] -= q

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=qty)
    def issue_unreserved(self, p, w, q):
        try:
            services.issue_stock(warehouse=self.whs[w], product=self.products[p], quantity=q, reference="X")
        except DomainError:
            return
        self.expected[self._key(p, w)] -= q

    @rule(p=st.integers(0, 1), src=st.integers(0, 1), q=qty)
    def transfer(self, p, src, q):
        dst = 1 - src
        try:
            services.transfer_stock(from_warehouse=self.whs[src], to_warehouse=self.whs[dst],
                                    lines=[services.TransferLineInput(self.products[p], q)])
        except DomainError:
            return
        self.expected[self._key(p, src)] -= q
        self.expected[self._key(p, dst)] = self.expected.get(self._key(p, dst), 0) + q

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), counted=st.integers(0, 40).map(Decimal))
    def adjust(self, p, w, counted):
        try:
            services.adjust_stock(warehouse=self.whs[w], product=self.products[p], counted_quantity=counted,
                                  reason="count")
        except DomainError:
            return
        self.expected[self._key(p, w)] = counted

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=qty, c=cost, scrap=st.booleans())
    def return_goods(self, p, w, q, c, scrap):
        services.return_stock(warehouse=self.whs[w], product=self.products[p], quantity=q, unit_cost=c,
                              reference="RMA", disposition="scrap" if scrap else "restock")
        if not scrap:
            k = self._key(p, w)
            self.expected[k] = self.expected.get(k, 0) + q

    @invariant()
    def books_balance(self):
        assert selectors.on_hand_discrepancies() == []           # I1 (and level value = Σ move values)
        assert list(selectors.iter_reserved_discrepancies()) == []           # I2
        fifo = {self.products[1].pk}
        for lv in StockLevel.objects.all():
            assert 0 <= lv.reserved <= lv.on_hand                 # I3
            assert lv.value >= 0
            assert lv.on_hand == self.expected.get((lv.product_id, lv.warehouse_id), 0)
            if lv.product_id in fifo:
                layers = CostLayer.objects.filter(product_id=lv.product_id, warehouse_id=lv.warehouse_id).aggregate(
                    q=Sum("quantity_remaining"), v=Sum("value_remaining"))
                assert (layers["q"] or 0) == lv.on_hand and (layers["v"] or 0) == lv.value
        assert selectors.stock_value() == selectors.stock_value_from_levels()


@pytest.mark.django_db
def test_ledger_invariants_hold_under_random_operations():
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=20, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
