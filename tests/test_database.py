"""The engine and the per-request session on PostgreSQL: queries are planned and run, never
compiled; an API read by a bearer token goes through read-only connections in autocommit (no
BEGIN or ROLLBACK around it), everything else through the writer; a pooled connection is pinged
only after it sat idle, and one that died meanwhile is replaced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, literal_column, select, text, true
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm import Session

from app import create_app, database
from app.auth.tokens import create_token
from app.database import db_session
from app.models import Role, Student, User


@pytest.fixture
def postgresql(committed_database):
    url, engine = committed_database
    if not url.startswith("postgresql"):
        pytest.skip("the reader is PostgreSQL's")
    return url, engine


@pytest.fixture
def served(postgresql):
    url, engine = postgresql
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    with Session(engine) as session:
        user = User(email="registrar@school.example", name="R", role=Role.REGISTRAR)
        user.password_hash = "!"
        session.add(user)
        session.flush()
        _, secret = create_token(session, user=user, name="reads")
        student = Student(name="Ada", email="ada@example.org", country="FR")
        session.add(student)
        session.commit()
        student_id = student.id
    yield app, {"Authorization": f"Bearer {secret}"}, student_id
    app.extensions["database"].dispose()


def test_an_api_read_cannot_write_and_other_requests_can(served):
    app, _, _ = served
    insert = text(
        "INSERT INTO employers (name, contact_email, is_school, created_at)"
        " VALUES ('X', 'x@example.org', false, now())"
    )
    bearer = {"Authorization": "Bearer jg_x"}
    with app.test_request_context("/api/v1/employers", method="GET", headers=bearer):
        reading = db_session()
        assert reading.get_bind() is app.extensions["database"].reading_engine
        with pytest.raises(DBAPIError, match="read-only"):
            reading.execute(insert)
    with app.test_request_context("/api/v1/employers", method="GET"):
        # A browser's session may write as it reads (when it was last seen).
        assert db_session().get_bind() is app.extensions["database"].engine
    with app.test_request_context("/api/v1/employers", method="POST", headers=bearer):
        writing = db_session()
        writing.execute(insert)
        writing.rollback()
    with app.test_request_context("/registrar/students", method="GET"):
        assert db_session().get_bind() is app.extensions["database"].engine


def test_a_read_answers_and_a_connection_dead_while_idle_is_replaced(served, monkeypatch):
    app, headers, student_id = served
    client = app.test_client()
    assert client.get(f"/api/v1/students/{student_id}", headers=headers).json["name"] == "Ada"
    reading_engine = app.extensions["database"].reading_engine
    with reading_engine.connect() as connection:
        pid = connection.scalar(text("SELECT pg_backend_pid()"))
    with app.extensions["database"].engine.begin() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)

    assert client.get(f"/api/v1/students/{student_id}", headers=headers).status_code == 200
    assert client.get("/api/v1/students/999999", headers=headers).status_code == 404


def test_postgresql_connections_run_queries_without_compiling_them(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("query compilation (JIT) is PostgreSQL's; SQLite has none to turn off")
    with engine.connect() as connection:
        assert connection.execute(text("SHOW jit")).scalar() == "off"
        # Still off after a transaction was rolled back: it is the connection's, not a SET
        # LOCAL of one transaction.
        connection.rollback()
        assert connection.execute(text("SHOW jit")).scalar() == "off"


def test_the_readers_driver_reading_converts_as_sqlalchemy_does(served):
    app, _, student_id = served
    data = app.extensions["database"]
    statement = (
        select(User.role, Student.created_at, Student.name)
        .join_from(User, Student, true())
        .where(
            Student.id == bindparam("student_id"),
            Student.created_at <= bindparam("now"),
            User.email == "registrar@school.example",
        )
    )
    parameters = {"student_id": student_id, "now": datetime.now(UTC) + timedelta(hours=1)}
    with app.app_context():
        by_driver = data.read_first(statement, parameters)
        assert data.read_first(statement, {**parameters, "student_id": student_id + 1}) is None
    with data.engine.connect() as connection:
        by_sqlalchemy = tuple(connection.execute(statement, parameters).first())

    assert by_driver == by_sqlalchemy
    role, created_at, _ = by_driver
    assert role is Role.REGISTRAR
    assert created_at.tzinfo is UTC


def test_the_readers_driver_errors_are_sqlalchemys_and_a_dead_connection_is_dropped(served):
    app, _, _ = served
    data = app.extensions["database"]
    with app.app_context(), pytest.raises(DataError):
        data.read_first(select(literal_column("1 / 0")), {})
    with data.reading_engine.connect() as connection:
        pid = connection.scalar(text("SELECT pg_backend_pid()"))
    with data.engine.begin() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    with app.app_context():
        with pytest.raises(DBAPIError) as refused:
            data.read_first(select(literal_column("1")), {})
        assert refused.value.connection_invalidated
        assert data.read_first(select(literal_column("1")), {}) == (1,)
