"""The API's OpenAPI document, its Swagger UI served without a CDN, and the health check."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.api.routes import API_ROUTES

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def refs(node) -> list[str]:
    """Every ``$ref`` anywhere in ``node``."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def resolves(document: dict, ref: str) -> bool:
    if not ref.startswith("#/"):
        return False
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    return response.json


def test_openapi_document_is_openapi_3_with_its_required_parts(openapi):
    assert re.fullmatch(r"3\.\d+\.\d+", openapi["openapi"])
    assert openapi["info"]["title"] == "Job Guarantee"
    assert isinstance(openapi["info"]["version"], str) and openapi["info"]["version"]
    assert isinstance(openapi["paths"], dict) and openapi["paths"]


def test_openapi_operations_are_well_formed(openapi):
    operation_ids = []
    for path, item in openapi["paths"].items():
        assert path.startswith("/")
        path_parameters = {
            parameter["name"]
            for parameter in item.get("parameters", [])
            if parameter["in"] == "path"
        }
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert method in HTTP_METHODS, (path, method)
            assert operation["responses"], (path, method)
            for code, response in operation["responses"].items():
                assert code == "default" or re.fullmatch(r"[1-5]\d\d", code), (path, code)
                assert "description" in response or "$ref" in response, (path, code)
            declared = path_parameters | {
                parameter["name"]
                for parameter in operation.get("parameters", [])
                if parameter["in"] == "path"
            }
            # Each {name} in the path is a declared path parameter, and nothing else is.
            assert set(re.findall(r"{([^}]+)}", path)) == declared, (path, method)
            for parameter in item.get("parameters", []) + operation.get("parameters", []):
                assert parameter["in"] in {"query", "header", "path", "cookie"}
                if parameter["in"] == "path":
                    assert parameter["required"] is True
            operation_ids.append(operation.get("operationId"))
    named = [operation_id for operation_id in operation_ids if operation_id is not None]
    assert len(named) == len(set(named))


def test_openapi_references_all_resolve(openapi):
    unresolved = [ref for ref in refs(openapi) if not resolves(openapi, ref)]

    assert unresolved == []


def test_openapi_documents_every_route_under_api_v1(openapi):
    documented = {
        (method.upper(), path)
        for path, item in openapi["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }

    missing = [
        str(route) for route in API_ROUTES if (route.method, route.openapi_path) not in documented
    ]

    assert missing == []
    assert all(path.startswith("/api/v1/") for path in openapi["paths"])


def test_openapi_documents_the_conflicts_of_the_issue(openapi):
    paths = openapi["paths"]

    assert "409" in paths["/api/v1/graduations"]["post"]["responses"]
    assert "409" in paths["/api/v1/students"]["post"]["responses"]
    assert "409" in paths["/api/v1/enrollments/{enrollment_id}/payments"]["post"]["responses"]


def test_openapi_says_ids_fit_a_32_bit_key(openapi):
    parameter = openapi["paths"]["/api/v1/students/{student_id}"]["parameters"][0]

    assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.urls.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.urls.append(attributes["href"])


def test_docs_page_is_html_whose_assets_the_app_serves_itself(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    parser = _Assets()
    parser.feed(response.get_data(as_text=True))
    scripts = [url for url in parser.urls if url.endswith(".js")]
    assert scripts, "the docs page loads no script"
    for url in parser.urls:
        # Served from this service: no scheme, no host, nothing from a CDN.
        assert url.startswith("/api/docs/assets/"), url
        with client.get(url) as asset:
            assert asset.status_code == 200, url
            assert len(asset.get_data()) > 1000, url
    assert "/api/openapi.json" in response.get_data(as_text=True)


def test_docs_assets_do_not_serve_files_outside_their_folder(client):
    assert client.get("/api/docs/assets/../../__init__.py").status_code == 404
    assert client.get("/api/docs/assets/%2e%2e/%2e%2e/__init__.py").status_code == 404
    assert client.get("/api/docs/assets/no-such-file.js").status_code == 404


def test_healthz_says_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}
