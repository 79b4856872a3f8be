"""Authenticator secrets are kept sealed: never in plain text in the database, opened with any
key of ``DATA_ENCRYPTION_KEYS``, sealed with the first; one no key opens refuses its codes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pyotp
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import text

import migrations
from app import create_app
from app.auth import second_factor
from app.auth.sealing import Keyring, Unopenable
from app.models import Role
from tests.factories import (
    TEST_DATA_ENCRYPTION_KEY,
    TEST_PASSWORD,
    TEST_TOTP_SECRET,
    UserFactory,
    factory_keyring,
)
from tests.pages.conftest import post_form

NEW_KEY = Fernet.generate_key().decode()
UNKNOWN_KEY = Fernet.generate_key().decode()


def raw_row(session, user_id: int) -> dict:
    """The account's row as the database holds it (what a backup would show)."""
    session.flush()
    row = session.execute(text("SELECT * FROM users WHERE id = :id"), {"id": user_id}).one()
    return dict(row._mapping)


def password_step(client, email: str):
    return post_form(client, "/sign-in", {"email": email, "password": TEST_PASSWORD})


def give(client, code: str):
    return post_form(client, "/sign-in/code", {"code": code}, token_from="/sign-in/code")


def next_code(secret: str) -> str:
    """The authenticator's code of the next step (this step's may have signed in already)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + 1)


@pytest.fixture
def app_with_keys(database_url, session_factory, session, tmp_path):
    """``app_with_keys(keys)``: the application with ``DATA_ENCRYPTION_KEYS`` set to ``keys``,
    its requests in the test's transaction."""
    made = []

    def make(keys: tuple[str, ...]):
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": database_url,
                "DATA_ENCRYPTION_KEYS": keys,
                "SIGN_IN_RATE_LIMIT": "100000 per minute",
                "DOCUMENTS_DIR": str(tmp_path / "documents"),
            }
        )
        app.extensions["database"].sessionmaker = session_factory
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["database"].dispose()


def test_enrolling_keeps_no_plain_secret_in_the_database_and_the_app_s_codes_sign_in(
    client, session
):
    user = UserFactory(role=Role.FINANCE, totp_secret=None, totp_enabled_at=None)
    password_step(client, user.email)
    page = client.get("/sign-in/enrol").get_data(as_text=True)
    secret = page.split("data-secret")[0].rsplit('value="', 1)[1].split('"')[0]
    enrolled = post_form(
        client, "/sign-in/enrol", {"code": pyotp.TOTP(secret).now()}, token_from="/sign-in/enrol"
    )
    assert enrolled.status_code == 200

    row = raw_row(session, user.id)
    assert "totp_secret" not in row
    assert not any(secret in str(value) for value in row.values())
    assert factory_keyring().open(row["sealed_totp_secret"]) == secret

    again = client.application.test_client()
    assert password_step(again, user.email).headers["Location"].endswith("/sign-in/code")
    assert give(again, next_code(secret)).status_code == 302


def test_a_new_key_put_first_still_opens_the_old_secrets_and_seals_the_new_ones(
    app_with_keys, session
):
    app = app_with_keys((NEW_KEY, TEST_DATA_ENCRYPTION_KEY))
    sealed_before = UserFactory(role=Role.ADMIN)  # sealed with the old key

    client = app.test_client()
    password_step(client, sealed_before.email)
    assert give(client, next_code(TEST_TOTP_SECRET)).status_code == 302

    later = UserFactory(role=Role.REGISTRAR)
    secret = second_factor.new_secret()
    with app.app_context():
        second_factor.turn_on(session, later, secret)
    token = raw_row(session, later.id)["sealed_totp_secret"]
    assert Keyring([NEW_KEY]).open(token) == secret
    with pytest.raises(Unopenable):
        Keyring([TEST_DATA_ENCRYPTION_KEY]).open(token)


def test_reseal_secrets_seals_every_secret_with_the_first_key_so_the_old_one_can_go(
    app_with_keys, session
):
    app = app_with_keys((NEW_KEY, TEST_DATA_ENCRYPTION_KEY))
    old = UserFactory(role=Role.FINANCE)
    session.commit()

    result = app.test_cli_runner().invoke(args=["accounts", "reseal-secrets"])

    assert result.exit_code == 0, result.output
    assert "1 authenticator secrets sealed again" in result.output
    assert Keyring([NEW_KEY]).open(raw_row(session, old.id)["sealed_totp_secret"]) == (
        TEST_TOTP_SECRET
    )
    again = app.test_cli_runner().invoke(args=["accounts", "reseal-secrets"])
    assert "0 authenticator secrets sealed again" in again.output
    only_new = app_with_keys((NEW_KEY,)).test_client()
    password_step(only_new, old.email)
    assert give(only_new, next_code(TEST_TOTP_SECRET)).status_code == 302


