"""The admin's pages: accounts, API tokens and the audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.auth.passwords import verify_password
from app.models import AuditEvent, Role, User
from tests.factories import TEST_PASSWORD, StudentFactory, UserFactory
from tests.pages.conftest import post_form


@pytest.fixture
def admin(sign_in):
    user = UserFactory(role=Role.ADMIN)
    sign_in(user)
    return user


def post(client, path, data=None, **kwargs):
    return post_form(client, path, data, token_from="/admin/accounts", **kwargs)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def error_of(page: str, field: str) -> str:
    """The error shown next to ``field``."""
    return page.split(f'id="{field}-error">')[1].split("</p>")[0]


def account_form(**fields) -> dict:
    return {
        "email": "Grace@School.example",
        "name": "Grace Hopper",
        "role": "registrar",
        **fields,
    }


def user_with_email(session, email: str) -> User | None:
    session.expire_all()
    return session.scalar(select(User).where(User.email == email))


def test_admin_opens_an_account_and_its_owner_is_invited_to_choose_the_password(
    client, session, admin, mailbox
):
    response = post(client, "/admin/accounts", account_form())

    assert response.status_code == 302
    user = user_with_email(session, "grace@school.example")
    assert user.role is Role.REGISTRAR and user.active
    assert user.password_hash is None  # nobody but Grace will know it
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.invited"))
    assert event.actor == admin.actor and event.target == f"user:{user.id}"
    invitation = mailbox.only()
    assert invitation["To"] == "grace@school.example"
    assert mailbox.link_path(invitation).startswith("/set-password/")
    assert "grace@school.example" in text_of(client.get("/admin/accounts"))


def test_an_account_with_an_email_in_use_is_a_conflict(client, session, admin):
    UserFactory(email="grace@school.example")

    response = post(client, "/admin/accounts", account_form())

    assert response.status_code == 409
    assert "An account with email grace@school.example exists already." in text_of(response)
    assert session.scalar(select(func.count()).select_from(User)) == 2


def test_a_graduate_account_belongs_to_the_student_named_by_email(client, session, admin):
    student = StudentFactory()

    missing = post(client, "/admin/accounts", account_form(role="graduate"))
    assert missing.status_code == 400
    assert "belongs to a student" in error_of(text_of(missing), "student_email")

    response = post(
        client, "/admin/accounts", account_form(role="graduate", student_email=student.email)
    )
    assert response.status_code == 302
    assert user_with_email(session, "grace@school.example").student_id == student.id


def test_disabling_an_account_ends_its_live_session(app, client, session, admin):
    user = UserFactory(role=Role.REGISTRAR)
    other = app.test_client()
    signed_in = post_form(other, "/sign-in", {"email": user.email, "password": TEST_PASSWORD})
    assert signed_in.status_code == 302
    assert other.get("/registrar").status_code == 200

    response = post(client, f"/admin/accounts/{user.id}/active", {"active": "no"})

    assert response.status_code == 302
    assert user_with_email(session, user.email).active is False
    refused = other.get("/registrar")
    assert refused.status_code == 302 and "/sign-in" in refused.headers["Location"]
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "account.disabled"))

    assert post(client, f"/admin/accounts/{user.id}/active", {"active": "yes"}).status_code == 302
    assert user_with_email(session, user.email).active is True


def test_an_admin_cannot_disable_their_own_account(client, session, admin):
    response = post(client, f"/admin/accounts/{admin.id}/active", {"active": "no"})

    assert response.status_code == 409
    assert "You cannot disable your own account." in text_of(response)
    assert user_with_email(session, admin.email).active is True


def test_admin_changes_a_role_and_sends_a_reset_link_without_learning_the_password(
    client, session, admin, mailbox
):
    user = UserFactory(role=Role.FINANCE)

    response = post(client, f"/admin/accounts/{user.id}/role", {"role": "registrar"})
    assert response.status_code == 302
    assert user_with_email(session, user.email).role is Role.REGISTRAR

    response = post(client, f"/admin/accounts/{user.id}/access-link")

    assert response.status_code == 302
    reset = mailbox.only()
    assert reset["To"] == user.email and reset["Subject"] == "Reset your password"
    assert mailbox.link_path(reset).startswith("/set-password/")
    assert verify_password(user_with_email(session, user.email).password_hash, TEST_PASSWORD)


def test_the_audit_log_is_newest_first_and_filters_by_action_and_actor(client, session, admin):
    post(client, "/admin/accounts", account_form())
    post(client, "/account/tokens", {"name": "SIS sync", "lifetime_days": "30"})

    page = text_of(client.get("/admin/audit"))
    order = [
        re.search(rf"<td[^>]*><code>{re.escape(action)}</code></td>", page).start()
        for action in ("token.created", "account.invited", "sign_in")
    ]
    assert order == sorted(order)

    only_accounts = text_of(client.get("/admin/audit?action=account."))
    assert "account.invited" in only_accounts and "token.created" not in only_accounts

    by_actor = text_of(client.get(f"/admin/audit?actor={admin.email.upper()}"))
    assert "account.invited" in by_actor
    assert "No event matches" in text_of(client.get("/admin/audit?actor=nobody%25"))


@pytest.mark.parametrize("path", ["/admin/accounts", "/admin/tokens", "/admin/audit"])
def test_a_registrar_is_refused_the_admin_pages_and_the_refusal_is_audited(
    client, session, sign_in, audit_survives_rollback, path
):
    registrar = UserFactory(role=Role.REGISTRAR)
    sign_in(registrar)

    response = client.get(path)

    assert response.status_code == 403
    session.expire_all()
    [refusal] = session.scalars(select(AuditEvent).where(AuditEvent.action == "access.refused"))
    assert (refusal.actor, refusal.target) == (registrar.actor, path)


def test_a_registrar_cannot_open_an_account(client, session, sign_in, audit_survives_rollback):
    sign_in(UserFactory(role=Role.REGISTRAR))

    response = post_form(client, "/admin/accounts", account_form(), token_from="/registrar")

    assert response.status_code == 403
    assert user_with_email(session, "grace@school.example") is None
