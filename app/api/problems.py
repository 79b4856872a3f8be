"""The API's one error shape: RFC 9457 problem details, as ``application/problem+json``.

Every refusal of the API, whoever raises it (validation, a service's rule, routing,
authentication), answers with the same members::

    {"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
     "detail": "The input breaks a rule.", "instance": "/api/v1/enrollments",
     "code": 422, "errors": {"json": {"signed_on": ["no guarantee policy ..."]}}}

``errors`` names each bad input by where it was read (``json``, ``query``) and field, with the
reasons; ``code`` repeats ``status`` for the clients written before problem details.
"""

from __future__ import annotations

from http import HTTPStatus

from flask import Response, json, request
from marshmallow import Schema, fields

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemSchema(Schema):
    """An RFC 9457 problem details object, with the API's ``errors`` and ``code`` members."""

    type = fields.String(
        required=True,
        metadata={"description": "A URI naming the kind of problem; about:blank for plain HTTP."},
    )
    title = fields.String(required=True, metadata={"description": "The status's reason phrase."})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status code."})
    detail = fields.String(
        required=True, metadata={"description": "What went wrong, for a person to read."}
    )
    instance = fields.String(
        required=True, metadata={"description": "The path of the request refused."}
    )
    code = fields.Integer(required=True, metadata={"description": "The same as status."})
    errors = fields.Dict(
        keys=fields.String(),
        metadata={
            "description": "Each bad input by where it was read (json, query), then by field "
            "(``_schema`` for the input as a whole), with the reasons."
        },
    )


def problem(
    status: int,
    detail: str | None = None,
    errors: dict | None = None,
    headers: dict | None = None,
) -> Response:
    """The problem details response of ``status``."""
    phrase = HTTPStatus(status).phrase
    body = {
        "type": "about:blank",
        "title": phrase,
        "status": status,
        "detail": detail or phrase,
        "instance": request.path,
        "code": status,
    }
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
