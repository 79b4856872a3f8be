"""Errors people can read: HTML pages outside the API, problem details inside it, and a form
sent after the session ended is neither lost silently nor saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import Role, UserSession
from app.models.base import utc_now
from tests.factories import UserFactory
from tests.pages.conftest import csrf_token, post_form


def _is_html_page(response) -> bool:
    return response.mimetype == "text/html" and "<!doctype html>" in response.get_data(as_text=True)


def test_a_mistyped_address_is_an_html_page_in_the_sites_look(client):
    response = client.get("/registrar/enrollmentz")

    assert response.status_code == 404
    assert _is_html_page(response)
    assert "Not found" in response.get_data(as_text=True)


def test_an_unknown_api_address_is_still_problem_details(client):
    response = client.get("/api/v1/nowhere")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_get_on_sign_out_is_an_html_page_saying_it_takes_a_form(client):
    response = client.get("/sign-out")

    assert response.status_code == 405
    assert _is_html_page(response)
    assert "not a page" in response.get_data(as_text=True)
    assert "POST" in response.headers["Allow"]


def test_a_stale_csrf_token_is_an_html_page_saying_nothing_was_saved(client, sign_in):
    sign_in(UserFactory(role=Role.ADMIN))
    csrf_token(client, "/admin/accounts")  # the session has a token; the form sends another

    response = client.post(
        "/admin/accounts", data={"name": "Bea", "email": "bea@example.org", "csrf_token": "old"}
    )

    assert response.status_code == 400
    assert _is_html_page(response)
    assert "This form has expired" in response.get_data(as_text=True)


def test_a_too_large_form_is_an_html_413(app, client, sign_in):
    sign_in(UserFactory(role=Role.ADMIN))
    app.config["MAX_CONTENT_LENGTH"] = 1_000

    response = client.post("/admin/accounts", data={"name": "x" * 2_000})

    assert response.status_code == 413
    assert _is_html_page(response)


def test_a_server_error_is_an_html_500_outside_the_api_and_problem_details_inside(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/broken")
    def broken():
        raise RuntimeError("a bug")

    @app.get("/api/v1/broken")
    def broken_api():
        raise RuntimeError("a bug")

    client = app.test_client()
    page, api = client.get("/broken"), client.get("/api/v1/broken")

    assert page.status_code == 500 and _is_html_page(page)
    assert "Something went wrong on our side" in page.get_data(as_text=True)
    assert api.status_code == 500 and api.mimetype == "application/problem+json"


def _expire(session, user) -> None:
    for record in session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
        record.last_seen_at = utc_now() - timedelta(minutes=31)
    session.commit()


@pytest.fixture
def expired_admin(client, session, sign_in):
    """An admin whose session has just passed the idle timeout, with a token read before it."""
    admin = UserFactory(role=Role.ADMIN)
    sign_in(admin)
    token = csrf_token(client, "/admin/accounts")
    _expire(session, admin)
    return admin, token


def _send_new_account(client, token: str):
    return client.post(
        "/admin/accounts",
        data={
            "name": "Bea Typed-Before",
            "email": "bea@example.org",
            "role": "registrar",
            "password": "a secret never kept",
            "csrf_token": token,
        },
        headers={"Referer": "http://localhost/admin/accounts?page=1"},
    )


def test_a_form_sent_after_the_idle_timeout_says_so_and_sends_to_sign_in_back_to_the_page(
    client, expired_admin
):
    response = _send_new_account(client, expired_admin[1])

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in?next=/admin/accounts?page%3D1")
    sign_in_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session ended after 30 minutes without activity" in sign_in_page
    assert "What you sent was not saved" in sign_in_page


def test_what_was_typed_comes_back_once_to_the_same_account_without_its_secrets(
    client, session, expired_admin, sign_in
):
    admin, token = expired_admin
    _send_new_account(client, token)

    sign_in(admin)
    page = client.get("/admin/accounts").get_data(as_text=True)
    again = client.get("/admin/accounts").get_data(as_text=True)

    assert "Not saved yet" in page and "Bea Typed-Before" in page and "bea@example.org" in page
    assert "a secret never kept" not in page
    assert "Bea Typed-Before" not in again
    assert session.scalar(select(UserSession.id).where(UserSession.user_id == admin.id))


def test_what_was_typed_is_not_shown_to_another_account(client, expired_admin, sign_in):
    _send_new_account(client, expired_admin[1])

    sign_in(UserFactory(role=Role.ADMIN))
    page = client.get("/admin/accounts").get_data(as_text=True)

    assert "Bea Typed-Before" not in page


def test_a_form_sent_without_ever_signing_in_keeps_nothing(client):
    response = post_form(client, "/admin/accounts", {"name": "Someone"})

    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You are not signed in. What you sent was not saved" in page
    assert "jg_unsaved" not in response.headers.get("Set-Cookie", "")


def test_an_expired_session_opening_a_page_is_told_why(client, session, sign_in):
    user = UserFactory(role=Role.FINANCE)
    sign_in(user)
    _expire(session, user)

    response = client.get("/finance?state=all")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in?next=/finance?state%3Dall")
    assert "Sign in again to carry on" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
