"""``flask accounts create-admin`` and the demo's second-factor keys."""

from __future__ import annotations

from datetime import date

import pyotp
from sqlalchemy import select

from app.auth import second_factor
from app.auth.passwords import verify_password
from app.demo import load_demo_accounts, load_demo_school
from app.models import AuditEvent, Role, User
from tests.factories import UserFactory

PASSWORD = "copper-meadow-signal-77"


def test_create_admin_asks_for_the_password_twice_and_opens_the_account(runner, session):
    result = runner.invoke(
        args=["accounts", "create-admin", "--email", "Head@School.example", "--name", "Hana Head"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    user = session.scalar(select(User).where(User.email == "head@school.example"))
    assert user.role is Role.ADMIN and user.name == "Hana Head"
    assert verify_password(user.password_hash, PASSWORD)
    assert second_factor.required(user) and not second_factor.enabled(user)  # enrols at sign-in
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.created"))
    assert event.actor == "system:command-line"


def test_create_admin_refuses_a_weak_password_and_opens_nothing(runner, session):
    result = runner.invoke(
        args=["accounts", "create-admin", "--email", "head@school.example"],
        input="password1234\npassword1234\n",
    )

    assert result.exit_code != 0 and "password" in result.output
    assert session.scalar(select(User).where(User.email == "head@school.example")) is None


def test_create_admin_refuses_an_email_in_use(runner, session):
    UserFactory(email="head@school.example")

    result = runner.invoke(
        args=["accounts", "create-admin", "--email", "head@school.example"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )

    assert result.exit_code != 0 and "exists already" in result.output


def test_create_admin_with_invite_prints_and_emails_the_link(runner, session, mailbox, client):
    result = runner.invoke(
        args=["accounts", "create-admin", "--email", "head@school.example", "--invite"]
    )

    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert "/set-password/" in link and link.endswith(mailbox.link_path(mailbox.only()))
    user = session.scalar(select(User).where(User.email == "head@school.example"))
    assert user.password_hash is None
    assert client.get(link[link.index("/set-password/") :]).status_code == 200


def test_the_demos_finance_and_admin_accounts_have_a_printed_second_factor_key(
    app, runner, session
):
    load_demo_school(session, date(2026, 11, 22))
    with app.app_context():  # the keys that seal the second-factor keys are the app's
        printed = {account.email: account for account in load_demo_accounts(session)}
    session.commit()

    with_key = {email for email, account in printed.items() if account.totp_secret}
    assert with_key == {
        "admin@school.example",
        "ada.finance@school.example",
        "grace.finance@school.example",
    }
    ada = printed["ada.finance@school.example"]
    code = runner.invoke(args=["demo", "code", ada.email])
    assert code.exit_code == 0
    assert pyotp.TOTP(ada.totp_secret).verify(code.output.strip(), valid_window=1)
    refused = runner.invoke(args=["demo", "code", "someone@else.example"])
    assert refused.exit_code != 0
