import io

from inventory import demo, selectors
from inventory.models import Product, Receipt, StockMove


def test_demo_seed_is_idempotent(db):
    demo.seed(io.StringIO())
    moves = StockMove.objects.count()
    demo.seed(io.StringIO())

    assert Product.objects.count() == 50
    assert Receipt.objects.filter(reference__startswith="OPENING-").count() == 3
    assert StockMove.objects.count() == moves > 0
    assert selectors.stock_value() == selectors.stock_value_from_levels() > 0