def test_a_secret_no_key_opens_refuses_its_codes_logs_why_and_recovery_codes_still_work(
    app, client, session, caplog
):
    user = UserFactory(role=Role.FINANCE, sealed_totp_secret=Keyring([UNKNOWN_KEY]).seal("X" * 32))
    recovery = second_factor.new_recovery_codes(session, user)
    token = user.sealed_totp_secret
    session.commit()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a server error would be a 500, as live

    password_step(client, user.email)
    with caplog.at_level(logging.ERROR, logger="app.auth.second_factor"):
        refused = give(client, pyotp.TOTP("X" * 32).now())

    assert refused.status_code == 401
    [logged] = [r for r in caplog.records if r.name == "app.auth.second_factor"]
    assert logged.levelno == logging.ERROR
    assert f"user {user.id}" in logged.getMessage()
    assert "DATA_ENCRYPTION_KEYS" in logged.getMessage()
    assert token not in caplog.text and "X" * 32 not in caplog.text
    assert give(client, recovery[0]).status_code == 302

    resealing = app.test_cli_runner().invoke(args=["accounts", "reseal-secrets"])
    assert resealing.exit_code == 1
    assert f"accounts {user.id}" in resealing.output


def test_the_demo_code_command_prints_the_code_of_the_sealed_key(app, runner, session):
    user = UserFactory(role=Role.FINANCE, email="ada.finance@school.example")
    session.commit()

    printed = runner.invoke(args=["demo", "code", user.email])

    assert printed.exit_code == 0, printed.output
    assert pyotp.TOTP(TEST_TOTP_SECRET).verify(printed.output.strip(), valid_window=1)


def test_the_demo_code_command_says_when_no_key_opens_the_sealed_key(app, runner, session):
    UserFactory(
        role=Role.ADMIN,
        email="admin@school.example",
        sealed_totp_secret=Keyring([UNKNOWN_KEY]).seal(TEST_TOTP_SECRET),
    )
    session.commit()

    printed = runner.invoke(args=["demo", "code", "admin@school.example"])

    assert printed.exit_code == 1
    assert "opens with no key of DATA_ENCRYPTION_KEYS" in printed.output


# -- The migration that seals the secrets kept before ---------------------------------------------


def _sealing_migration():
    """The migration that seals the secrets (its number may change when others come first)."""
    script = ScriptDirectory.from_config(migrations.alembic_config())
    [revision] = [r for r in script.walk_revisions() if r.path.endswith("_sealed_totp_secrets.py")]
    return revision


def _plain_account(connection, email: str, secret: str | None) -> None:
    connection.execute(
        text(
            "INSERT INTO users (email, name, role, active, created_at, totp_secret)"
            " VALUES (:email, 'Someone', 'finance', :active, :now, :secret)"
        ),
        {"email": email, "active": True, "now": datetime.now(UTC), "secret": secret},
    )


def test_the_migration_seals_the_secrets_kept_in_plain_text_and_the_downgrade_opens_them(
    own_database,
):
    sealing = _sealing_migration()
    engine = own_database(sealing.down_revision)
    with engine.begin() as connection:
        _plain_account(connection, "a@school.example", TEST_TOTP_SECRET)
        _plain_account(connection, "b@school.example", None)

    with engine.begin() as connection:
        migrations.upgrade(
            connection=connection,
            revision=sealing.revision,
            data_encryption_keys=(NEW_KEY, TEST_DATA_ENCRYPTION_KEY),
        )
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT email, sealed_totp_secret FROM users")).all())
    assert rows["b@school.example"] is None
    assert TEST_TOTP_SECRET not in rows["a@school.example"]
    assert Keyring([NEW_KEY]).open(rows["a@school.example"]) == TEST_TOTP_SECRET

    with engine.begin() as connection:
        config = migrations.alembic_config(
            connection=connection, data_encryption_keys=(TEST_DATA_ENCRYPTION_KEY, NEW_KEY)
        )
        command.downgrade(config, sealing.down_revision)
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT email, totp_secret FROM users")).all())
    assert rows == {"a@school.example": TEST_TOTP_SECRET, "b@school.example": None}


def test_the_migration_refuses_plain_secrets_without_the_keys_and_changes_nothing(own_database):
    sealing = _sealing_migration()
    engine = own_database(sealing.down_revision)
    with engine.begin() as connection:
        _plain_account(connection, "a@school.example", TEST_TOTP_SECRET)

    with pytest.raises(RuntimeError, match="DATA_ENCRYPTION_KEYS"), engine.begin() as connection:
        migrations.upgrade(connection=connection, revision=sealing.revision)

    with engine.connect() as connection:
        assert connection.execute(text("SELECT totp_secret FROM users")).scalar() == (
            TEST_TOTP_SECRET
        )


def test_the_migration_needs_no_keys_where_no_secret_is_kept(own_database):
    sealing = _sealing_migration()
    engine = own_database(sealing.down_revision)
    with engine.begin() as connection:
        _plain_account(connection, "b@school.example", None)

    with engine.begin() as connection:
        migrations.upgrade(connection=connection, revision=sealing.revision)

    with engine.connect() as connection:
        assert connection.execute(text("SELECT sealed_totp_secret FROM users")).all() == [(None,)]


def test_flask_db_upgrade_gives_the_migration_the_app_s_keys(own_database):
    sealing = _sealing_migration()
    engine = own_database(sealing.down_revision)
    with engine.begin() as connection:
        _plain_account(connection, "a@school.example", TEST_TOTP_SECRET)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "DATA_ENCRYPTION_KEYS": (NEW_KEY,),
        }
    )

    result = app.test_cli_runner().invoke(args=["db", "upgrade", sealing.revision])

    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        token = connection.execute(text("SELECT sealed_totp_secret FROM users")).scalar()
    assert Keyring([NEW_KEY]).open(token) == TEST_TOTP_SECRET
    app.extensions["database"].dispose()
