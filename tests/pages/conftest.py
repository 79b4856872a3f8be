"""Fixtures for page tests: accounts of every role, signing in, posting forms with CSRF."""

from __future__ import annotations

import re

import pytest

from app.models import Role
from tests.factories import (
    TEST_PASSWORD,
    EmployerFactory,
    GraduationFactory,
    StudentFactory,
    UserFactory,
)
from tests.signing_in import sign_in_client

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/sign-in") -> str:
    """A CSRF token for the client's session, read from a page's form."""
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def post_form(
    client, path: str, data: dict | None = None, *, token_from: str = "/sign-in", **kwargs
):
    """POST a form as a browser would: with the CSRF token of the client's session."""
    return client.post(
        path, data={**(data or {}), "csrf_token": csrf_token(client, token_from)}, **kwargs
    )


@pytest.fixture
def sign_in(client):
    """``sign_in(user)``: sign the test client in as ``user`` through the sign-in form (and the
    second step, for an account with a second factor)."""

    def do(user, password: str = TEST_PASSWORD):
        response = sign_in_client(client, user, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do


@pytest.fixture
def accounts(session):
    """One account of every role (and a second graduate, employer and finance user)."""
    graduation_a = GraduationFactory()
    graduation_b = GraduationFactory()
    employer_x, employer_y = EmployerFactory(), EmployerFactory()
    return {
        "graduate_a": UserFactory(role=Role.GRADUATE, student=graduation_a.enrollment.student),
        "graduate_b": UserFactory(role=Role.GRADUATE, student=graduation_b.enrollment.student),
        "employer_x": UserFactory(role=Role.EMPLOYER, employer=employer_x),
        "employer_y": UserFactory(role=Role.EMPLOYER, employer=employer_y),
        "finance_1": UserFactory(role=Role.FINANCE),
        "finance_2": UserFactory(role=Role.FINANCE),
        "registrar": UserFactory(role=Role.REGISTRAR),
        "admin": UserFactory(role=Role.ADMIN),
        "graduation_a": graduation_a,
        "graduation_b": graduation_b,
        "student_without_account": StudentFactory(),
    }
