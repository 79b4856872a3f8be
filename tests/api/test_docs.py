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


def operations(openapi) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_every_operation_has_a_stable_camel_case_id_a_summary_and_the_tag_of_its_record(openapi):
    ids = []
    for path, method, operation in operations(openapi):
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", operation["operationId"]), (path, method)
        assert operation["summary"].strip(), (path, method)
        assert operation["tags"] == [path.split("/")[3]], (path, method)
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))
    assert {"listClaims", "getClaim", "approveClaim", "listStudents", "getGuarantee"} <= set(ids)
    assert {tag["name"] for tag in openapi["tags"]} == {
        operation["tags"][0] for _path, _method, operation in operations(openapi)
    }


def test_the_document_declares_bearer_tokens_so_swagger_can_authorize(openapi):
    schemes = openapi["components"]["securitySchemes"]

    assert schemes["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerToken"]["description"],
    }
    assert {"bearerToken": []} in openapi["security"]


def test_every_error_response_is_a_problem_details_object(openapi):
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, method, operation in operations(openapi):
        for code, response in operation["responses"].items():
            if code.startswith("2"):
                continue
            if "$ref" in response:
                response = openapi["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            assert response["content"] == {"application/problem+json": {"schema": problem}}, (
                path,
                method,
                code,
            )
        for code in ("401", "403", "406"):
            assert code in operation["responses"], (path, method, code)
        if method == "post":
            assert {"400", "415", "422"} <= set(operation["responses"]), (path, method)
    assert set(openapi["components"]["schemas"]["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "code",
    }


def test_every_list_answers_a_page_of_items_with_its_pagination_in_the_body(openapi):
    lists = [
        (path, operation)
        for path, method, operation in operations(openapi)
        if any(parameter["name"] == "page" for parameter in operation.get("parameters", []))
    ]

    assert len(lists) == 11
    for path, operation in lists:
        ok = operation["responses"]["200"]
        assert "headers" not in ok, path
        page = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        schema = openapi["components"]["schemas"][page]
        assert set(schema["properties"]) == {"items", "pagination"}, path
        assert schema["properties"]["pagination"] == {"$ref": "#/components/schemas/PaginationOut"}


def test_codes_are_listed_as_the_standards_write_them(openapi):
    schemas = openapi["components"]["schemas"]

    currencies = schemas["ProgrammeIn"]["properties"]["currency"]["enum"]
    countries = schemas["StudentIn"]["properties"]["country"]["enum"]
    assert {"EUR", "GBP", "USD"} <= set(currencies) and "eur" not in currencies
    assert {"GB", "FR", "SS"} <= set(countries) and all(len(code) == 2 for code in countries)
    assert "pattern" in schemas["StudentIn"]["properties"]["name"]


#: Writes that cannot clash with a record on file, and why.
NO_CONFLICT = {
    # Overwrites three facts of one enrollment (start of studies, search country, work
    # authorisation): nothing it writes is unique or versioned.
    "/api/v1/enrollments/{enrollment_id}/eligibility",
}


def test_every_write_declares_its_conflict(openapi):
    writes = [
        (path, operation)
        for path, method, operation in operations(openapi)
        if method == "post" and path not in NO_CONFLICT
    ]

    assert writes
    for path, operation in writes:
        assert "409" in operation["responses"], path
