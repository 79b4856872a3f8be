"""The engine every process makes: on PostgreSQL, queries are planned and run, never compiled."""

from __future__ import annotations

import pytest
from sqlalchemy import text


def test_postgresql_connections_run_queries_without_compiling_them(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("query compilation (JIT) is PostgreSQL's; SQLite has none to turn off")
    with engine.connect() as connection:
        assert connection.execute(text("SHOW jit")).scalar() == "off"
        # Still off after a transaction was rolled back: it is the connection's, not a SET
        # LOCAL of one transaction.
        connection.rollback()
        assert connection.execute(text("SHOW jit")).scalar() == "off"
