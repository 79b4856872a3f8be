"""Signing in and out: server-side session records behind Flask-Login.

The cookie holds only a random session id. Each request looks the session up, so signing out,
disabling the account or a timeout (idle or absolute) ends it everywhere at once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import Flask, current_app, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth import second_factor
from app.auth.access import Principal
from app.database import db_session, reads_only
from app.i18n import browser_locale
from app.models import User, UserSession
from app.models.base import utc_now

login_manager = LoginManager()
login_manager.login_view = "pages.sign_in"
login_manager.session_protection = None  # our own session records do better than a hash of IPs


class SignedIn:
    """What Flask-Login holds for a signed-in person: the account and the session record."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user: User, session_id: str):
        self.user = user
        self.session_id = session_id

    def get_id(self) -> str:
        return self.session_id

    @property
    def principal(self) -> Principal:
        user = self.user
        return Principal(
            actor=user.actor,
            role=user.role,
            user_id=user.id,
            student_id=user.student_id,
            employer_id=user.employer_id,
            name=user.name,
        )


def _timeouts() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return (
        timedelta(minutes=config.get("SESSION_IDLE_MINUTES", 30)),
        timedelta(hours=config.get("SESSION_ABSOLUTE_HOURS", 12)),
    )


def session_expired(record: UserSession, now: datetime) -> str | None:
    """Why ``record`` has expired at ``now``, or ``None`` while it is alive."""
    idle, absolute = _timeouts()
    if now - record.last_seen_at > idle:
        return "idle timeout"
    if now - record.started_at > absolute:
        return "absolute timeout"
    return None


@login_manager.user_loader
def _load(session_id: str) -> SignedIn | None:
    database = db_session()
    record = database.get(UserSession, session_id)
    if record is None or record.ended_at is not None or not record.user.active:
        return None
    if second_factor.required(record.user) and not second_factor.enabled(record.user):
        # A session from before the role needed a second factor: sign in again and enrol.
        _end(database, [record], "second factor required")
        database.commit()
        return None
    now = utc_now()
    expired = session_expired(record, now)
    if expired:
        _end(database, [record], expired)
        database.commit()
        return None
    if now - record.last_seen_at > timedelta(seconds=60):  # don't write on every request
        record.last_seen_at = now
        database.commit()
    return SignedIn(record.user, record.id)


def sign_in(database: Session, user: User) -> SignedIn:
    """Start a new session for ``user`` (a new id: nothing from before sign-in carries over)."""
    session.clear()
    record = UserSession(id=secrets.token_urlsafe(32), user_id=user.id)
    database.add(record)
    user.last_sign_in_at = utc_now()
    # Remembered for the emails written to them while they have chosen no language.
    user.browser_locale = browser_locale() or user.browser_locale
    database.flush()
    signed_in = SignedIn(user, record.id)
    login_user(signed_in)
    return signed_in


def sign_out(database: Session, signed_in: SignedIn) -> None:
    """End this session."""
    record = database.get(UserSession, signed_in.session_id)
    if record is not None:
        _end(database, [record], "signed out")
    logout_user()
    session.clear()


def end_all_sessions(database: Session, user_id: int, reason: str) -> int:
    """End every live session of an account (it was disabled, or its password changed)."""
    result = database.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utc_now(), end_reason=reason)
    )
    return result.rowcount


def end_other_sessions(database: Session, user_id: int, keep: str, reason: str) -> int:
    """End every live session of an account but ``keep`` (its owner changed the password)."""
    result = database.execute(
        update(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
            UserSession.id != keep,
        )
        .values(ended_at=utc_now(), end_reason=reason)
    )
    return result.rowcount


def _end(database: Session, records, reason: str) -> None:
    for record in records:
        record.ended_at = utc_now()
        record.end_reason = reason


def live_sessions(database: Session, user_id: int) -> list[UserSession]:
    return list(
        database.scalars(
            select(UserSession).where(
                UserSession.user_id == user_id, UserSession.ended_at.is_(None)
            )
        )
    )


class BrowserSessions(SecureCookieSessionInterface):
    """Flask's signed session cookie, left unopened for an API read by a bearer token: the
    token says who calls, and nothing such a request does reads or writes a browser's session
    (so no cookie is checked on the way in nor written on the way out)."""

    def open_session(self, app, request):
        if reads_only():
            return self.null_session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = BrowserSessions()
    login_manager.init_app(app)
