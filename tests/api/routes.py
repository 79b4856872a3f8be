"""The API's routes, read from the application's URL map, and its OpenAPI document, for tests
that cover every route."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app import create_app

_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Route:
    """One method of one URL rule under ``/api/v1``."""

    method: str
    rule: str
    parameters: tuple[str, ...]

    def url(self, values: dict[str, object], default: object = 1) -> str:
        """The rule with each path parameter replaced by its value in ``values``, or ``default``."""
        return _PARAMETER.sub(lambda match: str(values.get(match.group(1), default)), self.rule)

    @property
    def openapi_path(self) -> str:
        """The rule as OpenAPI writes it: ``/a/<id:x>`` is ``/a/{x}``."""
        return _PARAMETER.sub(r"{\1}", self.rule)

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def _read_app() -> tuple[list[Route], dict]:
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    try:
        routes = {
            Route(method, rule.rule, tuple(_PARAMETER.findall(rule.rule)))
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/v1/")
            for method in rule.methods & {"GET", "POST"}
        }
        openapi = app.test_client().get("/api/openapi.json").json
    finally:
        app.extensions["database"].dispose()
    return sorted(routes, key=lambda route: (route.rule, route.method)), openapi


#: Every GET and POST route under ``/api/v1``, in a stable order.
API_ROUTES, OPENAPI = _read_app()
GET_ROUTES = [route for route in API_ROUTES if route.method == "GET"]
POST_ROUTES = [route for route in API_ROUTES if route.method == "POST"]


def _reads_json(route: Route) -> bool:
    operation = OPENAPI["paths"][route.openapi_path][route.method.lower()]
    return "application/json" in operation.get("requestBody", {}).get(
        "content", {"application/json": {}}
    )


#: The POST routes whose body is JSON (a document's upload is multipart/form-data instead).
JSON_POST_ROUTES = [route for route in POST_ROUTES if _reads_json(route)]
