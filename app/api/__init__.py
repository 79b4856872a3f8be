"""The JSON API under ``/api/v1`` and its OpenAPI document at ``/api/openapi.json``.

Views parse with marshmallow, call a service and serialise; service errors become 404, 409 and
422 responses here, in one place. Every error is an RFC 9457 problem details object
(``app/api/problems.py``). The document names each operation (``listClaims``), tags it by the
record it concerns, declares every refusal it can answer and the bearer token scheme.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

import flask_smorest
import flask_swagger_ui
from flask import Blueprint, Flask, request, send_from_directory
from flask_smorest import Api, abort
from flask_smorest.utils import prepare_response
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from webargs.flaskparser import FlaskParser
from werkzeug import exceptions
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, ValidationError

from app.api.listing import page_metadata
from app.api.problems import PROBLEM_CONTENT_TYPE, ProblemSchema, problem
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

    __location_map__ = {**FlaskParser.__location_map__, "form_and_files": "load_form_and_files"}

    def load_json(self, req, schema):
        try:
            return super().load_json(req, schema)
        except (ValueError, RecursionError) as error:
            abort(400, exc=error, messages={"json": ["Invalid JSON body."]})

    def load_form_and_files(self, req, schema):
        """A multipart form's fields and files together: one schema, one request body."""
        parts = MultiDict(list(req.form.items(multi=True)) + list(req.files.items(multi=True)))
        return self._makeproxy(parts, schema)


#: The media types the API answers in: JSON, and problem details for its errors.
SERVED_TYPES = ("application/json", PROBLEM_CONTENT_TYPE)

#: What each tag of the document holds: one per record.
TAGS = {
    "programmes": "Programmes and their guarantee policy versions.",
    "policies": "Guarantee policy versions.",
    "students": "Students.",
    "employers": "Employers.",
    "enrollments": "Enrollments and their tuition payments.",
    "graduations": "Graduations, the guarantee they open, pauses of the search and exclusions.",
    "job-outcomes": "Jobs graduates took after qualifying.",
    "claims": "Refund claims: flagged by the sweep, decided by finance, paid by the executor.",
    "recovery-items": "Paid refunds a qualifying job reported afterwards contradicts.",
    "liability": "The expected refund liability, from the school's own placement history.",
    "invitations": "Invitations of students to their graduate accounts.",
    "documents": "Evidence documents (PDF, PNG, JPEG) attached to the records they back.",
}

#: Operations that read a body other than JSON, and the media type they read.
BODY_TYPES = {"api_documents.upload_document": "multipart/form-data"}

#: Operations that answer in a media type other than JSON (their errors are still problem
#: details).
ANSWER_TYPES = {"api_documents.download_document": "application/octet-stream"}


def operation_id(function_name: str) -> str:
    """The operationId of a view: its name in lower camel case (``list_claims``: ``listClaims``)."""
    first, *rest = function_name.split("_")
    return first + "".join(word.capitalize() for word in rest)


class ApiBlueprint(flask_smorest.Blueprint):
    """A blueprint of the API: flask-smorest's, parsing with ``ArgumentsParser``.

    Each operation it registers is named after its view (``operationId``), tagged by the record
    under ``/api/v1`` it concerns, and declares the refusals every operation can answer.
    """

    ARGUMENTS_PARSER = ArgumentsParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "form_and_files": "multipart/form-data",
    }

    def _set_pagination_metadata(self, page_params, result, headers):
        # The page's metadata goes in the body, beside its items: see app/api/listing.py.
        metadata = page_metadata(
            page_params.page,
            page_params.page_size,
            page_params.item_count,
            getattr(page_params, "next_cursor", None),
        )
        return {"items": result, "pagination": metadata}, headers

    def _document_pagination_metadata(self, spec, resp_doc):
        # Nothing in the headers: the page's schema (``paged``) documents it.
        return None

    def alt_response(self, status_code, response=None, **kwargs):
        # An error response without a schema of its own is a problem details object.
        if response is None and kwargs.get("schema") is None and int(status_code) >= 400:
            kwargs["schema"] = ProblemSchema
            kwargs.setdefault("content_type", PROBLEM_CONTENT_TYPE)
        return super().alt_response(status_code, response, **kwargs)

    def add_url_rule(self, rule, endpoint=None, view_func=None, *args, **kwargs):
        if view_func is not None and not isinstance(view_func, type):
            _document_operation(rule, view_func, kwargs.get("methods", ("GET",)))
        return super().add_url_rule(rule, endpoint, view_func, *args, **kwargs)


