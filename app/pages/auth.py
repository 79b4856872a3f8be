"""Signing in and out, and the home page that sends each person to their own place."""

from __future__ import annotations

from datetime import UTC, timedelta
from math import ceil
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from app.audit import record
from app.auth import current_principal, limiter
from app.auth.passwords import hash_password, needs_rehash, verify_password
from app.auth.sessions import sign_in as start_session
from app.auth.sessions import sign_out as end_session
from app.database import db_session
from app.models import AuditEvent, Role, User
from app.models.base import utc_now

blueprint = Blueprint("pages", __name__)

#: Where each role works.
HOME = {
    Role.GRADUATE: "graduate.home",
    Role.EMPLOYER: "employer.home",
    Role.FINANCE: "finance.queue",
    Role.REGISTRAR: "registrar.home",
    Role.ADMIN: "admin.accounts",
}

#: Failed sign-ins for one email from one address, within the window, after which that address
#: is refused for that email. Whoever fails from their own address locks only themselves out:
#: the owner, signing in from elsewhere, is not.
LOCKOUT_FAILURES = 10
LOCKOUT_WINDOW = timedelta(minutes=15)
#: Failed sign-ins for one email from every address, within the window, after which each
#: attempt waits after the latest failure: 1 s, then 2, 4, 8, ... at most ``MAX_DELAY``. A
#: guesser spread over many addresses gets about one try a minute; the owner waits a minute at
#: most, however many addresses the guesser has.
DELAY_AFTER_FAILURES = 20
MAX_DELAY = timedelta(seconds=60)

FAILED = "That email and password don't match an active account."


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


def _safe_next(target: str | None) -> str | None:
    # Only a path on this site: never an absolute URL an attacker could send people to.
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@blueprint.get("/")
def index():
    """Each person's own home; the sign-in page for everyone else."""
    principal = current_principal()
    if principal.role is None:
        return redirect(url_for("pages.sign_in"))
    return redirect(url_for(HOME[principal.role]))


@blueprint.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def sign_in():
    """The sign-in form."""
    form = SignInForm()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(url_for("pages.index"))
    if form.validate_on_submit():
        session = db_session()
        email = form.email.data.strip().lower()
        refusal = _refusal(session, email, request.remote_addr)
        if refusal is not None:
            record(session, "anonymous", "sign_in.refused", f"email:{email}", refusal)
            session.commit()
            flash(refusal, "error")
            return render_template("auth/sign_in.html", form=form), 429
        user = session.scalar(select(User).where(User.email == email))
        if (
            user is None
            or not user.active
            or not verify_password(user.password_hash, form.password.data)
        ):
            record(session, "anonymous", "sign_in.failed", f"email:{email}")
            session.commit()
            flash(FAILED, "error")
            return render_template("auth/sign_in.html", form=form), 401
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(form.password.data)
        start_session(session, user)
        record(session, user.actor, "sign_in", f"user:{user.id}")
        session.commit()
        return redirect(_safe_next(request.args.get("next")) or url_for(HOME[user.role]))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/sign_in.html", form=form), status


def _refusal(session, email: str, address: str | None) -> str | None:
    """Why a sign-in to ``email`` from ``address`` is refused now (saying how long to wait);
    ``None`` when it may be tried."""
    now = utc_now()
    failed = (
        AuditEvent.action == "sign_in.failed",
        AuditEvent.target == f"email:{email}",
        AuditEvent.at >= now - LOCKOUT_WINDOW,
    )
    from_here = session.scalar(
        select(func.count()).select_from(AuditEvent).where(*failed, _same_address(address))
    )
    if from_here >= LOCKOUT_FAILURES:
        minutes = int(LOCKOUT_WINDOW.total_seconds() // 60)
        return f"Too many failed attempts for this account. Try again in {minutes} minutes."
    everywhere, latest = session.execute(
        select(func.count(), func.max(AuditEvent.at)).where(*failed)
    ).one()
    if everywhere < DELAY_AFTER_FAILURES:
        return None
    delay = min(timedelta(seconds=2 ** (everywhere - DELAY_AFTER_FAILURES)), MAX_DELAY)
    latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    wait = latest + delay - now
    if wait <= timedelta(0):
        return None
    seconds = max(1, ceil(wait.total_seconds()))
    return (
        "Too many failed attempts for this account. "
        f"Try again in {seconds} second{'' if seconds == 1 else 's'}."
    )


def _same_address(address: str | None):
    return AuditEvent.ip_address.is_(None) if address is None else AuditEvent.ip_address == address


@blueprint.post("/sign-out")
def sign_out():
    """End this session."""
    if current_user.is_authenticated:
        session = db_session()
        record(session, current_user.user.actor, "sign_out", f"user:{current_user.user.id}")
        end_session(session, current_user)
        session.commit()
    flash("You are signed out.", "info")
    return redirect(url_for("pages.sign_in"))
