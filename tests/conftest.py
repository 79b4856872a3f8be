"""Fixtures: a migrated database per run, a rolled-back transaction per test, the app and client.

The database is ``TEST_DATABASE_URL`` (a temporary SQLite file when unset). On PostgreSQL each
run works in a schema of its own, dropped at the end, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import migrations
from app import create_app
from app.database import make_engine
from tests import factories

pytest_plugins = ["tests.stripe_fixtures", "tests.mailbox"]

# Every app and process the tests start opens the secrets the factories seal: one key for all.
os.environ["DATA_ENCRYPTION_KEYS"] = factories.TEST_DATA_ENCRYPTION_KEY


def pytest_report_header(config):
    return (
        f"database: {_redacted(os.environ.get('TEST_DATABASE_URL') or 'sqlite (temporary file)')}"
    )


def _redacted(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The URL of the test database (without the per-run schema)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    return url


@pytest.fixture(scope="session")
def engine(database_url) -> Engine:
    """An engine on a freshly migrated database, built once per run."""
    if database_url.startswith("postgresql"):
        schema = f"test_{uuid.uuid4().hex[:12]}"
        admin = make_engine(database_url)
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        engine = make_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
        try:
            with engine.begin() as connection:
                migrations.upgrade(connection=connection)
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    else:
        engine = make_engine(database_url)
        with engine.begin() as connection:
            migrations.upgrade(connection=connection)
        yield engine
        engine.dispose()
        Path(database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)


@contextmanager
def _database_of_its_own(
    database_url: str, tmp_path: Path, revision: str = "head"
) -> Iterator[tuple[str, Engine]]:
    """A database (a PostgreSQL schema, or a SQLite file) migrated to ``revision``, whose
    commits are real; its URL and engine, removed afterwards."""
    if database_url.startswith("postgresql"):
        schema = f"test_proc_{uuid.uuid4().hex[:10]}"
        admin = make_engine(database_url)
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{database_url}{'&' if '?' in database_url else '?'}options=-csearch_path%3D{schema}"
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                migrations.upgrade(connection=connection, revision=revision)
            yield url, engine
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    else:
        url = f"sqlite:///{tmp_path / f'own-{uuid.uuid4().hex[:10]}.sqlite3'}"
        engine = make_engine(url)
        with engine.begin() as connection:
            migrations.upgrade(connection=connection, revision=revision)
        yield url, engine
        engine.dispose()


@pytest.fixture
def committed_database(database_url, tmp_path):
    """A database of this test's own, migrated, whose commits are real; removed afterwards."""
    with _database_of_its_own(database_url, tmp_path) as made:
        yield made


@pytest.fixture
def own_database(database_url, tmp_path):
    """``own_database(revision)``: the engine of a database of this test's own migrated to
    ``revision`` (to test a migration on rows of the schema before it); removed afterwards."""
    with ExitStack() as stack:

        def make(revision: str) -> Engine:
            return stack.enter_context(_database_of_its_own(database_url, tmp_path, revision))[1]

        yield make


@pytest.fixture
def connection(engine):
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        if transaction.is_active:
            transaction.rollback()


@pytest.fixture
def session_factory(connection) -> sessionmaker:
    """Sessions joined to the test's transaction: their commits are savepoints."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory) -> Session:
    """The test's own session; factories write through it."""
    session = session_factory()
    factories.use_session(session)
    yield session
    factories.use_session(None)
    session.close()


@pytest.fixture
def app(database_url, session_factory, session, tmp_path):
    """The application, its requests running in the test's transaction."""
    # The limiter counts per process: every test signing in from 127.0.0.1 would add up, so
    # tests get a limit nobody reaches; the rate limit's own test sets the real one.
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SIGN_IN_RATE_LIMIT": "100000 per minute",
            "FORGOT_PASSWORD_RATE_LIMIT": "100000 per minute",
            "DOCUMENTS_DIR": str(tmp_path / "documents"),
        }
    )
    app.extensions["database"].sessionmaker = session_factory
    yield app
    app.extensions["database"].dispose()


@pytest.fixture
def audit_survives_rollback(app, monkeypatch):
    """Refusals audited by ``record_now`` outlive the request's rollback, as in production.

    In production ``record_now`` commits on a connection of its own. Here every session shares
    the test's connection, so its savepoint would sit inside the request's and the rollback of a
    refused request would undo it: the events are queued and written once the request has ended.
    """
    from app import audit

    queued: list[tuple] = []
    monkeypatch.setattr(audit, "record_now", lambda *event: queued.append(event))

    @app.teardown_request
    def write_queued(_error):
        if queued:
            with app.extensions["database"].session() as writer:
                for event in queued:
                    audit.record(writer, *event)
                writer.commit()
            queued.clear()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
