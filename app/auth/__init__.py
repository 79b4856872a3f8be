"""Sign-in, roles and security: who is behind a request, and what the app lets through.

- People sign in with a session (``app.auth.sessions``); integrations send an API token
  (``Authorization: Bearer jg_...``, ``app.auth.tokens``).
- ``requires(permission)`` guards a view; services check what depends on the record.
- Authentication before a body is read: an anonymous request with a body is refused (401, or
  the sign-in page) before anything parses it, except where anyone may post (signing in, its
  second step and signing out; the emailed account links and "forgot password"; an employer's
  emailed link; the provider's signed webhook).
- CSRF protection on every form (Flask-WTF). The API's state-changing requests made with a
  signed-in browser session must send the session's CSRF token in an ``X-CSRFToken`` header
  (``protect_api_sessions``); requests with ``Authorization: Bearer`` are exempt (a cross-site
  page cannot set that header), and so is the Stripe webhook (it is signed).
- Security headers on every response, including a Content-Security-Policy.
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, g, redirect, render_template, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect, validate_csrf
from sqlalchemy import Select
from wtforms import ValidationError

from app.api.problems import problem
from app.auth import sessions
from app.auth.access import ANONYMOUS, Forbidden, NotSignedIn, Permission, Principal, authorize
from app.auth.tokens import principal_for_token, principal_for_token_reading
from app.database import database, db_session, reads_only

csrf = CSRFProtect()
limiter = Limiter(get_remote_address, default_limits=[])
# No limit applies to an API read by a bearer token (the limits guard signing in and the forms
# that send email): its hooks are not run for one (see ``init_app``), and no limit applied to
# a view counts one either.
limiter.request_filter(reads_only)

#: Paths whose callers are programs, answered in JSON.
API_PREFIXES = ("/api/", "/stripe/", "/healthz", "/readyz", "/metrics")

#: Methods that change something: a browser session must prove the page sent them.
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Headers the API reads a session's CSRF token from (Flask-WTF's own names).
CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIXES)


def current_principal() -> Principal:
    """Whoever is behind this request (``ANONYMOUS`` when nobody is)."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            record_use = request.method in STATE_CHANGING_METHODS
            g.principal = (
                principal_for_token(db_session(), header[7:].strip(), record_use=record_use)
                or ANONYMOUS
            )
        elif current_user.is_authenticated:
            g.principal = current_user.principal
        else:
            g.principal = ANONYMOUS
    return g.principal


def requires(permission: Permission, *, reading: Select | None = None):
    """Guard a view: only principals holding ``permission`` get through.

    ``reading`` is the select of the one row a view answers with, its parameters named after
    the view's arguments; the view is then given that row (a mapping, ``None`` when there is
    none) before its arguments, read once the principal is authorized. An API read by a bearer
    token asks the database for the token's account and that row in one statement.
    """

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if reading is None:
                authorize(current_principal(), permission, target=request.path)
                return view(*args, **kwargs)
            principal, row = _principal_and_row(reading, kwargs)
            authorize(principal, permission, target=request.path)
            if row is UNREAD:
                row = db_session().execute(reading, kwargs).mappings().first()
            return view(row, *args, **kwargs)

        guarded.required_permission = permission
        return guarded

    return decorator


#: The row of a view's ``reading`` not read yet (it is read after authorizing).
UNREAD = object()


def _principal_and_row(reading: Select, parameters: dict):
    # A bearer token's read (see app.database.reads_only) checks its token in the statement
    # that reads the row: one round trip, not two.
    if "principal" in g or not reads_only():
        return current_principal(), UNREAD
    token = request.headers["Authorization"][7:].strip()
    principal, row = principal_for_token_reading(database().read_first, token, reading, parameters)
    g.principal = principal or ANONYMOUS
    return g.principal, row


def protect_api_sessions():
    """Refuse a state-changing API request authenticated only by a browser session cookie
    unless it carries that session's CSRF token (403): another site's page could make the
    browser send the cookie, never the token. Bearer-token requests and anonymous ones (which
    the view answers with 401) pass through.
    """
    if request.method not in STATE_CHANGING_METHODS or not request.path.startswith("/api/"):
        return None
    if request.routing_exception is not None:
        return None  # an unknown path or a method the route does not take: 404 or 405 first
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    if not current_user.is_authenticated:
        return None
    token = next(filter(None, (request.headers.get(name) for name in CSRF_HEADERS)), None)
    try:
        validate_csrf(token)
    except ValidationError as error:
        message = (
            f"{error} A signed-in browser session must send its CSRF token in the X-CSRFToken"
            " header; integrations send Authorization: Bearer <token>."
        )
        return problem(403, message)
    return None


