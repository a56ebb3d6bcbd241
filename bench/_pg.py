"""PostgreSQL housekeeping shared by the benchmarks."""

from __future__ import annotations

from urllib.parse import urlparse


def create_database_if_missing(url: str) -> bool:
    """Create the database a postgres:// URL names if it does not exist (through the server's
    `postgres` database). Returns True when it was created; False when it existed or the URL
    is not PostgreSQL's."""
    import psycopg

    parsed = urlparse(url)
    if not parsed.scheme.startswith("postgres"):
        return False
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def vacuum_analyze() -> None:
    """VACUUM ANALYZE the bench database before a measurement. This machine's PostgreSQL runs
    with autovacuum off (its CI configuration); a production server's autovacuum keeps dead
    rows and planner statistics in hand, and without it every earlier run's dead outbox,
    order and reservation rows are scanned again (the relay's claim query took 13 ms instead
    of 0.1 ms after a few runs). Dead rows made during the measurement itself stay, as they
    would between two autovacuum rounds. Does nothing on other databases."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    connection.ensure_connection()
    autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    try:
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    finally:
        connection.set_autocommit(autocommit)
