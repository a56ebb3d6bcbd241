"""Random sequences of receipts, reservations, issues, transfers, adjustments and returns keep
I1 (on_hand = Σ moves), I2 (reserved = Σ active reservations), I3 (0 ≤ reserved ≤ on_hand),
level value = Σ move values = Σ FIFO layers, and stock value = Σ move values."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from functools import partial

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.exceptions import StateConflict
from inventory import selectors, services
from inventory.exceptions import InsufficientStock
from inventory.models import CostLayer, Reservation, StockLevel, StockMove
from tests.factories.inventory import ProductFactory, WarehouseFactory

qty = st.integers(min_value=1, max_value=20).map(Decimal)
cost = st.integers(min_value=0, max_value=5000).map(lambda c: Decimal(c) / 100)


class LedgerMachine(RuleBasedStateMachine):
    """Keeps its own books (on hand, reserved, open reservations) and predicts every outcome:
    a call the model says must succeed has to succeed, and a call it says must be refused
    has to raise that refusal and change nothing."""

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.whs = [WarehouseFactory(code="HW1"), WarehouseFactory(code="HW2")]
        self.products = [ProductFactory(sku="HMA"), ProductFactory(sku="HFIFO", cost_method="fifo")]
        self.on_hand: dict = defaultdict(Decimal)    # (product_id, warehouse_id) → on hand, by our own bookkeeping
        self.reserved: dict = defaultdict(Decimal)   # (product_id, warehouse_id) → reserved
        self.open: dict[int, Decimal] = {}           # active reservation id → quantity open
        self.key_of: dict[int, tuple] = {}           # reservation id → (product_id, warehouse_id)
        self.n = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _key(self, p, w):
        return (self.products[p].pk, self.whs[w].pk)

    def _available(self, k) -> Decimal:
        return self.on_hand[k] - self.reserved[k]

    def _ref(self):
        self.n += 1
        return f"D{self.n}"

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=qty, c=cost)
    def receive(self, p, w, q, c):
        services.receive_stock(warehouse=self.whs[w], lines=[
            services.ReceiptLineInput(product=self.products[p], quantity=q, unit_cost=c)])
        self.on_hand[self._key(p, w)] += q

    @rule(p=st.integers(0, 1), q=qty, all_or_nothing=st.booleans(), order=st.booleans())
    def reserve(self, p, q, all_or_nothing, order):
        ws = [0, 1] if order else [1, 0]
        # the model's plan: as much as is available from the first warehouse, then the next
        plan, need = [], q
        for w in ws:
            take = min(need, max(self._available(self._key(p, w)), Decimal(0)))
            if take > 0:
                plan.append((self.whs[w].pk, take))
                need -= take
        if need > 0 and all_or_nothing:
            plan = []
        made = services.reserve_stock(requests=[services.ReserveRequest(self._ref(), self.products[p].pk, q)],
                                      warehouse_ids=[self.whs[w].pk for w in ws], all_or_nothing=all_or_nothing)
        assert [(r.warehouse_id, r.quantity) for r in made] == plan
        for r in made:
            k = (r.product_id, r.warehouse_id)
            self.reserved[k] += r.quantity
            self.open[r.pk], self.key_of[r.pk] = r.quantity, k

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def release(self, data):
        rid = data.draw(st.sampled_from(sorted(self.open)))
        services.release_reservations(reservation_ids=[rid])
        self.reserved[self.key_of[rid]] -= self.open.pop(rid)

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def issue_reserved(self, data):
        rid = data.draw(st.sampled_from(sorted(self.open)))
        q = data.draw(st.integers(1, int(self.open[rid])).map(Decimal))
        services.issue_reserved_stock(reservation_ids_and_quantities=[(rid, q)], reference="S")
        k = self.key_of[rid]
        self.on_hand[k] -= q
        self.reserved[k] -= q
        self.open[rid] -= q
        if not self.open[rid]:
            del self.open[rid]

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=qty)
    def issue_unreserved(self, p, w, q):
        k = self._key(p, w)
        call = partial(services.issue_stock, warehouse=self.whs[w], product=self.products[p], quantity=q,
                       reference="X")
        if self._available(k) < q:
            self._refused(call, InsufficientStock)
            return
        result = call()
        assert (result.quantity, result.warehouse_id) == (q, self.whs[w].pk)
        self.on_hand[k] -= q

    @rule(p=st.integers(0, 1), src=st.integers(0, 1), q=qty)
    def transfer(self, p, src, q):
        dst = 1 - src
        call = partial(services.transfer_stock, from_warehouse=self.whs[src], to_warehouse=self.whs[dst],
                       lines=[services.TransferLineInput(self.products[p], q)])
        if self._available(self._key(p, src)) < q:
            self._refused(call, InsufficientStock)
            return
        transfer = call()
        assert [line.quantity for line in transfer.lines.all()] == [q]
        self.on_hand[self._key(p, src)] -= q
        self.on_hand[self._key(p, dst)] += q

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), counted=st.integers(0, 40).map(Decimal))
    def adjust(self, p, w, counted):
        k = self._key(p, w)
        call = partial(services.adjust_stock, warehouse=self.whs[w], product=self.products[p],
                       counted_quantity=counted, reason="count")
        if counted < self.reserved[k]:
            self._refused(call, StateConflict)
            return
        move = call()
        assert (move.quantity if move else 0) == counted - self.on_hand[k]
        self.on_hand[k] = counted

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=qty, c=cost, scrap=st.booleans())
    def return_goods(self, p, w, q, c, scrap):
        services.return_stock(warehouse=self.whs[w], product=self.products[p], quantity=q, unit_cost=c,
                              reference="RMA", disposition="scrap" if scrap else "restock")
        if not scrap:
            self.on_hand[self._key(p, w)] += q

    def _refused(self, call, error):
        """The call must raise `error` and write nothing (no move, no level change)."""
        moves = StockMove.objects.count()
        levels = sorted(StockLevel.objects.values_list("product_id", "warehouse_id", "on_hand", "reserved"))
        with pytest.raises(error):
            call()
        assert StockMove.objects.count() == moves
        assert sorted(StockLevel.objects.values_list("product_id", "warehouse_id", "on_hand", "reserved")) == levels

    @invariant()
    def books_balance(self):
        assert selectors.on_hand_discrepancies() == []           # I1 (and level value = Σ move values)
        assert list(selectors.iter_reserved_discrepancies()) == []           # I2
        fifo = {self.products[1].pk}
        for lv in StockLevel.objects.all():
            assert 0 <= lv.reserved <= lv.on_hand                 # I3
            assert lv.value >= 0
            assert lv.on_hand == self.on_hand[(lv.product_id, lv.warehouse_id)]
            assert lv.reserved == self.reserved[(lv.product_id, lv.warehouse_id)]
            if lv.product_id in fifo:
                layers = CostLayer.objects.filter(product_id=lv.product_id, warehouse_id=lv.warehouse_id).aggregate(
                    q=Sum("quantity_remaining"), v=Sum("value_remaining"))
                assert (layers["q"] or 0) == lv.on_hand and (layers["v"] or 0) == lv.value
        assert selectors.stock_value() == selectors.stock_value_from_levels()
        active = dict(Reservation.objects.filter(status="active").values_list("pk", "quantity_open"))
        assert active == self.open


@pytest.mark.django_db
def test_ledger_invariants_hold_under_random_operations():
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=20, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
