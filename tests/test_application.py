"""The application class: the hooks an API read by a bearer token runs."""

from __future__ import annotations

import pytest

from app.auth.tokens import create_token
from app.models import Role
from tests.factories import UserFactory


@pytest.fixture
def hooks_run(app) -> list[str]:
    """The names of the hooks run, in order: one of each kind registered as not for API reads,
    and one after-request hook registered as usual."""
    run: list[str] = []
    with app.hooks_not_for_api_reads():
        app.before_request(lambda: run.append("before") and None)

        @app.after_request
        def after(response):
            run.append("after")
            return response

        app.teardown_request(lambda _error: run.append("teardown"))

    @app.after_request
    def always(response):
        run.append("always")
        return response

    return run


@pytest.fixture
def token(session) -> str:
    return create_token(session, user=UserFactory(role=Role.REGISTRAR), name="tests")[1]


def test_an_api_read_by_a_bearer_token_skips_the_hooks_not_for_api_reads(client, hooks_run, token):
    response = client.get("/api/v1/programmes", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert hooks_run == ["always"]
    # The hooks every request needs still ran: its id and the security headers.
    assert len(response.headers["X-Request-ID"]) == 32
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "method, path, authorized",
    [
        ("get", "/api/v1/programmes", False),  # no token: a browser's session may be there
        ("post", "/api/v1/programmes", True),  # a write
        ("get", "/healthz", True),  # not the API
    ],
)
def test_every_other_request_runs_every_hook(client, hooks_run, token, method, path, authorized):
    headers = {"Authorization": f"Bearer {token}"} if authorized else {}

    getattr(client, method)(path, headers=headers, json={} if method == "post" else None)

    assert hooks_run == ["before", "always", "after", "teardown"]
