"""Test a migration that moves or reshapes data: migrate the test database to just before it,
write rows with the historical models, migrate forward through it, check the rows.

    # tests/migration_tests/test_core_0008_outbox_from_integrations.py (that folder's conftest
    # provides the fixture; elsewhere: from tests.migrations_helper import migration_test)
    pytestmark = pytest.mark.django_db(transaction=True)

    def test_0008_moves_the_outbox(migration_test):
        old = migration_test.before("core", "0008_outbox_from_integrations")   # -> historical apps
        Event = old.get_model("integrations", "OutboxEvent")
        Event.objects.create(...)                                                # rows as they were
        new = migration_test.apply()                                             # runs 0008 only
        assert new.get_model("core", "OutboxEvent").objects.get(...).data == {...}

`before(app, name)` unapplies `name` and everything that depends on it (other apps' later
migrations too), leaving the database at `name`'s parents; `apply()` applies `name` alone;
`backwards()` unapplies it again (to test a reverse function). Use the apps they return, never
the project's models: those describe the latest schema. After the test the database is
migrated to the latest state again, so the tests that follow see the normal schema (an
unapplied dependent is re-applied there, not by `apply()`).

The fixture needs a real transaction (it is built on `transactional_db`; RunPython and
PostgreSQL triggers run as they would in production) and is skipped under --nomigrations.

Why not django-test-migrations (PyPI)? It fits pytest-django, but its `apply_initial_migration`
drops every table and migrates an empty database from zero up to the target, and its reset
runs `migrate` again: 35 s per test on this project's schema on the CI machine's 2 cores. This
helper unapplies only what depends on the migration under test, with Django's MigrationExecutor
(what `migrate` itself runs): a few seconds for a leaf migration, ~70 s for inventory.0002,
on which nearly every other app depends.
"""

from __future__ import annotations

import pytest
from django.apps.registry import Apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

Key = tuple[str, str]


class MigrationTest:
    def __init__(self, database: str = DEFAULT_DB_ALIAS) -> None:
        self.connection = connections[database]
        self.target: Key | None = None

    def _executor(self) -> MigrationExecutor:
        executor = MigrationExecutor(self.connection)
        executor.loader.build_graph()  # the recorder's view of what is applied now
        return executor

    def _applied_apps(self) -> Apps:
        """The historical models of exactly what the database has applied now."""
        loader = self._executor().loader
        applied = [key for key in loader.applied_migrations if key in loader.graph.nodes]
        return loader.project_state(applied).apps

    def _migrate(self, targets: list[tuple[str, str | None]]) -> Apps:
        self._executor().migrate(targets)
        return self._applied_apps()

    def before(self, app_label: str, migration_name: str) -> Apps:
        """Migrate to just before app_label.migration_name; returns the historical apps there."""
        executor = self._executor()
        key = (app_label, migration_name)
        if key not in executor.loader.graph.nodes:
            raise LookupError(f"no migration {app_label}.{migration_name}")
        self.target = key
        parents = [p for p in executor.loader.graph.node_map[key].parents if p.key[0] == app_label]
        previous = parents[0].key[1] if parents else None  # None: the app unapplied entirely
        return self._migrate([(app_label, previous)])

    def apply(self) -> Apps:
        """Apply the migration under test (its dependencies are applied already)."""
        assert self.target is not None, "call before() first"
        return self._migrate([self.target])

    def backwards(self) -> Apps:
        """Unapply the migration under test again (its reverse operation runs)."""
        return self.before(*self.target)

    def restore(self) -> None:
        """Migrate to the latest state of every app, and drop the connection, whose prepared
        statements may describe tables that were dropped and created again."""
        executor = self._executor()
        executor.migrate(executor.loader.graph.leaf_nodes())
        self.connection.close()


@pytest.fixture
def migration_test(transactional_db, django_db_use_migrations):
    """A MigrationTest on the default database; the database is migrated to latest afterwards."""
    if not django_db_use_migrations:
        pytest.skip("--nomigrations was given")
    helper = MigrationTest()
    yield helper
    helper.restore()
