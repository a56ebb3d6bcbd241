"""The read-replica router without a standby: where reads and writes go, and the fallback."""

from __future__ import annotations

import pytest
from django.db import transaction

from core import replica
from core.replica import ReplicaRouter, reading_replica


def test_without_a_replica_everything_reads_and_writes_the_primary(settings):
    settings.DATABASE_REPLICA_ENABLED = False
    router = ReplicaRouter()
    with reading_replica() as alias:
        assert alias is None
        assert router.db_for_read(None) == "default"
        assert replica.read_alias() == "default"
    assert router.db_for_write(None) == "default"


def test_only_the_primary_is_migrated():
    router = ReplicaRouter()
    assert router.allow_migrate("default", "sales") is True
    assert router.allow_migrate("replica", "sales") is False


@pytest.mark.django_db
def test_inside_a_transaction_on_the_primary_reads_stay_there(monkeypatch):
    """Read-your-writes: code in a transaction on the primary (a service deciding) never reads the replica."""
    monkeypatch.setattr(replica, "usable", lambda: True)
    router = ReplicaRouter()
    with transaction.atomic(), reading_replica() as alias:
        assert alias == "replica"
        assert router.db_for_read(None) == "default"


def test_a_usable_replica_takes_the_reads_of_the_block_only(monkeypatch):
    monkeypatch.setattr(replica, "usable", lambda: True)
    router = ReplicaRouter()
    assert router.db_for_read(None) == "default"
    with reading_replica():
        assert router.db_for_read(None) == "replica"
        assert router.db_for_write(None) == "default"
    assert router.db_for_read(None) == "default"


def test_decorated_functions_read_the_replica_each_call(monkeypatch):
    monkeypatch.setattr(replica, "usable", lambda: True)
    router = ReplicaRouter()

    @reading_replica()
    def report():
        return router.db_for_read(None)

    assert [report(), report()] == ["replica", "replica"]
    assert router.db_for_read(None) == "default"
