"""inventory.0002_stockmove_append_only: stock moves written before the trigger stay as they
were and can no longer be updated or deleted by any client; the reverse removes the trigger."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL only")]


def write_move(apps):
    unit, _ = apps.get_model("inventory", "UnitOfMeasure").objects.get_or_create(code="EA", defaults={"name": "Each"})
    product = apps.get_model("inventory", "Product").objects.create(sku="MIG-1", name="Migrated", uom=unit)
    warehouse = apps.get_model("inventory", "Warehouse").objects.create(code="MIG", name="Migration")
    return apps.get_model("inventory", "StockMove").objects.create(
        product=product, warehouse=warehouse, kind="receipt", quantity=Decimal("5.000"),
        unit_cost=Decimal("4.000000"), value=Decimal("20.00"), correlation_id="c-mig")


def sql(statement: str, move_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, [move_id])


def test_existing_moves_survive_and_become_append_only_and_the_reverse_frees_them(migration_test):
    """One test on purpose: going back to before this migration unapplies nearly every app that
    depends on inventory (sales, finance, integrations…), ~70 s on 2 cores with the re-migration."""
    # given a move in the ledger from before the migration
    move = write_move(migration_test.before("inventory", "0002_stockmove_append_only"))

    # when the migration runs
    new = migration_test.apply()

    # then the move is unchanged and refuses any update or delete
    row = new.get_model("inventory", "StockMove").objects.get(pk=move.pk)
    assert (row.kind, row.quantity, row.value) == ("receipt", Decimal("5.000"), Decimal("20.00"))
    for statement in ("UPDATE inventory_stockmove SET quantity = 6 WHERE id = %s",
                      "DELETE FROM inventory_stockmove WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            sql(statement, move.pk)
    assert new.get_model("inventory", "StockMove").objects.get(pk=move.pk).quantity == Decimal("5.000")

    # and unapplied again, it lets the move change
    old = migration_test.backwards()
    sql("UPDATE inventory_stockmove SET quantity = 6 WHERE id = %s", move.pk)
    assert old.get_model("inventory", "StockMove").objects.get(pk=move.pk).quantity == Decimal("6.000")
