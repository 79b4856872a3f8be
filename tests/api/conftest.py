"""Fixtures of the API tests: a record of each kind, and row counts to prove a refused request
wrote nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.auth.tokens import create_token
from app.models import Base, Role
from tests import factories


@pytest.fixture
def row_counts(session) -> Callable[[], dict[str, int]]:
    """A function returning the number of rows of every table, as the requests see them."""

    counts = select(
        *(
            select(func.count()).select_from(table).scalar_subquery().label(table.name)
            for table in Base.metadata.sorted_tables
        )
    )

    def count() -> dict[str, int]:
        return dict(session.execute(counts).one()._mapping)

    return count


@pytest.fixture
def refused(client, row_counts):
    """Send a request that must be refused: returns the response, after checking no row moved."""

    def send(method: str, url: str, **kwargs):
        before = row_counts()
        response = client.open(url, method=method, **kwargs)
        assert row_counts() == before, f"{method} {url} -> {response.status_code} wrote rows"
        return response

    return send


@pytest.fixture
def records(session) -> dict[str, int]:
    """One record of each kind, linked up; maps each path parameter of the API to an id."""
    outcome = factories.JobOutcomeFactory()
    graduation = outcome.graduation
    enrollment = graduation.enrollment
    factories.TuitionPaymentFactory(enrollment=enrollment, stripe_payment_intent_id="pi_taken")
    claim = factories.RefundClaimFactory(graduation=graduation)
    return {
        "claim_id": claim.id,
        "programme_id": enrollment.programme_id,
        "policy_id": enrollment.policy_id,
        "student_id": enrollment.student_id,
        "employer_id": outcome.employer_id,
        "enrollment_id": enrollment.id,
        "graduation_id": graduation.id,
        "outcome_id": outcome.id,
    }


class StaffClient(FlaskClient):
    """A test client that calls the API as staff: finance for claims and the expected liability,
    a registrar otherwise.

    A request that sets its own ``Authorization`` header (or ``anonymous=True``) is sent as is.
    """

    tokens: dict[Role, str] = {}

    def open(self, *args, anonymous: bool = False, **kwargs):
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "")
        headers = dict(kwargs.pop("headers", None) or {})
        if not anonymous and "Authorization" not in headers:
            finance = ("/claims", "/recovery-items", "/liability")
            role = Role.FINANCE if any(p in str(path) for p in finance) else Role.REGISTRAR
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return super().open(*args, headers=headers, **kwargs)


@pytest.fixture
def staff_tokens(session) -> dict[Role, str]:
    """A bearer token of each staff role, each of a staff account of its own."""
    return {
        role: create_token(session, user=factories.UserFactory(role=role), name="tests")[1]
        for role in (Role.FINANCE, Role.REGISTRAR, Role.ADMIN)
    }


@pytest.fixture
def client(app, staff_tokens):
    """The API tests' client: staff credentials on every request unless told otherwise."""
    app.test_client_class = StaffClient
    test_client = app.test_client()
    test_client.tokens = staff_tokens
    return test_client


@pytest.fixture
def anonymous_client(app):
    """A client with no credentials."""
    app.test_client_class = FlaskClient
    return app.test_client()
