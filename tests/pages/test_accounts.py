"""People's own way in: invitations, forgot password, the second factor, their account page."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from app.auth.passwords import verify_password
from app.models import AccountLink, AuditEvent, RecoveryCode, Role, Student, User, UserSession
from app.models.base import utc_now
from tests.factories import (
    TEST_PASSWORD,
    TEST_TOTP_SECRET,
    StudentFactory,
    UserFactory,
    factory_keyring,
    second_factor_code,
)
from tests.pages.conftest import post_form
from tests.signing_in import give_code, sign_in_client

NEW_PASSWORD = "copper-meadow-signal-77"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def fresh(session, user) -> User:
    session.expire_all()
    return session.get(User, user.id)


def wait_for_messages(mailbox, count: int, timeout: float = 5.0):
    """The messages once ``count`` have arrived (some are sent from a thread of their own)."""
    deadline = time.monotonic() + timeout
    while len(mailbox.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return mailbox.messages


def set_password(client, path: str, password: str = NEW_PASSWORD, *, live: bool = True):
    """Post the set-password form (the CSRF token from the link's page, or from the sign-in page
    when the link no longer works)."""
    return post_form(
        client,
        path,
        {"password": password, "password_again": password},
        token_from=path if live else "/sign-in",
    )


# -- Invitations -------------------------------------------------------------------------------


@pytest.fixture
def admin(client, sign_in):
    user = UserFactory(role=Role.ADMIN)
    sign_in(user)
    return user


def invite(client, email="nina@school.example", role="registrar"):
    return post_form(
        client,
        "/admin/accounts",
        {"email": email, "name": "Nina Novak", "role": role},
        token_from="/admin/accounts",
    )


def test_an_invited_person_sets_their_password_once_and_signs_in(app, session, admin, mailbox):
    admin_client = app.test_client()
    sign_in_client(admin_client, admin)
    assert invite(admin_client).status_code == 302
    link = mailbox.link_path(mailbox.only())
    stranger = app.test_client()

    page = stranger.get(link)
    assert page.status_code == 200 and "nina@school.example" in text_of(page)
    response = set_password(stranger, link)

    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    user = session.scalar(select(User).where(User.email == "nina@school.example"))
    assert verify_password(fresh(session, user).password_hash, NEW_PASSWORD)
    assert sign_in_client(stranger, user, NEW_PASSWORD).headers["Location"].endswith("/registrar")
    used = app.test_client().get(link)
    assert used.status_code == 410
    assert used.mimetype == "text/html" and "used already" in text_of(used)
    assert session.scalar(
        select(AuditEvent).where(AuditEvent.action == "account.invitation_accepted")
    )


def test_an_expired_invitation_is_a_page_saying_so_and_sets_nothing(app, session, admin, mailbox):
    invite(_admin_client(app, admin))
    link = mailbox.link_path(mailbox.only())
    record = session.scalar(select(AccountLink))
    record.expires_at = utc_now() - timedelta(seconds=1)
    session.commit()

    page = app.test_client().get(link)
    refused = set_password(app.test_client(), link, live=False)

    assert page.status_code == 410 and page.mimetype == "text/html"
    assert "expired" in text_of(page) and "ask for a new link" in text_of(page)
    assert refused.status_code == 410
    user = session.scalar(select(User).where(User.email == "nina@school.example"))
    assert fresh(session, user).password_hash is None


def _admin_client(app, admin):
    client = app.test_client()
    sign_in_client(client, admin)
    return client


def test_an_invitation_lasts_the_configured_days(app, session, admin, mailbox):
    app.config["INVITATION_DAYS"] = 3
    before = utc_now()
    invite(_admin_client(app, admin))

    record = session.scalar(select(AccountLink))
    assert timedelta(days=3) - timedelta(minutes=1) < record.expires_at - before
    assert record.expires_at - before <= timedelta(days=3, minutes=1)
    token = mailbox.link_path(mailbox.only()).rsplit("/", 1)[1]
    assert token not in record.token_hash  # only its hash is kept


def test_an_unknown_link_is_a_404_page_not_json(client):
    response = client.get("/set-password/not-a-real-token")

    assert response.status_code == 404
    assert response.mimetype == "text/html" and "not valid" in text_of(response)


def test_a_weak_password_is_refused_and_the_link_still_works(app, session, admin, mailbox):
    invite(_admin_client(app, admin))
    link = mailbox.link_path(mailbox.only())
    client = app.test_client()

    weak = set_password(client, link, "password1234")

    assert weak.status_code == 400 and "very common password" in text_of(weak)
    assert set_password(client, link).status_code == 302


def test_a_newer_invitation_replaces_the_older_link(app, session, admin, mailbox):
    admin_client = _admin_client(app, admin)
    invite(admin_client)
    first = mailbox.link_path(mailbox.only())
    user = session.scalar(select(User).where(User.email == "nina@school.example"))
    mailbox.clear()

    post_form(
        admin_client,
        f"/admin/accounts/{user.id}/access-link",
        token_from="/admin/accounts",
    )

    second = mailbox.link_path(mailbox.only())
    assert app.test_client().get(first).status_code == 410
    assert app.test_client().get(second).status_code == 200


# -- Inviting the students of an import --------------------------------------------------------

STUDENTS_CSV = (
    "name,email,country\nAda Lovelace,ada@example.org,GB\nAlan Turing,alan@example.org,GB\n"
)


def test_a_registrar_invites_the_students_of_an_import(client, session, sign_in, mailbox):
    sign_in(UserFactory(role=Role.REGISTRAR))
    result = post_form(
        client,
        "/registrar/import",
        {"kind": "students", "file": (io.BytesIO(STUDENTS_CSV.encode()), "students.csv")},
        token_from="/registrar/import",
        content_type="multipart/form-data",
    )
    assert result.status_code == 302
    page = text_of(client.get("/registrar/import"))
    assert "Invite 2 students" in page
    ids = sorted(session.scalars(select(Student.id)))
    assert f'value="{ids[0]},{ids[1]}"' in page

    response = post_form(
        client,
        "/registrar/import/invitations",
        {"student_ids": ",".join(map(str, ids))},
        token_from="/registrar/import",
    )

    assert response.status_code == 302
    assert sorted(message["To"] for message in mailbox.messages) == [
        "ada@example.org",
        "alan@example.org",
    ]
    accounts = session.scalars(select(User).where(User.student_id.in_(ids))).all()
    assert {(a.role, a.password_hash) for a in accounts} == {(Role.GRADUATE, None)}
    assert "Invite" not in text_of(client.get("/registrar/import"))  # done: no offer again


def test_the_api_invites_students_by_email_and_says_whom_it_skipped(
    client, session, sign_in, mailbox
):
    sign_in(UserFactory(role=Role.REGISTRAR))
    new = StudentFactory(email="new@example.org")
    settled = StudentFactory(email="settled@example.org")
    UserFactory(role=Role.GRADUATE, student=settled, email="settled@example.org")
    token = _csrf(client)  # a browser session sends its CSRF token in a header

    response = client.post(
        "/api/v1/invitations",
        json={
            "student_ids": [],
            "emails": ["NEW@example.org", "settled@example.org", "ghost@example.org"],
        },
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200
    body = response.get_json()
    assert [item["student_id"] for item in body["invited"]] == [new.id]
    assert {item["asked"]: item["reason"] for item in body["skipped"]} == {
        "settled@example.org": "has an account with a password already",
        "ghost@example.org": "no such student",
    }
    assert body["emails_sent"] == 1 and mailbox.only()["To"] == "new@example.org"


def _csrf(client) -> str:
    import re

    page = text_of(client.get("/account"))
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_finance_may_not_invite_students(client, session, sign_in, audit_survives_rollback):
    sign_in(UserFactory(role=Role.FINANCE))
    student = StudentFactory()

    response = client.post(
        "/api/v1/invitations",
        json={"student_ids": [student.id]},
        headers={"X-CSRFToken": _csrf(client)},
    )

    assert response.status_code == 403
    assert session.scalar(select(User).where(User.student_id == student.id)) is None


# -- Forgot password ---------------------------------------------------------------------------


def forgot(client, email: str):
    return post_form(client, "/forgot-password", {"email": email}, token_from="/forgot-password")


def test_forgot_password_answers_the_same_for_an_unknown_address_and_sends_nothing(
    app, session, mailbox
):
    user = UserFactory(role=Role.REGISTRAR)
    known_client, unknown_client = app.test_client(), app.test_client()

    known = forgot(known_client, user.email)
    unknown = forgot(unknown_client, "nobody@school.example")

    assert (known.status_code, known.headers["Location"]) == (
        unknown.status_code,
        unknown.headers["Location"],
    )
    assert text_of(known_client.get("/sign-in")) == text_of(unknown_client.get("/sign-in")).replace(
        _csrf_of(unknown_client), _csrf_of(known_client)
    )
    [message] = wait_for_messages(mailbox, 1)
    time.sleep(0.3)  # nothing more arrives for the unknown address
    assert [m["To"] for m in mailbox.messages] == [user.email]
    assert message["Subject"] == "Reset your password"


def _csrf_of(client) -> str:
    import re

    return re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', text_of(client.get("/sign-in"))
    ).group(1)


def test_a_reset_link_sets_the_password_once_and_signs_the_account_out_everywhere(
    app, session, mailbox
):
    user = UserFactory(role=Role.REGISTRAR)
    elsewhere = app.test_client()
    sign_in_client(elsewhere, user)
    assert elsewhere.get("/registrar").status_code == 200

    forgot(app.test_client(), user.email)
    [message] = wait_for_messages(mailbox, 1)
    link = mailbox.link_path(message)
    client = app.test_client()
    assert set_password(client, link).status_code == 302

    assert verify_password(fresh(session, user).password_hash, NEW_PASSWORD)
    assert elsewhere.get("/registrar").status_code == 302  # that session has ended
    assert set_password(app.test_client(), link, live=False).status_code == 410


def test_forgot_password_is_rate_limited_per_address(database_url, session_factory, session):
    from app import create_app
    from app.auth import limiter

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "FORGOT_PASSWORD_RATE_LIMIT": "3 per minute",
            "SMTP_PORT": 9,  # nothing is sent: the addresses are unknown anyway
        }
    )
    app.extensions["database"].sessionmaker = session_factory
    client = app.test_client()
    limiter.reset()

    statuses = [forgot(client, f"n{n}@example.org").status_code for n in range(4)]

    assert statuses == [302, 302, 302, 429]


# -- The second factor -------------------------------------------------------------------------


def password_step(client, user, password=TEST_PASSWORD):
    return post_form(client, "/sign-in", {"email": user.email, "password": password})


def give(client, code: str):
    return post_form(client, "/sign-in/code", {"code": code}, token_from="/sign-in/code")


def test_finance_is_asked_for_the_code_and_nothing_opens_before_it(client, session):
    user = UserFactory(role=Role.FINANCE)

    response = password_step(client, user)

    assert response.headers["Location"].endswith("/sign-in/code")
    assert client.get("/finance").status_code == 302
    assert client.get("/api/v1/claims").status_code == 401
    assert session.scalar(select(UserSession).where(UserSession.user_id == user.id)) is None
    wrong = give(client, "000000" if second_factor_code(user.id) != "000000" else "111111")
    assert wrong.status_code == 401
    assert give(client, second_factor_code(user.id)).headers["Location"].endswith("/finance")
    assert client.get("/finance").status_code == 200


def test_a_code_signs_in_once(app, session):
    user = UserFactory(role=Role.ADMIN)
    code = second_factor_code(user.id)
    first, second = app.test_client(), app.test_client()

    password_step(first, user)
    assert give(first, code).status_code == 302
    password_step(second, user)

    assert give(second, code).status_code == 401


def test_a_recovery_code_signs_in_once(app, session, sign_in, client):
    user = UserFactory(role=Role.REGISTRAR)
    sign_in(user)
    # A registrar turns the second factor on from their account page.
    page = client.get("/account/second-factor")
    secret = _secret_on(text_of(page))
    enrolled = post_form(
        client,
        "/account/second-factor",
        {"code": pyotp.TOTP(secret).now()},
        token_from="/account",
    )
    assert enrolled.status_code == 200 and enrolled.headers["Cache-Control"] == "no-store"
    codes = _codes_on(text_of(enrolled))
    assert len(codes) == 10
    assert session.scalar(select(RecoveryCode.code_hash)) not in codes

    first, second = app.test_client(), app.test_client()
    password_step(first, user)
    assert give(first, codes[0]).status_code == 302
    password_step(second, user)
    assert give(second, codes[0]).status_code == 401
    assert give(second, codes[1]).status_code == 302


def _secret_on(page: str) -> str:
    return page.split("data-secret")[0].rsplit('value="', 1)[1].split('"')[0]


def _codes_on(page: str) -> list[str]:
    listed = page.split("data-recovery-codes>")[1].split("</ul>")[0]
    return [part.split("</code>")[0] for part in listed.split("<code>")[1:]]


def test_wrong_codes_lock_the_second_step_for_a_while(client, session):
    user = UserFactory(role=Role.FINANCE)
    password_step(client, user)
    right = second_factor_code(user.id)
    wrong = "123456" if right != "123456" else "654321"

    statuses = [give(client, wrong).status_code for _ in range(5)]

    assert statuses == [401] * 5
    assert give(client, right).status_code == 429


def test_finance_without_a_second_factor_enrols_before_any_page(client, session):
    user = UserFactory(role=Role.FINANCE, totp_secret=None, totp_enabled_at=None)

    response = password_step(client, user)

    assert response.headers["Location"].endswith("/sign-in/enrol")
    assert client.get("/finance").status_code == 302
    assert client.get("/api/v1/claims").status_code == 401
    page = client.get("/sign-in/enrol")
    assert page.headers["Cache-Control"] == "no-store"
    secret = _secret_on(text_of(page))
    assert "<svg" in text_of(page)  # the QR code

    done = post_form(
        client, "/sign-in/enrol", {"code": pyotp.TOTP(secret).now()}, token_from="/sign-in/enrol"
    )

    assert done.status_code == 200 and len(_codes_on(text_of(done))) == 10
    assert client.get("/finance").status_code == 200
    assert factory_keyring().open(fresh(session, user).sealed_totp_secret) == secret


def test_the_secret_being_set_up_waits_sealed_in_the_session_cookie(app, client, session):
    user = UserFactory(role=Role.FINANCE, totp_secret=None, totp_enabled_at=None)
    password_step(client, user)

    secret = _secret_on(text_of(client.get("/sign-in/enrol")))
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    kept = app.session_interface.get_signing_serializer(app).loads(cookie.value)

    assert secret not in repr(kept)
    assert factory_keyring().open(kept["enrol_secret"]) == secret
    # The page shown again shows the same secret, until the first code confirms it.
    assert _secret_on(text_of(client.get("/sign-in/enrol"))) == secret


def test_a_session_of_finance_without_a_second_factor_ends(client, session, sign_in):
    user = UserFactory(role=Role.FINANCE)
    sign_in(user)
    assert client.get("/finance").status_code == 200
    user.totp_enabled_at = None  # as for a session opened before the rule
    session.commit()

    assert client.get("/finance").status_code == 302
    ended = session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert ended.end_reason == "second factor required"


def test_finance_cannot_turn_the_second_factor_off(client, session, sign_in):
    user = UserFactory(role=Role.FINANCE)
    sign_in(user)

    response = post_form(
        client,
        "/account/second-factor/off",
        {"factor-current_password": TEST_PASSWORD},
        token_from="/account",
    )

    assert response.status_code == 409
    assert factory_keyring().open(fresh(session, user).sealed_totp_secret) == TEST_TOTP_SECRET


# -- One's own password and email --------------------------------------------------------------


def test_changing_ones_password_needs_the_current_one_and_ends_the_other_sessions(
    app, client, session, sign_in
):
    user = UserFactory(role=Role.GRADUATE, student=StudentFactory())
    other = app.test_client()
    sign_in_client(other, user)
    sign_in(user)
    form = {
        "password-current_password": "not my password!",
        "password-new_password": NEW_PASSWORD,
        "password-new_password_again": NEW_PASSWORD,
    }

    wrong = post_form(client, "/account/password", form, token_from="/account")
    assert wrong.status_code == 400 and "not your current password" in text_of(wrong)

    form["password-current_password"] = TEST_PASSWORD
    response = post_form(client, "/account/password", form, token_from="/account")

    assert response.status_code == 302
    assert verify_password(fresh(session, user).password_hash, NEW_PASSWORD)
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_a_new_email_is_used_once_confirmed_from_the_link_sent_to_it(
    app, client, session, sign_in, mailbox
):
    user = UserFactory(role=Role.REGISTRAR, email="old@school.example")
    sign_in(user)

    response = post_form(
        client,
        "/account/email",
        {"email-new_email": "New@School.example", "email-current_password": TEST_PASSWORD},
        token_from="/account",
    )

    assert response.status_code == 302
    assert fresh(session, user).email == "old@school.example"
    message = mailbox.only()
    assert message["To"] == "new@school.example"
    link = mailbox.link_path(message)
    stranger = app.test_client()
    assert "new@school.example" in text_of(stranger.get(link))
    confirmed = post_form(stranger, link, token_from=link)
    assert confirmed.status_code == 302
    assert fresh(session, user).email == "new@school.example"
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "account.email_changed"))
    assert stranger.get(link).status_code == 410


def test_a_new_email_needs_the_password(client, session, sign_in, mailbox):
    user = UserFactory(role=Role.REGISTRAR)
    sign_in(user)

    response = post_form(
        client,
        "/account/email",
        {"email-new_email": "new@school.example", "email-current_password": "wrong password!"},
        token_from="/account",
    )

    assert response.status_code == 400
    assert mailbox.messages == []


def test_an_api_token_cannot_open_the_account_page(client, session):
    from app.auth.tokens import create_token

    user = UserFactory(role=Role.REGISTRAR)
    _record, secret = create_token(session, user=user, name="sync")
    session.commit()

    response = client.get("/account", headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_give_code_is_not_needed_without_a_second_factor(client, session):
    user = UserFactory(role=Role.REGISTRAR)
    response = password_step(client, user)

    assert give_code(client, response, user) is response
    assert response.headers["Location"].endswith("/registrar")


def test_the_invitation_email_has_both_parts_its_headers_and_a_link_that_works(
    app, session, admin, mailbox
):
    app.config["SCHOOL_NAME"] = "Northwind Academy"
    invite(_admin_client(app, admin))

    message = mailbox.only()

    assert message["Subject"] == "Your Northwind Academy account: choose a password"
    assert message["Date"] and message["Message-ID"] and message["Reply-To"]
    assert "Northwind Academy" in message["From"]
    html = message.get_body(preferencelist=("html",)).get_content()
    text = mailbox.body(message)
    link = mailbox.link_path(message)
    assert link in html and "Choose my password" in html
    assert "Hello Nina Novak," in text
    assert app.test_client().get(link).status_code == 200
