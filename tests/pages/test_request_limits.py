"""Request bodies: at most MAX_CONTENT_LENGTH (the CSV import has its own, larger bound), and
an anonymous caller is refused before its body is read."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from app.auth.tokens import create_token
from app.models import Role, Student
from tests.factories import UserFactory
from tests.pages.conftest import post_form

LIMIT = 1024 * 1024


class CountedBody(io.BytesIO):
    """A request body that counts how much of it the app reads."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        chunk = super().readline(size)
        self.bytes_read += len(chunk)
        return chunk


def big_json(size: int) -> bytes:
    return json.dumps({"name": "Ada", "email": "ada@example.org", "pad": "x" * size}).encode()


def students(session) -> int:
    return session.scalar(select(func.count()).select_from(Student))


def test_the_default_body_limit_is_one_mebibyte(app):
    assert app.config["MAX_CONTENT_LENGTH"] == LIMIT


@pytest.mark.parametrize(
    "path, content_type, refused_with",
    [
        ("/api/v1/students", "application/json", 401),
        ("/registrar/students", "application/x-www-form-urlencoded", 302),
    ],
)
def test_an_anonymous_body_is_refused_before_it_is_read(
    client, session, path, content_type, refused_with
):
    body = CountedBody(b"a" * (LIMIT // 2))

    response = client.post(
        path, input_stream=body, content_length=LIMIT // 2, content_type=content_type
    )

    assert response.status_code == refused_with
    assert body.bytes_read == 0
    assert students(session) == 0


def test_an_anonymous_body_larger_than_the_limit_is_refused_unread(client):
    body = CountedBody(b"a" * (LIMIT + 1))

    response = client.post(
        "/api/v1/students",
        input_stream=body,
        content_length=LIMIT + 1,
        content_type="application/json",
    )

    assert response.status_code == 401
    assert body.bytes_read == 0


def test_an_api_body_over_the_limit_is_413_in_json_and_writes_nothing(client, session):
    _token, secret = create_token(session, user=UserFactory(role=Role.REGISTRAR), name="limits")
    body = big_json(LIMIT)

    response = client.post(
        "/api/v1/students",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )

    assert response.status_code == 413
    assert response.json["code"] == 413
    assert students(session) == 0


def test_an_api_body_under_the_limit_is_read(client, session):
    _token, secret = create_token(session, user=UserFactory(role=Role.REGISTRAR), name="limits")

    response = client.post(
        "/api/v1/students",
        data=json.dumps({"name": "Ada", "email": "ada@example.org", "country": "GB"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )

    assert response.status_code == 201, response.json
    assert students(session) == 1


def test_a_page_form_over_the_limit_is_413(client, session, sign_in):
    sign_in(UserFactory(role=Role.REGISTRAR))

    response = post_form(
        client,
        "/registrar/students",
        {"name": "Ada", "email": "ada@example.org", "country": "GB", "pad": "x" * LIMIT},
        token_from="/registrar",
    )

    assert response.status_code == 413
    assert students(session) == 0


def test_the_csv_import_keeps_its_own_larger_bound(app, client, session, sign_in):
    app.config["MAX_CONTENT_LENGTH"] = 2000  # the pages' limit, far below the import's
    sign_in(UserFactory(role=Role.REGISTRAR))
    rows = "".join(f"Person {n},person{n}@example.org,GB\n" for n in range(200))

    response = post_form(
        client,
        "/registrar/import",
        {"kind": "students", "file": (io.BytesIO(f"name,email,country\n{rows}".encode()), "s.csv")},
        token_from="/registrar",
        content_type="multipart/form-data",
    )

    assert response.status_code == 302, response.get_data(as_text=True)[:300]  # imported
    assert students(session) == 200