#: The views anyone may send a body to.
OPEN_TO_ANONYMOUS_BODIES = frozenset(
    {
        "pages.sign_in",
        "pages.sign_in_code",
        "pages.sign_in_enrol",
        "pages.sign_out",
        "pages.set_password",
        "pages.forgot_password",
        "pages.confirm_email",
        "employer.confirm",
        "stripe_webhook.stripe_webhook",
    }
)


def _authenticate_before_the_body() -> None:
    # Runs before CSRFProtect and every view, which read the body: an anonymous caller cannot
    # make the service read (up to MAX_CONTENT_LENGTH) what it would refuse anyway.
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint is None:
        return
    if request.endpoint in OPEN_TO_ANONYMOUS_BODIES:
        return
    if current_principal() is ANONYMOUS:
        raise NotSignedIn()


def _content_security_policy(script: str) -> str:
    return (
        f"default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


#: The headers every response carries, unless its view set its own.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": _content_security_policy("'self'"),
}
#: Swagger UI's page runs its own start-up script, served by us.
DOCS_CONTENT_SECURITY_POLICY = _content_security_policy("'self' 'unsafe-inline'")
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def _chosen_headers(docs: bool, strict: bool) -> tuple[tuple[str, str, str], ...]:
    chosen = dict(SECURITY_HEADERS)
    if docs:
        chosen["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    if strict:
        chosen["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    return tuple((name.lower(), name, value) for name, value in chosen.items())


#: The headers a response gets, by whether it is Swagger UI's page and whether it carries
#: Strict-Transport-Security: each (lower-case name, name, value), made once.
_CHOSEN_HEADERS = {
    (docs, strict): _chosen_headers(docs, strict)
    for docs in (False, True)
    for strict in (False, True)
}


def _security_headers(response):
    current = request._get_current_object()  # one look-up of the request, not three
    docs = current.path.rstrip("/") == "/api/docs"
    strict = current.is_secure or not _development()
    headers = response.headers
    # One pass over the response's headers rather than a look-up per header.
    set_by_the_view = {name.lower() for name, _ in headers}
    headers.extend(
        (name, value)
        for lower, name, value in _CHOSEN_HEADERS[docs, strict]
        if lower not in set_by_the_view
    )
    return response


def _development() -> bool:
    from flask import current_app

    app = current_app._get_current_object()
    return app.config["SETTINGS"].environment == "development" or app.testing


def init_app(app: Flask) -> None:
    app.config.setdefault("SESSION_IDLE_MINUTES", 30)
    app.config.setdefault("SESSION_ABSOLUTE_HOURS", 12)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    #: Sign-in attempts allowed per client address (with several workers, give a shared
    #: RATELIMIT_STORAGE_URI such as redis://, or each worker counts on its own).
    app.config.setdefault("SIGN_IN_RATE_LIMIT", "10 per minute")
    #: "Forgot password" requests allowed per client address: each may send an email.
    app.config.setdefault("FORGOT_PASSWORD_RATE_LIMIT", "5 per 15 minutes")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # None of these concerns an API read by a bearer token: it has no browser session and
    # no body, and no limit applies to it.
    with app.hooks_not_for_api_reads():
        sessions.init_app(app)
        app.before_request(_authenticate_before_the_body)  # before CSRFProtect's own hook
        csrf.init_app(app)
        limiter.init_app(app)
        app.before_request(protect_api_sessions)
    app.after_request(_security_headers)

    @app.errorhandler(NotSignedIn)
    def not_signed_in(_error):
        if is_api_request():
            return problem(
                401,
                "sign in or send an API token",
                headers={"WWW-Authenticate": 'Bearer realm="job-guarantee"'},
            )
        return redirect(url_for("pages.sign_in", next=request.full_path.rstrip("?")))

    @app.errorhandler(Forbidden)
    def forbidden(error: Forbidden):
        db_session().rollback()
        if is_api_request():
            return problem(403, "you may not do this")
        return render_template("errors/403.html"), 403