def _document_operation(rule: str, view, methods) -> None:
    """Name and tag the operation of ``view``, and declare the refusals any operation can
    answer (a rule's own 409 or 422 is declared on its view)."""
    doc = view.__dict__.setdefault("_apidoc", {})
    declared = set(doc.get("response", {}).get("responses", {}))
    manual = doc.setdefault("manual_doc", {})
    manual.setdefault("operationId", operation_id(view.__name__))
    manual.setdefault("tags", [rule.strip("/").split("/")[0]])
    refusals = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 406: "NOT_ACCEPTABLE"}
    if "<" in rule or "pagination" in doc:
        refusals[404] = "NOT_FOUND"
    if "POST" in methods:
        refusals[400] = "BAD_REQUEST"
        refusals[415] = "UNSUPPORTED_MEDIA_TYPE"
    responses = manual.setdefault("responses", {})
    for code, name in refusals.items():
        if code not in declared:
            responses.setdefault(str(code), name)


class JobGuaranteeApi(Api):
    """flask-smorest's ``Api``, whose errors are problem details (RFC 9457)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        # flask-smorest's responses of every status, served as problem details.
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error):
        if not request.path.startswith("/api/"):
            return super().handle_http_exception(error)
        db_session().rollback()
        data = getattr(error, "data", None) or {}
        errors = data.get("errors", data.get("messages"))
        # 405's Allow, 401's WWW-Authenticate: the headers the status calls for.
        headers = {
            name: value for name, value in error.get_headers() if name.lower() != "content-type"
        }
        headers.update(data.get("headers") or {})
        detail = data.get("message") or error.description
        return problem(error.code or 500, detail, errors, headers)


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
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": "The school's records, the guarantee and refund claims. "
                "Errors are RFC 9457 problem details; lists carry their page in the body."
            },
            "security": [{"bearerToken": []}, {"sessionCookie": []}],
        },
    )

    api = JobGuaranteeApi(app)
    api.spec.components.security_scheme(
        "bearerToken",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token made on the admin page: ``Authorization: Bearer jg_...``.",
        },
    )
    api.spec.components.security_scheme(
        "sessionCookie",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": app.config.get("SESSION_COOKIE_NAME", "session"),
            "description": "A signed-in person's session, as the pages and Swagger UI use it.",
        },
    )
    app.extensions["job_guarantee_api"] = api

    from app.api import (
        claims,
        documents,
        enrollments,
        invitations,
        liability,
        outcomes,
        pauses,
        people,
        programmes,
        stripe_webhook,
    )

    for module in (programmes, people, enrollments, pauses, outcomes, claims, invitations):
        api.register_blueprint(module.blueprint)
    api.register_blueprint(liability.blueprint)
    api.register_blueprint(documents.blueprint)
    csrf_exempt = [liability, invitations, documents]
    # flask-smorest's pagination header schema: the page's metadata is in the body instead.
    api.spec.components.schemas.pop("PaginationMetadata", None)
    # Tags by record (set on each operation), not by blueprint.
    api.spec._tags[:] = [
        {"name": name, "description": description} for name, description in TAGS.items()
    ]
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

    @app.before_request
    def negotiate():
        # What the API cannot serve or read is refused before any view runs.
        current = request._get_current_object()  # one look-up of the request, not a dozen
        if not current.path.startswith("/api/v1/"):
            return None
        if current.routing_exception is not None:
            return None  # an unknown path or a method the route does not take: 404 or 405 first
        if current.headers.get("Accept", "*/*") != "*/*":  # anything will do: nothing to parse
            accept = current.accept_mimetypes
            answers = ANSWER_TYPES.get(current.endpoint)
            served = (answers, PROBLEM_CONTENT_TYPE) if answers else SERVED_TYPES
            if accept and accept.best_match(served) is None:
                return problem(406, f"This API answers in {answers or 'application/json'} only.")
        if current.method not in {"POST", "PUT", "PATCH"}:
            return None  # no body is read
        has_body = bool(current.content_length) or "chunked" in current.headers.get(
            "Transfer-Encoding", ""
        )
        reads = BODY_TYPES.get(current.endpoint)
        readable = current.mimetype == reads if reads else current.is_json
        if has_body and not readable:
            return problem(415, f"Send the body as {reads or 'application/json'}.")
        return None

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

    with app.hooks_not_for_api_reads():  # a read writes nothing
        app.after_request(audit_api_writes)


def _register_error_handlers(app: Flask) -> None:
    def error(code: int, status: str, message: str, errors: dict | None = None):
        db_session().rollback()
        return problem(code, message, {"json": errors} if errors is not None else None)

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
