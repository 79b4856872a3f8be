"""The engine, the session factory and the per-request session.

Plain SQLAlchemy 2: one ``Database`` per application holds the engine and a ``sessionmaker``.
A request gets one session (``db_session()``), closed at teardown; nothing is committed unless
a service commits it, so an error anywhere rolls the whole request back.

An API read by a bearer token (``GET`` or ``HEAD`` under ``/api/``) on PostgreSQL gets a
session of the *reader*: connections in autocommit that the server holds read-only. Each
statement is then its own transaction, which under READ COMMITTED sees what it would have seen
inside one (every statement takes a fresh snapshot), without the BEGIN and ROLLBACK round
trips around it; and a write attempted there fails instead of landing. The one statement of an
API read that answers with one row (``Database.read_first``) goes to the driver without a
session or a SQLAlchemy connection around it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import (
    Dialect,
    Engine,
    Integer,
    PoolProxiedConnection,
    Select,
    any_,
    bindparam,
    create_engine,
    event,
    exc,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, sessionmaker

from app.folding import fold

#: A pooled connection idle longer than this is checked (``SELECT 1``) before it is used again:
#: the server or a firewall may have dropped it meanwhile. One in steady use is not.
PING_AFTER_IDLE_SECONDS = 10.0
#: A connection is replaced after this long, whatever its use.
RECYCLE_SECONDS = 3600


def make_engine(url: str, *, read_only: bool = False, **kwargs) -> Engine:
    """Create an engine; SQLite gets real transactions, foreign keys and a busy timeout.

    ``read_only`` (PostgreSQL): the server holds every transaction of its connections
    read-only."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)
        _make_sqlite_transactional(engine)
        return engine
    kwargs.setdefault("pool_recycle", RECYCLE_SECONDS)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    if engine.dialect.name == "postgresql":
        _set_on_connect(engine, read_only)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    # ``pool_pre_ping`` costs a round trip on every checkout, i.e. on every request; a
    # connection returned a moment ago is alive, so only one idle for a while is pinged.
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
            return
        dialect = engine.dialect
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # The pool drops this connection and checks out another (up to three times).
            raise exc.DisconnectionError("the connection was closed while idle")


def _set_on_connect(engine: Engine, read_only: bool) -> None:
    # PostgreSQL compiles a query to machine code when its estimated cost is high. The
    # set-based rules (windows, qualifying jobs, areas) are long expressions over correlated
    # subqueries, estimated high and cheap to run: at 20,000 graduations the expected
    # liability's query ran in 0.7 s and spent 5.3 s more compiling. Off for this service.
    settings = ["SET SESSION jit = off"]
    if read_only:
        # Every statement's transaction is then read-only.
        settings.append("SET SESSION default_transaction_read_only = on")
    # Once per new connection, in one round trip (statements without parameters go together).
    statement = "; ".join(settings)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # kept, whatever the pool does with a transaction
        with dbapi_connection.cursor() as cursor:
            cursor.execute(statement)
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
        #: The reader's engine (PostgreSQL only): its own pool of read-only connections.
        self.reading_engine = _reading_engine(url) if url.startswith("postgresql") else None
        if self.reading_engine is not None:
            self._reader = sessionmaker(self.reading_engine, expire_on_commit=False)
        self._driver_readings: dict[Select, _DriverReading] = {}

    @property
    def sessionmaker(self) -> sessionmaker:
        return self._sessionmaker

    @sessionmaker.setter
    def sessionmaker(self, factory: sessionmaker) -> None:
        # A factory set from outside (tests joining their own transaction) serves reads too.
        self._sessionmaker = factory
        self._reader: sessionmaker | None = None

    def session(self) -> Session:
        """A new session from the current factory (tests may swap the factory)."""
        return self.sessionmaker()

    def read_session(self) -> Session:
        """A new session that only reads: the reader's on PostgreSQL (see the module), else
        the current factory's."""
        return (self._reader or self.sessionmaker)()

    def read_first(self, statement: Select, parameters: dict) -> Sequence | None:
        """The first row of ``statement`` (``None`` when it finds none), read for an API read:
        on PostgreSQL by one of the reader's connections straight from its pool, through the
        driver (``_DriverReading``); else by the request session's connection (a factory set
        from outside serves reads too)."""
        if self._reader is None:
            return db_session().connection().execute(statement, parameters).first()
        reading = self._driver_readings.get(statement)
        if reading is None:
            reading = self._driver_readings[statement] = _DriverReading(
                statement, self.reading_engine.dialect
            )
        pooled = self.reading_engine.raw_connection()
        try:
            return reading.first(pooled, parameters)
        finally:
            pooled.close()

    def dispose(self) -> None:
        """Close every pooled connection, the reader's too (an application being put away)."""
        self.engine.dispose()
        if self.reading_engine is not None:
            self.reading_engine.dispose()

    def init_app(self, app: Flask) -> None:
        app.extensions["database"] = self
        app.teardown_appcontext(_close_request_session)


class _DriverReading:
    """A select compiled once for a dialect and run on the driver's own cursor, its parameters
    and columns converted by their types as SQLAlchemy converts them, and the driver's errors
    raised as SQLAlchemy raises them. For a statement of every API read: SQLAlchemy's work
    around each execution (a ``Connection``, its context, its result) costs more there than the
    driver's."""

    def __init__(self, statement: Select, dialect: Dialect):
        self.dialect = dialect
        self.compiled = statement.compile(dialect=dialect)
        self.sql = self.compiled.string
        self.bind_processors = [
            (name, processor)
            for name, bind in self.compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        ]
        self.result_processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]

    def first(self, pooled: PoolProxiedConnection, parameters: dict) -> tuple | None:
        values = self.compiled.construct_params(parameters)
        for name, processor in self.bind_processors:
            values[name] = processor(values[name])
        dialect = self.dialect
        try:
            with pooled.cursor() as cursor:
                cursor.execute(self.sql, values)
                found = cursor.fetchone()
        except dialect.loaded_dbapi.Error as error:
            invalidated = dialect.is_disconnect(error, pooled.dbapi_connection, None)
            if invalidated:
                pooled.invalidate(error)  # the pool opens a new one for the next request
            raise exc.DBAPIError.instance(
                self.sql,
                values,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=invalidated,
                dialect=dialect,
            ) from error
        if found is None:
            return None
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self.result_processors, found, strict=True)
        )


def database() -> Database:
    """The current application's ``Database``."""
    return current_app.extensions["database"]


def _reading_engine(url: str) -> Engine:
    # In autocommit no transaction is left open on a connection handed back to the pool: there
    # is nothing for the pool to roll back.
    return make_engine(url, read_only=True, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)


def reads_only() -> bool:
    """Whether the current request only reads: a GET or HEAD of the API by a bearer token.

    A browser's signed-in session may write even when it reads (it records when it was last
    seen, ends itself when expired), so a request without a token is never one of these."""
    current = request._get_current_object()  # one look-up of the request, not three
    # Asked a dozen times a request (the hooks, the session, the reading): answered once.
    answer = current.__dict__.get("_reads_only")
    if answer is None:
        answer = current.__dict__["_reads_only"] = (
            current.method in ("GET", "HEAD")
            and current.path.startswith("/api/")
            and current.headers.get("Authorization", "").startswith("Bearer ")
        )
    return answer


def db_session() -> Session:
    """The session of the current request or CLI command, opened on first use (a reading
    session for an API read)."""
    if "db_session" not in g:
        data = database()
        g.db_session = (
            data.read_session() if has_request_context() and reads_only() else data.session()
        )
    return g.db_session


def _close_request_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
