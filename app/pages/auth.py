"""Signing in and out, and the home page that sends each person to their own place; the second
step of signing in (the authenticator code, or enrolling one); the emailed links (choose a
password, forgot password, confirm a new email).

Between the password and the second factor nothing is signed in: the session cookie only notes
who gave the right password, for a few minutes. Finance and admins without a second factor
enrol before their first session starts, so no page or API ever answers them without it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from math import ceil
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.audit import record
from app.auth import current_principal, limiter, second_factor
from app.auth.links import LinkRefused, live_link
from app.auth.passwords import MAX_LENGTH, MIN_LENGTH, hash_password, needs_rehash, verify_password
from app.auth.sessions import sign_in as start_session
from app.auth.sessions import sign_out as end_session
from app.database import db_session
from app.models import AuditEvent, LinkPurpose, Role, User
from app.models.base import utc_now
from app.services import accounts
from app.services.errors import Conflict, Invalid

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

FAILED = _l("That email and password don't match an active account.")


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


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
            flash(str(FAILED), "error")
            return render_template("auth/sign_in.html", form=form), 401
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(form.password.data)
        next_page = _safe_next(request.args.get("next"))
        if second_factor.enabled(user) or second_factor.required(user):
            session.commit()
            _await_second_factor(user, next_page)
            step = "code" if second_factor.enabled(user) else "enrol"
            return redirect(url_for(f"pages.sign_in_{step}"))
        start_session(session, user)
        record(session, user.actor, "sign_in", f"user:{user.id}")
        session.commit()
        return redirect(next_page or url_for(HOME[user.role]))
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
        return _(
            "Too many failed attempts for this account. Try again in %(minutes)s minutes.",
            minutes=minutes,
        )
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
    return ngettext(
        "Too many failed attempts for this account. Try again in %(num)s second.",
        "Too many failed attempts for this account. Try again in %(num)s seconds.",
        seconds,
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
    flash(_("You are signed out."), "info")
    return redirect(url_for("pages.sign_in"))


# -- The second step: the authenticator's code -------------------------------------------------

#: How long after the password the second step may be completed.
SECOND_STEP_MINUTES = 5
#: Wrong codes for one account, within the window, after which its codes are refused for a while.
CODE_FAILURES = 5
CODE_WINDOW = timedelta(minutes=15)

WRONG_CODE = _l("That code is not right. Type the current code from your app, or a recovery code.")


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])


def _await_second_factor(user: User, next_page: str | None) -> None:
    """Note in the cookie that ``user`` gave the right password just now (nothing more)."""
    flask_session.clear()
    flask_session["pending_user"] = user.id
    flask_session["pending_since"] = utc_now().isoformat()
    if next_page:
        flask_session["pending_next"] = next_page


def _pending_user(session) -> User | None:
    """The account whose password was given in the last few minutes, if any."""
    user_id, since = flask_session.get("pending_user"), flask_session.get("pending_since")
    if not isinstance(user_id, int) or not isinstance(since, str):
        return None
    try:
        started = datetime.fromisoformat(since)
    except ValueError:
        return None
    if utc_now() - started > timedelta(minutes=SECOND_STEP_MINUTES):
        return None
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def _finish_sign_in(session, user: User, how: str):
    """Start the session once both factors are given, and go where the person was going."""
    next_page = flask_session.get("pending_next")
    start_session(session, user)  # clears the pending state with the rest of the cookie
    record(session, user.actor, "sign_in", f"user:{user.id}", how)
    session.commit()
    return redirect(_safe_next(next_page) or url_for(HOME[user.role]))


def _start_again():
    flash(_("Your sign-in took too long or was not started. Sign in again."), "error")
    return redirect(url_for("pages.sign_in"))


@blueprint.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def sign_in_code():
    """The second step: the current code from the authenticator app, or a recovery code."""
    session = db_session()
    user = _pending_user(session)
    if user is None or not second_factor.enabled(user):
        return _start_again()
    form = CodeForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/sign_in_code.html", form=form), status
    since = utc_now() - CODE_WINDOW
    failures = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == "sign_in.code_failed",
            AuditEvent.target == f"user:{user.id}",
            AuditEvent.at >= since,
        )
    )
    if failures >= CODE_FAILURES:
        minutes = int(CODE_WINDOW.total_seconds() // 60)
        flash(
            _("Too many wrong codes. Try again in %(minutes)s minutes.", minutes=minutes), "error"
        )
        return render_template("auth/sign_in_code.html", form=form), 429
    code = form.code.data
    if second_factor.check_code(user, code):
        return _finish_sign_in(session, user, "authenticator code")
    if second_factor.use_recovery_code(session, user, code):
        left = second_factor.unused_recovery_codes(session, user.id)
        flash(
            ngettext(
                "You used a recovery code; %(num)s left. Make new ones from your account page.",
                "You used a recovery code; %(num)s left. Make new ones from your account page.",
                left,
            ),
            "info",
        )
        return _finish_sign_in(session, user, "recovery code")
    record(session, "anonymous", "sign_in.code_failed", f"user:{user.id}")
    session.commit()
    flash(str(WRONG_CODE), "error")
    return render_template("auth/sign_in_code.html", form=form), 401


@blueprint.route("/sign-in/enrol", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def sign_in_enrol():
    """Finance and admins without a second factor set one up before their first session."""
    session = db_session()
    user = _pending_user(session)
    if user is None or second_factor.enabled(user) or not second_factor.required(user):
        return _start_again()
    secret = second_factor.enrolling_secret(flask_session)
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = accounts.turn_on_second_factor(session, user, secret, form.code.data)
        except Invalid as error:
            session.rollback()
            form.code.errors.append(
                error.errors["code"][0][:1].upper() + error.errors["code"][0][1:] + "."
            )
            status = 400
        else:
            next_page = flask_session.get("pending_next")
            start_session(session, user)
            record(session, user.actor, "sign_in", f"user:{user.id}", "second factor enrolled")
            session.commit()
            return recovery_codes_page(codes, _safe_next(next_page) or url_for(HOME[user.role]))
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "auth/enrol.html",
            form=form,
            secret=secret,
            qr=second_factor.qr_svg(second_factor.provisioning_uri(secret, user.email)),
            required=True,
        ),
        status,
        NO_STORE,
    )


def _sentences(reasons: list[str]) -> list[str]:
    return [f"{reason[:1].upper()}{reason[1:]}." for reason in reasons]


#: Pages showing a secret once: never kept by a cache or the browser.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def recovery_codes_page(codes: list[str], continue_to: str):
    return (
        render_template("auth/recovery_codes.html", codes=codes, continue_to=continue_to),
        200,
        NO_STORE,
    )


# -- Emailed links -----------------------------------------------------------------------------

#: What a refused link's page says, by why it was refused.
LINK_REFUSED = {
    "unknown": _l("This link is not valid. Check that it was copied whole."),
    "used": _l("This link has been used already: each link works once."),
    "expired": _l("This link has expired."),
    "disabled": _l("The account of this link is disabled."),
}


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description=_l(
            "At least %(count)s characters and not a common or guessable password; "
            "a few unrelated words work well.",
            count=MIN_LENGTH,
        ),
    )
    password_again = PasswordField(
        _l("The new password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )


def _link_refused(refusal: LinkRefused):
    db_session().rollback()
    return render_template(
        "auth/link_refused.html", reason=LINK_REFUSED[refusal.reason], why=refusal.reason
    ), 410 if refusal.reason in ("used", "expired") else 404


@blueprint.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def set_password(token: str):
    """Choose a password through an invitation or a reset link; the link works once."""
    session = db_session()
    try:
        link = accounts.password_link(session, token)
    except LinkRefused as refusal:
        return _link_refused(refusal)
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.choose_password(session, token, form.password.data)
        except Invalid as error:
            session.rollback()
            form.password.errors.extend(
                f"{r[:1].upper()}{r[1:]}." for r in error.errors["password"]
            )
            status = 400
        else:
            session.commit()
            flash(_("Your password is set. Sign in with it now."), "success")
            return redirect(url_for("pages.sign_in", email=user.email))
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "auth/set_password.html",
            form=form,
            user=link.user,
            invitation=link.purpose.value == "invitation",
        ),
        status,
        NO_STORE,
    )


class ForgotForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


#: The one answer to "forgot password", whether or not the address has an account.
RESET_SENT = _l(
    "If an account uses that address, we have sent it a link to choose a new password. "
    "The link works once, within %(minutes)s minutes. Check your spam folder if it does not "
    "arrive."
)


@blueprint.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["FORGOT_PASSWORD_RATE_LIMIT"], methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer never says whether the address has an account."""
    form = ForgotForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/forgot_password.html", form=form), status
    session = db_session()
    emails = accounts.forgot_password(session, form.email.data)
    session.commit()
    accounts.send_later(emails)  # the answer does not wait for SMTP, so it takes as long either way
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    flash(RESET_SENT % {"minutes": minutes}, "info")
    return redirect(url_for("pages.sign_in"))


@blueprint.route("/confirm-email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """Confirm a new email address from the link sent to it (the button posts; a GET that a
    mail scanner makes changes nothing)."""
    session = db_session()
    try:
        link = live_link(session, token, frozenset({LinkPurpose.EMAIL_CHANGE}))
    except LinkRefused as refusal:
        return _link_refused(refusal)
    if request.method == "GET":
        return render_template("auth/confirm_email.html", new_email=link.new_email)
    try:
        user = accounts.confirm_email_change(session, token)
    except Conflict as error:
        session.commit()
        flash(f"{error.message[:1].upper()}{error.message[1:]}.", "error")
        return render_template("auth/confirm_email.html", new_email=None), 409
    session.commit()
    flash(_("Your account now uses %(email)s. Sign in with it.", email=user.email), "success")
    return redirect(url_for("pages.sign_in", email=user.email))
