"""``/api/v1/programmes`` and their policy versions ``/api/v1/programmes/<id>/policies``."""

from __future__ import annotations

import pytest

from tests.factories import (
    GuaranteePolicyFactory,
    ProgrammeFactory,
    StudentFactory,
)

PROGRAMME = {"name": "AI Engineer", "currency": "EUR", "tuition_list_price_minor": 600_000}


def pagination(response) -> dict:
    return response.json["pagination"]


def test_create_programme_returns_it(client):
    response = client.post("/api/v1/programmes", json=PROGRAMME)

    assert response.status_code == 201
    body = response.json
    assert body["name"] == "AI Engineer"
    assert body["currency"] == "EUR"
    assert body["tuition_list_price_minor"] == 600_000
    assert client.get(f"/api/v1/programmes/{body['id']}").json == body


def test_list_programmes_pages_by_name_with_the_page_in_the_body(client, session):
    for name in ("Cloud", "Android", "Backend"):
        ProgrammeFactory(name=name)

    first = client.get("/api/v1/programmes?page_size=2")
    second = client.get("/api/v1/programmes?page_size=2&page=2")

    assert first.status_code == second.status_code == 200
    assert [row["name"] for row in first.json["items"]] == ["Android", "Backend"]
    assert [row["name"] for row in second.json["items"]] == ["Cloud"]
    assert pagination(first) == {
        "total": 3,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 1,
        "page_size": 2,
        "previous_page": None,
        "next_page": 2,
        "previous": None,
        "next": "/api/v1/programmes?page=2&page_size=2",
    }
    assert pagination(second)["previous_page"] == 1
    assert pagination(second)["previous"] == "/api/v1/programmes?page=1&page_size=2"
    assert pagination(second)["next"] is None


def test_list_programmes_filters_by_part_of_the_name_in_any_case(client, session):
    ProgrammeFactory(name="Data Scientist")
    ProgrammeFactory(name="Web Developer")

    response = client.get("/api/v1/programmes?name=SCIEN")

    assert [row["name"] for row in response.json["items"]] == ["Data Scientist"]
    assert pagination(response)["total"] == 1


def test_list_programmes_name_filter_takes_percent_and_underscore_literally(client, session):
    ProgrammeFactory(name="100% Python")
    ProgrammeFactory(name="1000 Python")

    assert [row["name"] for row in client.get("/api/v1/programmes?name=0%25").json["items"]] == [
        "100% Python"
    ]
    assert client.get("/api/v1/programmes?name=_").json["items"] == []


def test_list_programmes_filters_by_currency(client, session):
    ProgrammeFactory(name="In euros", currency="EUR")
    ProgrammeFactory(name="In pounds", currency="GBP")

    response = client.get("/api/v1/programmes?currency=GBP")

    assert [row["name"] for row in response.json["items"]] == ["In pounds"]


def test_list_programmes_with_a_control_character_in_the_name_filter_is_422(client):
    # PostgreSQL refuses a NUL in a text parameter; the filter is refused the same way on both.
    response = client.get("/api/v1/programmes?name=a%00b")

    assert response.status_code == 422
    assert "name" in response.json["errors"]["query"]


@pytest.mark.parametrize("currency", ["gbp", "", " GBP"])
def test_list_programmes_with_a_currency_filter_not_as_iso_writes_it_is_422(client, currency):
    # The document lists the codes as ISO 4217 writes them: anything else is not one of them.
    response = client.get("/api/v1/programmes", query_string={"currency": currency})

    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == ["currency"]


def test_list_programmes_with_a_bad_currency_filter_is_422(client):
    response = client.get("/api/v1/programmes?currency=euro")

    assert response.status_code == 422
    assert "currency" in response.json["errors"]["query"]


def test_create_programme_with_a_taken_name_is_409_and_writes_nothing(client, session, refused):
    ProgrammeFactory(name="AI Engineer")

    response = refused("POST", "/api/v1/programmes", json=PROGRAMME)

    assert response.status_code == 409
    assert "name" in response.json["errors"]["json"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "   "),
        ("name", "x" * 201),
        ("name", "tab\tbell\x07"),
        ("name", "nul\x00"),
        ("name", "lone \ud800 surrogate"),
        ("name", 7),
        ("currency", "ABC"),
        ("currency", "EURO"),
        ("currency", "ßd"),
        ("currency", "eur"),
        ("currency", " EUR"),
        ("currency", None),
        ("tuition_list_price_minor", 0),
        ("tuition_list_price_minor", -1),
        ("tuition_list_price_minor", 10**12 + 1),
        ("tuition_list_price_minor", 2**64),
        ("tuition_list_price_minor", "600000"),
        ("tuition_list_price_minor", 6000.5),
        ("tuition_list_price_minor", True),
    ],
)
def test_create_programme_with_a_bad_field_is_422_naming_it(client, refused, field, value):
    response = refused("POST", "/api/v1/programmes", json={**PROGRAMME, field: value})

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == [field]


