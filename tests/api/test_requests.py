"""What every route of ``/api/v1`` does with a request it cannot serve: 400, 404 or 422, and
nothing written."""

from __future__ import annotations

import pytest

from tests.api.routes import GET_ROUTES, JSON_POST_ROUTES, POST_ROUTES, Route

ROUTES_WITH_IDS = [route for route in GET_ROUTES + POST_ROUTES if route.parameters]

MALFORMED_BODIES = {
    "syntax error": b'{"name": ',
    "trailing comma": b'{"name": "x",}',
    "single quotes": b"{'name': 'x'}",
    "invalid utf-8": b'{"name": "\xff\xfe"}',
    "nested past the recursion limit": b"[" * 100_000 + b"]" * 100_000,
    "integer of 5000 digits": b'{"amount_minor": ' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
@pytest.mark.parametrize("route", JSON_POST_ROUTES, ids=str)
def test_post_with_malformed_json_is_400_and_writes_nothing(refused, records, route, body):
    response = refused("POST", route.url(records), data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json["errors"] == {"json": ["Invalid JSON body."]}


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "true", "null", "[{}]"])
@pytest.mark.parametrize("route", JSON_POST_ROUTES, ids=str)
def test_post_with_a_json_body_that_is_not_an_object_is_422_and_writes_nothing(
    refused, records, route, body
):
    response = refused("POST", route.url(records), data=body, content_type="application/json")

    assert response.status_code == 422
    assert "json" in response.json["errors"]


@pytest.mark.parametrize("route", JSON_POST_ROUTES, ids=str)
def test_post_naming_an_unknown_field_is_422_naming_it(refused, records, route):
    response = refused("POST", route.url(records), json={"no_such_field": 1})

    assert response.status_code == 422
    assert response.json["errors"]["json"]["no_such_field"] == ["Unknown field."]


@pytest.mark.parametrize("record_id", [2**31, 2**63, 10**30, 0])
@pytest.mark.parametrize("route", ROUTES_WITH_IDS, ids=str)
def test_an_id_that_cannot_exist_in_the_path_is_404_and_writes_nothing(refused, route, record_id):
    # 2**31 does not fit the 32-bit key: no row can have it, whatever the method.
    response = refused(route.method, route.url({}, default=record_id), json={})

    assert response.status_code == 404


@pytest.mark.parametrize("route", [route for route in GET_ROUTES if route.parameters], ids=str)
def test_reading_with_an_unknown_id_in_the_path_is_404(client, route, records):
    # Each id is past the record of its kind: no such row. (A POST checks its body first: its
    # 404s are in the tests of each resource, with a valid body.)
    unknown = {name: value + 1000 for name, value in records.items()}

    response = client.get(route.url(unknown, default=2**31 - 1))

    assert response.status_code == 404
    assert response.json["code"] == 404


def list_routes(client, records) -> list[Route]:
    """The GET routes that page their answer (their body has ``items`` and ``pagination``)."""
    return [route for route in GET_ROUTES if is_page(client.get(route.url(records)).json)]


def is_page(body) -> bool:
    return isinstance(body, dict) and set(body) == {"items", "pagination"}


def test_every_collection_is_paginated(client, records):
    listed = {route.rule for route in list_routes(client, records)}

    assert {
        "/api/v1/programmes",
        "/api/v1/programmes/<id:programme_id>/policies",
        "/api/v1/students",
        "/api/v1/employers",
        "/api/v1/enrollments",
        "/api/v1/enrollments/<id:enrollment_id>/payments",
        "/api/v1/graduations",
        "/api/v1/job-outcomes",
    } <= listed


@pytest.mark.parametrize("page_number", [2, 1000, 2**31, 2**63, 10**30])
def test_a_page_past_the_last_is_404_on_every_collection(client, records, page_number):
    for route in list_routes(client, records):
        response = client.get(f"{route.url(records)}?page={page_number}&page_size=100")

        assert response.status_code == 404, route


def test_the_first_page_of_an_empty_collection_is_200_and_empty(client):
    response = client.get("/api/v1/programmes")

    assert response.status_code == 200
    assert response.json == {
        "items": [],
        "pagination": {
            "page": 1,
            "page_size": 10,
            "total": 0,
            "total_pages": 0,
            "first_page": 1,
            "last_page": 1,
            "previous_page": None,
            "next_page": None,
            "previous": None,
            "next": None,
        },
    }
    assert "X-Pagination" not in response.headers


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=one", "page"),
        ("page=1.5", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        (f"page_size={10**30}", "page_size"),
    ],
)
def test_bad_pagination_is_422_naming_the_parameter(client, records, query, field):
    for route in list_routes(client, records):
        response = client.get(f"{route.url(records)}?{query}")

        assert response.status_code == 422, route
        assert list(response.json["errors"]["query"]) == [field]


def test_error_bodies_are_problem_details(client):
    response = client.get("/api/v1/students/999999")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": response.json["detail"],
        "instance": "/api/v1/students/999999",
        "code": 404,
    }
    assert "999999" in response.json["detail"]


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("DELETE", "/api/v1/students", {"GET", "POST"}),
        ("PUT", "/api/v1/claims/1", {"GET"}),
        ("PATCH", "/api/v1/claims/1/approve", {"POST"}),
    ],
)
def test_a_method_the_resource_does_not_have_is_405_with_allow(client, method, url, allowed):
    response = client.open(url, method=method, json={})

    assert response.status_code == 405
    assert allowed <= {name.strip() for name in response.headers["Allow"].split(",")}
    assert response.json["status"] == 405


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_json_is_415_and_writes_nothing(refused, content_type):
    response = refused(
        "POST",
        "/api/v1/students",
        data=b"name=Ada&email=ada@example.org",
        content_type=content_type,
    )

    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def test_asking_for_a_type_the_api_does_not_serve_is_406(client):
    refused = client.get("/api/v1/students", headers={"Accept": "text/html"})
    served = client.get("/api/v1/students", headers={"Accept": "text/html, application/json;q=0.5"})

    assert refused.status_code == 406
    assert refused.json["status"] == 406
    assert served.status_code == 200


def test_a_write_with_an_empty_body_reads_as_no_fields(client):
    response = client.post("/api/v1/students")

    assert response.status_code == 422
    assert set(response.json["errors"]["json"]) == {"name", "email", "country"}


def test_no_credentials_is_401_saying_how_to_authenticate(anonymous_client):
    response = anonymous_client.get("/api/v1/students")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["status"] == 401


@pytest.mark.parametrize("value", ["1", "0", "yes", "True", ""])
def test_a_boolean_filter_other_than_true_or_false_is_422(client, value):
    response = client.get("/api/v1/enrollments", query_string={"guarantee_opt_in": value})

    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == ["guarantee_opt_in"]
