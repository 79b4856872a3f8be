"""The JSON API under ``/api/v1`` and its OpenAPI document at ``/api/openapi.json``.

Views parse with marshmallow, call a service and serialise; service errors become 404, 409 and
422 responses here, in one place. Error bodies follow flask-smorest's shape:
``{"code": 422, "status": "...", "message": "...", "errors": {"json": {"field": ["why"]}}}``.
"""

from __future__ import annotations

from pathlib import Path

import flask_smorest
import flask_swagger_ui
from flask import Blueprint, Flask, request, send_from_directory
from flask_smorest import Api, abort
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from webargs.flaskparser import FlaskParser
from werkzeug import exceptions
from werkzeug.routing import IntegerConverter, ValidationError

from app.database import db_session
from app.services.errors import Conflict, Invalid, NotFound
from app.services.records import MAX_ID

SWAGGER_UI_ASSETS = Path(flask_swagger_ui.__file__).resolve().parent / "dist"


class IdConverter(IntegerConverter):
    """A positive record id that fits the database's key; anything larger is a 404 at routing.

    Out of range raises 404 itself: after werkzeug's ``ValidationError`` the router answers 405
    when a rule for another method has the same path (``POST /enrollments/<huge>/payments``
    would be "405, use GET").
    """

    def __init__(self, map, **kwargs):  # noqa: A002 - werkzeug's signature
        super().__init__(map, min=1, max=MAX_ID, **kwargs)

    def to_python(self, value: str) -> int:
        try:
            return super().to_python(value)
        except ValidationError as error:
            raise exceptions.NotFound() from error


class ArgumentsParser(FlaskParser):
    """webargs' parser, with every unloadable JSON body a 400.

    webargs turns a syntax error into a 400 but lets through what Python's ``json`` refuses
    past the syntax: nesting deeper than the recursion limit, an integer of more than 4300
    digits.
    """

    def load_json(self, req, schema):
        try:
            return super().load_json(req, schema)
        except (ValueError, RecursionError) as error:
            abort(400, exc=error, messages={"json": ["Invalid JSON body."]})


class ApiBlueprint(flask_smorest.Blueprint):
    """A blueprint of the API: flask-smorest's, parsing with ``ArgumentsParser``."""

    ARGUMENTS_PARSER = ArgumentsParser()


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Job Guarantee")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    # Swagger UI's files are served from this service, not a CDN: the docs work offline.
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/api/docs/assets/")
    app.url_map.converters["id"] = IdConverter

    api = Api(app)
    api.register_converter(
        IdConverter, lambda _converter: {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    )
    app.extensions["job_guarantee_api"] = api

    from app.api import (
        claims,
        enrollments,
        liability,
        outcomes,
        pauses,
        people,
        programmes,
        stripe_webhook,
    )

    for module in (programmes, people, enrollments, pauses, outcomes, claims):
        api.register_blueprint(module.blueprint)
    api.register_blueprint(liability.blueprint)
    csrf_exempt = [liability]
    app.register_blueprint(stripe_webhook.blueprint)
    from app.auth import csrf

    # Flask-WTF's form check does not fit JSON: a signed-in session's API requests are checked
    # by ``app.auth.protect_api_sessions`` (X-CSRFToken header), tokens need none, and the
    # webhook is signed.
    for module in (programmes, people, enrollments, pauses, outcomes, claims, stripe_webhook):
        csrf.exempt(module.blueprint)
    for module in csrf_exempt:
        csrf.exempt(module.blueprint)

    assets = Blueprint("api_docs_assets", __name__)

    @assets.get("/api/docs/assets/<path:filename>")
    def swagger_ui_asset(filename):
        return send_from_directory(SWAGGER_UI_ASSETS, filename)

    app.register_blueprint(assets)
    _register_error_handlers(app)

    @app.after_request
    def audit_api_writes(response):
        # Every record an integration or a person writes through the API lands in the audit
        # log with its actor (claim decisions are also in the claim's own trail).
        if (
            request.method == "POST"
            and request.path.startswith("/api/v1/")
            and 200 <= response.status_code < 300
        ):
            from app.audit import record_now
            from app.auth import current_principal

            endpoint = (request.endpoint or "api").replace(".", "_")
            record_now(current_principal().actor, f"api.{endpoint}", request.path)
        return response


def _register_error_handlers(app: Flask) -> None:
    def error(code: int, status: str, message: str, errors: dict | None = None):
        db_session().rollback()
        body = {"code": code, "status": status, "message": message}
        if errors is not None:
            body["errors"] = {"json": errors}
        return body, code

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return error(404, "Not Found", str(exc))

    @app.errorhandler(Invalid)
    def invalid(exc: Invalid):
        return error(422, "Unprocessable Entity", "The input breaks a rule.", exc.errors)

    @app.errorhandler(Conflict)
    def conflict(exc: Conflict):
        return error(
            409, "Conflict", exc.message, {exc.field: [exc.message]} if exc.field else None
        )

    @app.errorhandler(StaleDataError)
    def stale(exc: StaleDataError):
        # Two people changed the same claim at once: the second write is refused.
        return error(409, "Conflict", "the record changed while you were changing it; reload it")

    @app.errorhandler(DataError)
    def data_error(exc: DataError):
        # The last line of defence: a value the database refuses (out of range, bad bytes)
        # that validation let through is the client's error, never a 500.
        app.logger.warning("database refused a value on %s: %s", request.path, exc.orig)
        return error(
            422, "Unprocessable Entity", "A value is out of the range the database accepts."
        )
