from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from core.append_only import AppendOnlyError
from inventory.models import StockMove
from tests.inventory.conftest import receive


@pytest.fixture
def move(warehouse, product):
    receive(warehouse, product, "5", "1.00")
    return StockMove.objects.get()


def test_orm_cannot_update_or_delete_a_move(move):
    move.quantity = Decimal("6")
    with pytest.raises(AppendOnlyError):
        move.save()
    with pytest.raises(AppendOnlyError):
        move.delete()
    with pytest.raises(AppendOnlyError):
        StockMove.objects.filter(pk=move.pk).update(quantity=Decimal("6"))
    with pytest.raises(AppendOnlyError):
        StockMove.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        StockMove.objects.bulk_update([move], ["quantity"])
    move.refresh_from_db()
    assert move.quantity == Decimal("5")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigger exists on PostgreSQL only")
@pytest.mark.parametrize("sql", [
    "UPDATE inventory_stockmove SET quantity = 99",
    "UPDATE inventory_stockmove SET correlation_id = 'x' WHERE id = %s",
    "DELETE FROM inventory_stockmove",
    "DELETE FROM inventory_stockmove WHERE id = %s",
])
def test_raw_sql_cannot_update_or_delete_a_move(move, sql):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [move.pk] if "%s" in sql else None)
    assert StockMove.objects.get(pk=move.pk).quantity == Decimal("5")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigger exists on PostgreSQL only")
def test_raw_sql_insert_is_allowed(move):
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO inventory_stockmove (product_id, warehouse_id, kind, quantity, unit_cost, value, reference,"
            " source_type, source_id, correlation_id, request_id, created_at) "
            "SELECT product_id, warehouse_id, kind, 1, unit_cost, 1, '', '', '', 'raw', '', now() "
            "FROM inventory_stockmove WHERE id = %s", [move.pk])
    assert StockMove.objects.count() == 2