def test_create_programme_names_every_missing_field(client, refused):
    response = refused("POST", "/api/v1/programmes", json={"colour": "blue"})

    assert response.status_code == 422
    assert response.json["errors"]["json"] == {
        "name": ["Missing data for required field."],
        "currency": ["Missing data for required field."],
        "tuition_list_price_minor": ["Missing data for required field."],
        "colour": ["Unknown field."],
    }


@pytest.mark.parametrize("programme_id", ["0", "-1", "abc", str(2**31), str(2**63), "1" * 40])
def test_get_programme_with_an_id_that_cannot_exist_is_404(client, programme_id):
    assert client.get(f"/api/v1/programmes/{programme_id}").status_code == 404


def test_get_programme_unknown_is_404(client, session):
    programme = ProgrammeFactory()

    assert client.get(f"/api/v1/programmes/{programme.id + 1}").status_code == 404
    assert client.get(f"/api/v1/programmes/{2**31 - 1}").status_code == 404


def test_publish_policy_numbers_versions_1_2_3_per_programme(client, session):
    programme = ProgrammeFactory()
    other = ProgrammeFactory()

    versions = [
        client.post(
            f"/api/v1/programmes/{programme.id}/policies", json={"effective_from": day}
        ).json["version"]
        for day in ("2024-01-01", "2025-01-01", "2026-01-01")
    ]
    other_version = client.post(
        f"/api/v1/programmes/{other.id}/policies", json={"effective_from": "2024-01-01"}
    ).json["version"]

    assert versions == [1, 2, 3]
    assert other_version == 1


def test_publish_policy_fills_the_defaults_of_the_terms(client, session):
    programme = ProgrammeFactory(currency="GBP")

    response = client.post(
        f"/api/v1/programmes/{programme.id}/policies", json={"effective_from": "2024-09-01"}
    )

    assert response.status_code == 201
    body = response.json
    assert body["programme_id"] == programme.id
    assert body["currency"] == "GBP"
    assert body["window_months"] == 6
    assert body["window_starts"] == "qualification_date"
    assert body["qualifying_types"] == ["fixed_term_contract", "full_time_permanent"]
    assert body["min_contract_months"] == 6
    assert body["requires_in_field"] is True
    assert body["min_annual_salary_minor"] is None
    assert body["claim_deadline_days"] == 60
    assert body["refund_cap_minor"] is None
    assert body["deduct_scholarships"] is True
    assert body["weekly_applications"] == 0
    assert body["coaching_every_weeks"] is None
    assert body["answer_within_days"] is None
    assert body["report_offers_within_days"] is None
    assert body["declined_offer_voids"] is False
    assert body["max_pause_days"] == 0
    assert client.get(f"/api/v1/policies/{body['id']}").json == body


def test_publish_policy_keeps_the_terms_given(client, session):
    programme = ProgrammeFactory()
    terms = {
        "effective_from": "2025-03-01",
        "window_months": 12,
        "window_starts": "first_monday_after_qualification",
        "qualifying_types": ["internship", "apprenticeship", "internship"],
        "min_contract_months": 3,
        "requires_in_field": False,
        "min_annual_salary_minor": 3_000_000,
        "claim_deadline_days": 240,
        "refund_cap_minor": 400_000,
        "deduct_scholarships": False,
        "weekly_applications": 5,
        "coaching_every_weeks": 2,
        "answer_within_days": 3,
        "report_offers_within_days": 7,
        "declined_offer_voids": True,
        "max_pause_days": 180,
        "notes": "Version for the 2025 cohorts.\nSee the terms page.",
    }

    body = client.post(f"/api/v1/programmes/{programme.id}/policies", json=terms).json

    assert body["qualifying_types"] == ["apprenticeship", "internship"]
    assert {key: body[key] for key in terms if key != "qualifying_types"} == {
        key: value for key, value in terms.items() if key != "qualifying_types"
    }


def test_list_policies_of_a_programme_oldest_version_first(client, session):
    programme = ProgrammeFactory()
    for day in ("2024-01-01", "2025-01-01", "2026-01-01"):
        client.post(f"/api/v1/programmes/{programme.id}/policies", json={"effective_from": day})
    GuaranteePolicyFactory()  # another programme's

    response = client.get(f"/api/v1/programmes/{programme.id}/policies?page_size=2")

    assert response.status_code == 200
    assert [row["version"] for row in response.json["items"]] == [1, 2]
    assert pagination(response)["total"] == 3


