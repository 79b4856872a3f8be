"""Counting the SQL statements a piece of code sends, to pin that it does not grow per row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine


@contextmanager
def statements_sent(bind: Engine | Connection) -> Iterator[list[str]]:
    """The statements sent through ``bind`` inside the block (SAVEPOINTs included)."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    engine = bind.engine if isinstance(bind, Connection) else bind
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
