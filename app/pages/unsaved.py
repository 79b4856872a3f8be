"""A form sent after the session ended: say it was not saved, and give back what was typed.

After the idle timeout a submitted form would otherwise be thrown away silently. Instead the
person is sent to sign in with ``next`` pointing back at the page the form was on, told that
nothing was saved, and, once signed in again as the same account, finds the form filled in
with what they had typed (``static/unsaved.js``) and, without JavaScript, listed above it.

What was typed is kept in a signed cookie of its own, for an hour, bound to the account whose
session ended: never secrets (passwords, codes, tokens), never files, never more than a cookie
holds.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.auth import current_principal, is_api_request
from app.auth.access import NotSignedIn
from app.database import db_session
from app.models import UserSession

COOKIE = "jg_unsaved"
#: How long what was typed is kept for the person to sign in again.
KEEP_SECONDS = 3600
#: At most this many characters of what was typed, so that the cookie fits a browser's 4 kB.
MAX_CHARACTERS = 2500
#: Form bodies larger than this are not read back: the request was not signed in.
MAX_BODY_BYTES = 16_384
#: Fields never kept: parts of these names mark a secret or the form's own token.
SECRET_PARTS = ("password", "secret", "token", "code", "otp", "recovery", "csrf")

#: Why the session ended, for each end reason the session records keep.
ENDED = {
    "idle timeout": _l("Your session ended after %(idle)s minutes without activity."),
    "absolute timeout": _l("Your session ended: sessions last at most %(absolute)s hours."),
}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="unsaved-form")


def _same_site_path(url: str | None) -> str | None:
    """The path (and query) of ``url`` when it is on this site, else ``None``."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _ended_session() -> UserSession | None:
    """The session this browser's cookie still names, though it has ended."""
    session_id = session.get("_user_id")
    record = db_session().get(UserSession, str(session_id)) if session_id else None
    return record if record is not None and record.ended_at is not None else None


def _why_ended(record: UserSession) -> str:
    config = current_app.config
    return str(ENDED.get(record.end_reason or "", _l("Your session has ended."))) % {
        "idle": config.get("SESSION_IDLE_MINUTES", 30),
        "absolute": config.get("SESSION_ABSOLUTE_HOURS", 12),
    }


def _kept_fields() -> dict[str, list[str]] | None:
    """What the form held that may be kept, or ``None`` when it cannot be (too large, files)."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return None
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return None
    fields = {
        name: values
        for name, values in request.form.lists()
        if not any(part in name.lower() for part in SECRET_PARTS)
    }
    size = sum(len(name) + sum(len(v) for v in values) for name, values in fields.items())
    return fields if fields and size <= MAX_CHARACTERS else None


def _not_signed_in(_error: NotSignedIn):
    """Send a person to sign in, back to the page they were on, saying what became of a form."""
    ended = _ended_session()
    if request.method in ("GET", "HEAD"):
        if ended is not None:
            flash(_("%(why)s Sign in again to carry on.", why=_why_ended(ended)), "warning")
        return redirect(url_for("pages.sign_in", next=request.full_path.rstrip("?")))
    back = _same_site_path(request.referrer) or url_for("pages.index")
    kept = _kept_fields() if ended is not None else None
    response = redirect(url_for("pages.sign_in", next=back))
    if kept is None:
        reason = _why_ended(ended) if ended is not None else _("You are not signed in.")
        flash(
            _("%(why)s What you sent was not saved: sign in and send it again.", why=reason),
            "warning",
        )
        return response
    flash(
        _(
            "%(why)s What you sent was not saved. Sign in again: the form will be filled in "
            "with what you typed, for you to check and send.",
            why=_why_ended(ended),
        ),
        "warning",
    )
    stash = {
        "user": ended.user_id,
        "page": urlsplit(back).path,
        "action": request.path,
        "fields": kept,
    }
    response.set_cookie(
        COOKIE,
        _serializer().dumps(stash),
        max_age=KEEP_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
    return response


def unsaved_form() -> dict | None:
    """What was typed into a form on this page before the session ended, for this account."""
    if "unsaved_form" in g:
        return g.unsaved_form
    g.unsaved_form = None
    text = request.cookies.get(COOKIE)
    principal = current_principal()
    if not text or request.method != "GET" or principal.user_id is None:
        return None
    try:
        stash = _serializer().loads(text, max_age=KEEP_SECONDS)
    except BadSignature:
        return None
    if stash.get("user") == principal.user_id and stash.get("page") == request.path:
        g.unsaved_form = stash
    return g.unsaved_form


def _forget_once_shown(response):
    # Given back once: the page that showed it clears it, as does a cookie that is not valid.
    if g.get("unsaved_form") is not None:
        response.delete_cookie(COOKIE)
    return response


def init_app(app: Flask) -> None:
    """Answer a request that is not signed in (outside the API) with the sign-in page."""
    api_handler = app.error_handler_spec[None][None].get(NotSignedIn)

    def handle(error: NotSignedIn):
        if is_api_request() and api_handler is not None:
            return api_handler(error)
        return _not_signed_in(error)

    app.register_error_handler(NotSignedIn, handle)
    app.after_request(_forget_once_shown)
    app.jinja_env.globals["unsaved_form"] = unsaved_form
