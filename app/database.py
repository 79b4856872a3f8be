"""The engine, the session factory and the per-request session.

Plain SQLAlchemy 2: one ``Database`` per application holds the engine and a ``sessionmaker``.
A request gets one session (``db_session()``), closed at teardown; nothing is committed unless
a service commits it, so an error anywhere rolls the whole request back.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine, Integer, any_, bindparam, create_engine, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, sessionmaker

from app.folding import fold


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets real transactions, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)
        _make_sqlite_transactional(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if engine.dialect.name == "postgresql":
        _without_jit(engine)
    return engine


def _without_jit(engine: Engine) -> None:
    # PostgreSQL compiles a query to machine code when its estimated cost is high. The
    # set-based rules (windows, qualifying jobs, areas) are long expressions over correlated
    # subqueries, estimated high and cheap to run: at 20,000 graduations the expected
    # liability's query ran in 0.7 s and spent 5.3 s more compiling. Off for this service.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.autocommit = autocommit


def among(session: Session, column, ids: list[int]):
    """``column IN ids`` for a batch job's many ids; on PostgreSQL ``column = ANY(:ids)``, the
    ids one array parameter: a thousand ids are then neither rendered nor parsed as a thousand
    placeholders per query, and the statement is compiled once."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def _make_sqlite_transactional(engine: Engine) -> None:
    # pysqlite opens transactions lazily and ignores SAVEPOINT semantics; take over BEGIN
    # ourselves (SQLAlchemy's documented recipe) and switch foreign keys on per connection.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()
        # The searches' accent- and case-folding, which PostgreSQL does with translate().
        dbapi_connection.create_function("fold", 1, fold, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE takes the write lock at once (waiting up to the busy timeout), so a
        # transaction that reads and then writes cannot fail half-way on a concurrent writer.
        # With WAL, readers are never blocked by it.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The engine and session factory of one application."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        """A new session from the current factory (tests may swap the factory)."""
        return self.sessionmaker()

    def init_app(self, app: Flask) -> None:
        app.extensions["database"] = self
        app.teardown_appcontext(_close_request_session)


def database() -> Database:
    """The current application's ``Database``."""
    return current_app.extensions["database"]


def db_session() -> Session:
    """The session of the current request or CLI command, opened on first use."""
    if "db_session" not in g:
        g.db_session = database().session()
    return g.db_session


def _close_request_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
