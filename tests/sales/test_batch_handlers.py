"""Sales' batch consumers: one backorder run per relay batch, invoices of a batch recorded once."""

from __future__ import annotations

import pytest
from django.db import transaction

from core.messaging.publishing import publish
from core.messaging.relay import dispatch_events

pytestmark = pytest.mark.django_db


def test_a_batch_of_receipts_asks_for_one_backorder_run_with_all_their_products(
        monkeypatch, django_capture_on_commit_callbacks):
    import sales.tasks

    runs: list[list[int]] = []
    monkeypatch.setattr(sales.tasks.allocate_backorders_task, "delay", lambda product_ids: runs.append(product_ids))
    with transaction.atomic():
        for rid, pids in ((1, [7, 3]), (2, [3]), (3, [11])):
            publish("inventory.receipt.posted.v1", f"R-{rid}", {
                "receipt_id": rid, "warehouse_id": None, "supplier_id": None, "received_at": "2026-11-27",
                "lines": [{"product_id": p, "quantity": "1", "value": "0.00"} for p in pids]})

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_events() == 3

    assert runs == [[3, 7, 11]]
