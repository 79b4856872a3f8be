"""``/api/v1/job-outcomes``: the jobs graduates took."""

from __future__ import annotations

from datetime import date

import pytest

from app.guarantee.terms import EmploymentType, OutcomeStatus
from tests.factories import EmployerFactory, GraduationFactory, JobOutcomeFactory


def pagination(response) -> dict:
    return response.json["pagination"]


def job(graduation, employer, **changes) -> dict:
    return {
        "graduation_id": graduation.id,
        "employer_id": employer.id,
        "title": "Data engineer",
        "employment_type": "fixed_term_contract",
        "in_field": True,
        "start_date": "2025-10-01",
        "contract_months": 12,
        "annual_salary_minor": 4_500_000,
        "salary_currency": "EUR",
        "source": "employer",
        **changes,
    }


def test_report_job_outcome_returns_it(client, session):
    graduation = GraduationFactory()
    employer = EmployerFactory()

    response = client.post("/api/v1/job-outcomes", json=job(graduation, employer))

    assert response.status_code == 201
    body = response.json
    assert body["graduation_id"] == graduation.id
    assert body["employer_id"] == employer.id
    assert body["title"] == "Data engineer"
    assert body["employment_type"] == "fixed_term_contract"
    assert body["in_field"] is True
    assert body["start_date"] == "2025-10-01"
    assert body["contract_months"] == 12
    assert body["annual_salary_minor"] == 4_500_000
    assert body["salary_currency"] == "EUR"
    assert body["source"] == "employer"
    assert body["status"] == "reported"
    assert client.get(f"/api/v1/job-outcomes/{body['id']}").json == body


def test_report_founded_company_needs_no_employer(client, session):
    graduation = GraduationFactory()

    response = client.post(
        "/api/v1/job-outcomes",
        json={
            "graduation_id": graduation.id,
            "title": "Founder",
            "employment_type": "founded_company",
            "in_field": True,
            "start_date": "2025-09-15",
            "source": "graduate",
        },
    )

    assert response.status_code == 201
    assert response.json["employer_id"] is None


def test_report_a_job_without_employer_is_422_on_employer_id(client, session, refused):
    graduation = GraduationFactory()

    response = refused(
        "POST", "/api/v1/job-outcomes", json=job(graduation, EmployerFactory(), employer_id=None)
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["employer_id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"salary_currency": None}, "salary_currency"),
        ({"annual_salary_minor": None}, "salary_currency"),
        ({"graduation_id": 99_999}, "graduation_id"),
        ({"graduation_id": 2**31}, "graduation_id"),
        ({"employer_id": 99_999}, "employer_id"),
        ({"title": ""}, "title"),
        ({"title": "\x00"}, "title"),
        ({"employment_type": "gig"}, "employment_type"),
        ({"in_field": "sort of"}, "in_field"),
        ({"start_date": "soon"}, "start_date"),
        ({"contract_months": 0}, "contract_months"),
        ({"contract_months": 601}, "contract_months"),
        ({"annual_salary_minor": 0}, "annual_salary_minor"),
        ({"salary_currency": "EU"}, "salary_currency"),
        ({"source": "rumour"}, "source"),
        ({"status": "hoped"}, "status"),
    ],
)
def test_report_job_outcome_with_a_bad_field_is_422_naming_it(
    client, session, refused, changes, field
):
    graduation = GraduationFactory()
    employer = EmployerFactory()

    response = refused("POST", "/api/v1/job-outcomes", json=job(graduation, employer, **changes))

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == [field]


def test_list_job_outcomes_latest_start_first_with_pagination(client, session):
    for day in (date(2025, 10, 1), date(2025, 12, 1), date(2025, 11, 1)):
        JobOutcomeFactory(start_date=day)

    response = client.get("/api/v1/job-outcomes?page_size=2&page=1")

    assert [row["start_date"] for row in response.json["items"]] == ["2025-12-01", "2025-11-01"]
    assert pagination(response)["total"] == 3


def test_list_job_outcomes_filters_by_graduation(client, session):
    mine = JobOutcomeFactory()
    JobOutcomeFactory()

    response = client.get(f"/api/v1/job-outcomes?graduation_id={mine.graduation_id}")

    assert [row["id"] for row in response.json["items"]] == [mine.id]


def test_list_job_outcomes_filters_by_employer(client, session):
    mine = JobOutcomeFactory()
    JobOutcomeFactory()

    response = client.get(f"/api/v1/job-outcomes?employer_id={mine.employer_id}")

    assert [row["id"] for row in response.json["items"]] == [mine.id]


def test_list_job_outcomes_filters_by_status(client, session):
    disputed = JobOutcomeFactory(status=OutcomeStatus.DISPUTED)
    JobOutcomeFactory(status=OutcomeStatus.CONFIRMED)

    response = client.get("/api/v1/job-outcomes?status=disputed")

    assert [row["id"] for row in response.json["items"]] == [disputed.id]


def test_list_job_outcomes_filters_by_employment_type(client, session):
    freelance = JobOutcomeFactory(employment_type=EmploymentType.FREELANCE)
    JobOutcomeFactory()

    response = client.get("/api/v1/job-outcomes?employment_type=freelance")

    assert [row["id"] for row in response.json["items"]] == [freelance.id]


@pytest.mark.parametrize(
    "query",
    ["graduation_id=x", "employer_id=0", "status=lost", "employment_type=FULL_TIME"],
)
def test_list_job_outcomes_with_a_bad_filter_is_422_naming_it(client, query):
    response = client.get(f"/api/v1/job-outcomes?{query}")

    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == [query.split("=")[0]]


def test_get_job_outcome_unknown_is_404(client):
    assert client.get("/api/v1/job-outcomes/606").status_code == 404
    assert client.get(f"/api/v1/job-outcomes/{2**31}").status_code == 404
