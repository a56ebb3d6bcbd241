import io

import pytest

from sales import demo
from sales.models import Customer, Order, PartnerAccount

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent(products, wh_main, receive):
    for p in products:
        receive(wh_main, p, 50)
    demo.seed(io.StringIO())
    counts = (Customer.objects.count(), Order.objects.count(), PartnerAccount.objects.count())
    demo.seed(io.StringIO())
    assert counts == (10, 7, 3)
    assert (Customer.objects.count(), Order.objects.count(), PartnerAccount.objects.count()) == counts
    assert Order.objects.filter(customer__code="DUFF").count() == 0
    assert Order.objects.get(external_ref="DEMO-HOLD").status == "credit_hold"
    assert Order.objects.filter(channel="demo", status__in=["shipped", "invoiced"]).count() == 2
