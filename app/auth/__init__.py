"""Sign-in, roles and security: who is behind a request, and what the app lets through.

- People sign in with a session (``app.auth.sessions``); integrations send an API token
  (``Authorization: Bearer jg_...``, ``app.auth.tokens``).
- ``requires(permission)`` guards a view; services check what depends on the record.
- CSRF protection on every form (Flask-WTF); the JSON API and the Stripe webhook are exempt
  (the API takes JSON only, which a cross-site form cannot send; the webhook is signed).
- Security headers on every response, including a Content-Security-Policy.
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, g, redirect, render_template, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from app.api.problems import problem
from app.auth import sessions
from app.auth.access import ANONYMOUS, Forbidden, NotSignedIn, Permission, Principal, authorize
from app.auth.tokens import principal_for_token
from app.database import db_session

csrf = CSRFProtect()
limiter = Limiter(get_remote_address, default_limits=[])

#: Paths whose callers are programs, answered in JSON.
API_PREFIXES = ("/api/", "/stripe/", "/healthz")


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIXES)


def current_principal() -> Principal:
    """Whoever is behind this request (``ANONYMOUS`` when nobody is)."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            g.principal = principal_for_token(db_session(), header[7:].strip()) or ANONYMOUS
        elif current_user.is_authenticated:
            g.principal = current_user.principal
        else:
            g.principal = ANONYMOUS
    return g.principal


def requires(permission: Permission):
    """Guard a view: only principals holding ``permission`` get through."""

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            authorize(current_principal(), permission, target=request.path)
            return view(*args, **kwargs)

        guarded.required_permission = permission
        return guarded

    return decorator


def _security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    script = "'self'"
    if request.path.rstrip("/") == "/api/docs":
        script = "'self' 'unsafe-inline'"  # Swagger UI's own start-up script, served by us
    headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'",
    )
    if request.is_secure or not _development():
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _development() -> bool:
    from flask import current_app

    return current_app.config["SETTINGS"].environment == "development" or current_app.testing


def init_app(app: Flask) -> None:
    app.config.setdefault("SESSION_IDLE_MINUTES", 30)
    app.config.setdefault("SESSION_ABSOLUTE_HOURS", 12)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    #: Sign-in attempts allowed per client address (with several workers, give a shared
    #: RATELIMIT_STORAGE_URI such as redis://, or each worker counts on its own).
    app.config.setdefault("SIGN_IN_RATE_LIMIT", "10 per minute")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    sessions.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
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
