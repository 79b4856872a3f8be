"""Signing in and out: sessions, timeouts, lockout, CSRF, headers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.models import AuditEvent, Role, UserSession
from app.models.base import utc_now
from tests.factories import TEST_PASSWORD, UserFactory
from tests.pages.conftest import post_form
from tests.signing_in import give_code


def audit_actions(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_sign_in_with_the_right_password_starts_a_session_and_is_audited(client, session, sign_in):
    user = UserFactory(role=Role.FINANCE)

    response = sign_in(user)

    assert response.headers["Location"].endswith("/finance")
    assert "sign_in" in audit_actions(session)
    [record] = session.scalars(select(UserSession).where(UserSession.user_id == user.id))
    assert record.ended_at is None


def test_sign_in_with_a_wrong_password_is_refused_and_audited(client, session):
    user = UserFactory()

    response = post_form(client, "/sign-in", {"email": user.email, "password": "wrong password!!"})

    assert response.status_code == 401
    assert "don&#39;t match" in response.get_data(as_text=True)
    assert audit_actions(session) == ["sign_in.failed"]


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(client):
    response = post_form(
        client, "/sign-in", {"email": "nobody@x.example", "password": "whatever12345"}
    )
    assert response.status_code == 401
    assert "don&#39;t match" in response.get_data(as_text=True)


def test_a_disabled_account_cannot_sign_in(client):
    user = UserFactory(active=False)
    response = post_form(client, "/sign-in", {"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 401


def test_sign_in_without_a_csrf_token_is_refused(client, session):
    user = UserFactory()
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(UserSession)) == 0


def test_sign_in_gives_a_new_session_id(client, session, sign_in):
    user = UserFactory()
    client.get("/sign-in")
    before = client.get_cookie("jg_session")
    sign_in(user)
    after = client.get_cookie("jg_session")
    assert after is not None and (before is None or before.value != after.value)


def test_sign_out_ends_the_session_everywhere(client, session, sign_in):
    user = UserFactory()
    sign_in(user)
    cookie = client.get_cookie("jg_session").value

    post_form(client, "/sign-out", token_from="/finance")

    session.expire_all()
    [record] = session.scalars(select(UserSession).where(UserSession.user_id == user.id))
    assert record.ended_at is not None
    # Replaying the old cookie does not bring the session back.
    client.set_cookie("jg_session", cookie)
    assert client.get("/finance").status_code == 302


def test_an_idle_session_times_out(client, session, sign_in):
    user = UserFactory()
    sign_in(user)
    [record] = session.scalars(select(UserSession).where(UserSession.user_id == user.id))
    record.last_seen_at = utc_now() - timedelta(minutes=31)
    session.commit()

    assert client.get("/finance").status_code == 302


def test_a_session_ends_after_the_absolute_timeout_even_when_busy(client, session, sign_in):
    user = UserFactory()
    sign_in(user)
    [record] = session.scalars(select(UserSession).where(UserSession.user_id == user.id))
    record.started_at = utc_now() - timedelta(hours=13)
    session.commit()

    assert client.get("/finance").status_code == 302


def test_repeated_failures_lock_the_account_for_a_while(client, session):
    user = UserFactory()
    for _ in range(10):
        post_form(client, "/sign-in", {"email": user.email, "password": "not the password"})

    response = post_form(client, "/sign-in", {"email": user.email, "password": TEST_PASSWORD})

    assert response.status_code == 429
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "sign_in.refused")
        )
        == 1
    )


def test_pages_send_security_headers(client):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_http_only_and_same_site(client, sign_in):
    response = sign_in(UserFactory())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_next_parameter_only_redirects_within_the_site(client):
    user = UserFactory()
    response = post_form(
        client,
        "/sign-in?next=https://evil.example/",
        {"email": user.email, "password": TEST_PASSWORD},
    )
    response = give_code(client, response, user)  # finance: the second step comes between
    assert response.headers["Location"].endswith("/finance")


def test_sign_in_attempts_are_rate_limited_per_address(database_url, session_factory):
    from app import create_app
    from app.auth import limiter

    app = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SIGN_IN_RATE_LIMIT": "10 per minute"}
    )
    app.extensions["database"].sessionmaker = session_factory
    client = app.test_client()
    limiter.reset()
    statuses = [
        post_form(
            client, "/sign-in", {"email": "x@y.example", "password": "wrong password!!"}
        ).status_code
        for _ in range(11)
    ]
    limiter.reset()
    app.extensions["database"].dispose()
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