def test_list_policies_of_an_unknown_programme_is_404(client):
    assert client.get("/api/v1/programmes/999999/policies").status_code == 404


def test_publish_policy_for_an_unknown_programme_is_404_and_writes_nothing(client, refused):
    response = refused(
        "POST", "/api/v1/programmes/999999/policies", json={"effective_from": "2024-01-01"}
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("effective_from", "2024-02-30"),
        ("effective_from", "yesterday"),
        ("effective_from", 20240101),
        ("window_months", 0),
        ("window_months", 61),
        ("window_months", "6"),
        ("window_starts", "graduation_party"),
        ("qualifying_types", []),
        ("qualifying_types", ["full_time_permanent", "volunteering"]),
        ("qualifying_types", "full_time_permanent"),
        ("min_contract_months", -1),
        ("min_annual_salary_minor", 0),
        ("claim_deadline_days", -1),
        ("claim_deadline_days", 3651),
        ("refund_cap_minor", -5),
        ("deduct_scholarships", "perhaps"),
        ("weekly_applications", -1),
        ("weekly_applications", 101),
        ("weekly_applications", None),
        ("coaching_every_weeks", 0),
        ("answer_within_days", 0),
        ("answer_within_days", "3"),
        ("report_offers_within_days", 91),
        ("declined_offer_voids", "sometimes"),
        ("max_pause_days", -1),
        ("max_pause_days", 1101),
        ("notes", ""),
        ("notes", "x" * 5001),
        ("notes", "escape \x1b[31m"),
    ],
)
def test_publish_policy_with_a_bad_term_is_422_naming_it(client, session, refused, field, value):
    programme = ProgrammeFactory()

    response = refused(
        "POST",
        f"/api/v1/programmes/{programme.id}/policies",
        json={"effective_from": "2024-01-01", field: value},
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == [field]


def test_get_policy_unknown_is_404(client):
    assert client.get("/api/v1/policies/424242").status_code == 404
    assert client.get(f"/api/v1/policies/{2**40}").status_code == 404


def test_enrollment_is_bound_to_the_version_in_force_on_its_signed_on(client, session):
    programme = ProgrammeFactory()
    student = StudentFactory()
    url = f"/api/v1/programmes/{programme.id}/policies"
    first = client.post(url, json={"effective_from": "2024-01-01"}).json
    second = client.post(url, json={"effective_from": "2025-01-01", "window_months": 9}).json

    def enroll(signed_on: str):
        return client.post(
            "/api/v1/enrollments",
            json={
                "student_id": student.id,
                "programme_id": programme.id,
                "signed_on": signed_on,
                "guarantee_opt_in": True,
            },
        )

    assert enroll("2024-01-01").json["policy_id"] == first["id"]
    assert enroll("2024-12-31").json["policy_version"] == 1
    assert enroll("2025-01-01").json["policy_id"] == second["id"]
    assert enroll("2026-07-01").json["policy_version"] == 2


def test_publishing_a_new_version_never_changes_an_existing_enrollments_policy(client, session):
    programme = ProgrammeFactory()
    url = f"/api/v1/programmes/{programme.id}/policies"
    first = client.post(url, json={"effective_from": "2024-01-01"}).json
    enrollment = client.post(
        "/api/v1/enrollments",
        json={
            "student_id": StudentFactory().id,
            "programme_id": programme.id,
            "signed_on": "2024-06-01",
            "guarantee_opt_in": True,
        },
    ).json

    # A later version, and one backdated to before the enrollment was signed.
    client.post(url, json={"effective_from": "2025-01-01"})
    client.post(url, json={"effective_from": "2024-03-01"})

    reread = client.get(f"/api/v1/enrollments/{enrollment['id']}").json
    assert reread["policy_id"] == first["id"]
    assert reread["policy_version"] == 1


def test_enroll_before_any_policy_is_in_force_is_422_on_signed_on(client, session, refused):
    policy = GuaranteePolicyFactory()
    session.flush()

    response = refused(
        "POST",
        "/api/v1/enrollments",
        json={
            "student_id": StudentFactory().id,
            "programme_id": policy.programme_id,
            "signed_on": "2019-12-31",
            "guarantee_opt_in": True,
        },
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["signed_on"]


def test_the_next_page_address_keeps_the_filters(client, session):
    for name in ("Data Science", "Data Engineering", "Web"):
        ProgrammeFactory(name=name)

    first = client.get("/api/v1/programmes?name=data&page_size=1")
    second = client.get(pagination(first)["next"])

    assert pagination(first)["next"] == "/api/v1/programmes?name=data&page=2&page_size=1"
    assert [row["name"] for row in second.json["items"]] == ["Data Science"]
    assert pagination(second)["next"] is None
