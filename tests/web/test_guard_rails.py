"""Guard rails on what cannot be undone (#22): postings moved past a closed period are told to
the person who triggers them and queued for finance; irreversible actions need a reason."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from core import roles
from tests.web import scenario

A, OP, F, S = roles.ADMIN, roles.OPERATIONS, roles.FINANCE, roles.SUPPORT
pytestmark = pytest.mark.django_db


@pytest.fixture
def sc(db):
    return scenario.build()


def text(response) -> str:
    return response.content.decode()


def test_a_shipment_into_a_closed_period_warns_the_shipper_and_queues_an_exception(clients, sc, drain):
    from finance.services import close_period, period_for_date
    from ops import services as ops
    from ops.models import ExceptionItem

    period = period_for_date(timezone.localdate())
    close_period(period_id=period.pk)          # as an admin could through the API
    shipment = sc.order.shipments.get(status="ready")
    response = clients[OP].post(reverse("web:shipment-ship", args=[shipment.pk]), {"tracking_number": "T-1"},
                                follow=True)
    assert f"Period {period.name} is closed: this shipment" in text(response)
    drain()
    ops.run_reconciliation(group="sla", names=["postings_rolled_forward"], trigger="manual")
    items = ExceptionItem.objects.filter(kind="sla.postings_rolled_forward")
    assert items.exists() and all(i.owner_role == "finance" for i in items)
    assert all("period closed: posted in" in i.title for i in items)
    queue = text(clients[F].get(reverse("web:exceptions") + "?owner_role=finance"))
    assert "Postings moved" in queue or "posted on" in queue
