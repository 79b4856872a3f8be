"""Errors people can read: every refusal outside the API is an HTML page in the site's look.

The API (``/api``, the webhook, health and metrics) keeps answering in JSON problem details
(``app/api/problems.py``); everything else a browser asks for (a mistyped address, a form sent
with a stale CSRF token, a ``GET`` on a form's address, a server error) gets a page saying what
happened and where to go next, with the same status code.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app.auth import is_api_request
from app.database import db_session
from app.services.errors import Conflict, Invalid, NotFound

#: What each status means to the person who met it: (title, explanation).
EXPLANATIONS = {
    400: (
        _l("That request could not be read"),
        _l(
            "Something in the address or the form is not in a shape this site accepts. "
            "Check what you typed, or go back and try again."
        ),
    ),
    403: (
        _l("You can't see this page"),
        _l("It belongs to someone else, or your role doesn't include it."),
    ),
    404: (_l("Not found"), _l("There is nothing at this address.")),
    405: (
        _l("This address is not a page"),
        _l(
            "It is where a form sends what you submit, not something to open. "
            "Go back to the page the form is on."
        ),
    ),
    409: (
        _l("Someone else changed this first"),
        _l(
            "The record changed while you were looking at it, so your change was not saved. "
            "Go back, reload the page and try again."
        ),
    ),
    410: (_l("This link has expired"), _l("What it pointed to is no longer available.")),
    413: (
        _l("That is too large to send"),
        _l("What you sent is larger than this site accepts, so nothing was saved."),
    ),
    429: (
        _l("Too many attempts"),
        _l("You sent too many requests in a short time. Wait a minute and try again."),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("The error has been logged. Nothing you did caused it; try again in a few minutes."),
    ),
}

CSRF_EXPLANATION = (
    _l("This form has expired"),
    _l(
        "The form was open too long or was sent from another page, so nothing was saved. "
        "Go back, reload the page and send it again."
    ),
)


def error_page(status: int, explanation: tuple[str, str] | None = None, headers=None):
    """The HTML page of ``status``: a title, what it means, and a way back."""
    title, message = (
        explanation or EXPLANATIONS.get(status) or EXPLANATIONS[500 if status >= 500 else 400]
    )
    return (
        render_template("errors/error.html", status=status, title=title, message=message),
        status,
        headers or {},
    )


def _html_outside_api(app: Flask, kind: type[Exception], page) -> None:
    """Answer ``kind`` with ``page(error)`` outside the API, and as the API does inside it."""
    api_handler = app.error_handler_spec[None][None].get(kind)

    def handle(error):
        if is_api_request() and api_handler is not None:
            return api_handler(error)
        db_session().rollback()
        return page(error)

    app.register_error_handler(kind, handle)


def _http_error(error: HTTPException):
    if isinstance(error, CSRFError):
        return error_page(400, CSRF_EXPLANATION)
    # 405's Allow, 429's Retry-After: the headers the status calls for.
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    return error_page(error.code or 500, headers=headers)


def init_app(app: Flask) -> None:
    """Register the pages' error handlers; after the API's, whose handlers they wrap."""
    _html_outside_api(app, HTTPException, _http_error)
    _html_outside_api(app, NotFound, lambda _error: error_page(404))
    _html_outside_api(app, Invalid, lambda _error: error_page(400))
    _html_outside_api(app, Conflict, lambda _error: error_page(409))
    _html_outside_api(app, StaleDataError, lambda _error: error_page(409))
    _html_outside_api(app, DataError, _data_error)


def _data_error(error: DataError):
    # A value the database refuses (out of range, bad bytes) that validation let through.
    current_app.logger.warning("database refused a value on %s: %s", request.path, error.orig)
    return error_page(400)
