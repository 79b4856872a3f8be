"""Eligibility through the API: a policy version's terms, an enrollment's facts, a
prerequisite's verification, and the guarantee that reads them."""

from __future__ import annotations

from datetime import date

from app.models import PolicyPrerequisite, PolicySearchArea
from tests.factories import (
    EmployerFactory,
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    PrerequisiteVerificationFactory,
    ProgrammeFactory,
    StudentFactory,
)

DEGREE = "Bachelor's degree, mathematics"


def _seed_policy():
    return GuaranteePolicyFactory(
        effective_from=date(2024, 1, 1),
        prerequisites=[PolicyPrerequisite(label=DEGREE, position=0)],
        qualify_within_months=12,
        search_areas=[PolicySearchArea(code=code) for code in ("CA", "FR", "GB", "US")],
        requires_work_authorisation=True,
    )


def test_publish_policy_with_eligibility_terms_returns_them(client, session):
    programme = ProgrammeFactory()

    response = client.post(
        f"/api/v1/programmes/{programme.id}/policies",
        json={
            "effective_from": "2024-09-01",
            "prerequisites": [DEGREE, "Admission test passed"],
            "qualify_within_months": 12,
            "search_areas": ["US", "GB", "CA", "FR", "EU"],
            "requires_work_authorisation": True,
            "remote_abroad_counts": False,
        },
    )

    assert response.status_code == 201
    body = response.json
    assert [row["label"] for row in body["prerequisites"]] == [DEGREE, "Admission test passed"]
    assert body["qualify_within_months"] == 12
    assert body["search_areas"] == ["CA", "EU", "FR", "GB", "US"]
    assert (body["requires_work_authorisation"], body["remote_abroad_counts"]) == (True, False)
    assert client.get(f"/api/v1/policies/{body['id']}").json == body


def test_publish_policy_without_eligibility_terms_covers_everyone(client, session):
    programme = ProgrammeFactory()

    body = client.post(
        f"/api/v1/programmes/{programme.id}/policies", json={"effective_from": "2024-09-01"}
    ).json

    assert (body["prerequisites"], body["qualify_within_months"], body["search_areas"]) == (
        [],
        None,
        [],
    )
    assert (body["requires_work_authorisation"], body["remote_abroad_counts"]) == (False, True)


def test_publish_policy_refuses_an_unknown_area_and_a_repeated_prerequisite(
    client, session, refused
):
    programme = ProgrammeFactory()
    url = f"/api/v1/programmes/{programme.id}/policies"

    area = refused("POST", url, json={"effective_from": "2024-09-01", "search_areas": ["XX"]})
    twice = refused(
        "POST", url, json={"effective_from": "2024-09-01", "prerequisites": [DEGREE, DEGREE]}
    )

    assert area.status_code == 422
    assert "search_areas" in area.json["errors"]["json"]
    assert twice.status_code == 422
    assert twice.json["errors"]["json"] == {"prerequisites": ["each prerequisite is listed once"]}


def test_an_enrollment_records_eligibility_and_a_registrar_verifies_its_prerequisite(
    client, session
):
    policy = _seed_policy()
    student = StudentFactory(country="FR")
    session.flush()

    created = client.post(
        "/api/v1/enrollments",
        json={
            "student_id": student.id,
            "programme_id": policy.programme_id,
            "signed_on": "2024-03-01",
            "guarantee_opt_in": True,
            "studies_started_on": "2024-03-04",
            "work_authorisation": "yes",
        },
    )
    assert created.status_code == 201
    body = created.json
    assert (body["studies_started_on"], body["search_country"], body["work_authorisation"]) == (
        "2024-03-04",
        "FR",  # the student's own
        "yes",
    )
    [prerequisite] = body["prerequisites"]
    assert (prerequisite["label"], prerequisite["verification"]) == (DEGREE, None)

    url = f"/api/v1/enrollments/{body['id']}/prerequisites/{prerequisite['id']}/verification"
    verified = client.post(url, json={"note": "Diploma seen"})
    again = client.post(url, json={})
    assert verified.status_code == 201
    assert (verified.json["label"], verified.json["note"]) == (DEGREE, "Diploma seen")
    assert verified.json["verified_by"]
    assert again.status_code == 409
    read = client.get(f"/api/v1/enrollments/{body['id']}").json
    assert read["prerequisites"][0]["verification"] == verified.json

    changed = client.post(
        f"/api/v1/enrollments/{body['id']}/eligibility",
        json={"studies_started_on": None, "search_country": "CA", "work_authorisation": "no"},
    )
    assert changed.status_code == 200
    assert (changed.json["studies_started_on"], changed.json["search_country"]) == (None, "CA")
    assert changed.json["work_authorisation"] == "no"


def test_an_enrollment_records_the_country_of_study_and_the_work_authorisation_there(
    client, session
):
    policy = _seed_policy()
    student = StudentFactory(country="GB")
    session.flush()
    enroll = {
        "student_id": student.id,
        "programme_id": policy.programme_id,
        "guarantee_opt_in": True,
    }

    by_default = client.post("/api/v1/enrollments", json={**enroll, "signed_on": "2024-03-01"})
    given = client.post(
        "/api/v1/enrollments",
        json={
            **enroll,
            "signed_on": "2024-03-02",
            "study_country": "US",
            "study_work_authorisation": "no",
        },
    )

    assert (by_default.status_code, given.status_code) == (201, 201)
    assert (
        by_default.json["study_country"],
        by_default.json["study_work_authorisation"],
    ) == ("GB", "unknown")  # the student's own country; not known
    assert (given.json["study_country"], given.json["study_work_authorisation"]) == ("US", "no")

    url = f"/api/v1/enrollments/{given.json['id']}/eligibility"
    facts = {"studies_started_on": None, "search_country": "CA", "work_authorisation": "yes"}
    kept = client.post(url, json=facts)
    changed = client.post(
        url, json={**facts, "study_country": "CA", "study_work_authorisation": "yes"}
    )
    assert (kept.json["study_country"], kept.json["study_work_authorisation"]) == ("US", "no")
    assert (changed.json["study_country"], changed.json["study_work_authorisation"]) == (
        "CA",
        "yes",
    )


def test_a_country_of_study_that_is_no_country_is_refused_with_its_field(client, session, refused):
    enrollment = EnrollmentFactory(policy=_seed_policy())
    session.flush()
    facts = {"studies_started_on": None, "search_country": "FR", "work_authorisation": "yes"}

    created = refused(
        "POST",
        "/api/v1/enrollments",
        json={
            "student_id": enrollment.student_id,
            "programme_id": enrollment.programme_id,
            "signed_on": "2024-03-01",
            "guarantee_opt_in": True,
            "study_country": "Canada",
        },
    )
    recorded = refused(
        "POST",
        f"/api/v1/enrollments/{enrollment.id}/eligibility",
        json={**facts, "study_country": "XX", "study_work_authorisation": "maybe"},
    )

    assert created.status_code == 422
    assert list(created.json["errors"]["json"]) == ["study_country"]
    assert recorded.status_code == 422
    assert sorted(recorded.json["errors"]["json"]) == [
        "study_country",
        "study_work_authorisation",
    ]


def test_verifying_a_prerequisite_of_another_policy_is_404(client, session, refused):
    enrollment = EnrollmentFactory(policy=_seed_policy())
    other = _seed_policy()
    session.flush()

    response = refused(
        "POST",
        f"/api/v1/enrollments/{enrollment.id}/prerequisites/{other.prerequisites[0].id}"
        "/verification",
        json={},
    )

    assert response.status_code == 404


def test_studies_cannot_start_after_qualifying(client, session, refused):
    graduation = GraduationFactory(qualified_on=date(2025, 1, 31))
    session.flush()

    response = refused(
        "POST",
        f"/api/v1/enrollments/{graduation.enrollment_id}/eligibility",
        json={
            "studies_started_on": "2025-02-01",
            "search_country": "FR",
            "work_authorisation": "yes",
        },
    )

    assert response.status_code == 422
    assert response.json["errors"]["json"] == {
        "studies_started_on": ["studies cannot start after qualifying"]
    }


def test_the_guarantee_of_a_graduate_not_covered_says_why(client, session):
    enrollment = EnrollmentFactory(policy=_seed_policy(), search_country="DE")
    graduation = GraduationFactory(enrollment=enrollment, qualified_on=date(2025, 1, 31))
    session.flush()

    body = client.get(
        f"/api/v1/graduations/{graduation.id}/guarantee", query_string={"as_of": "2025-12-01"}
    ).json

    assert body["state"] == "not_covered"
    assert body["not_covered_reasons"] == [
        f"the prerequisite \u201c{DEGREE}\u201d was not verified at enrollment",
        "the search country (DE) is not one of the policy's (CA, FR, GB, US)",
    ]


def test_a_job_outside_the_policys_countries_does_not_qualify_and_says_why(client, session):
    enrollment = EnrollmentFactory(policy=_seed_policy(), search_country="FR")
    PrerequisiteVerificationFactory(enrollment=enrollment)
    graduation = GraduationFactory(enrollment=enrollment, qualified_on=date(2025, 1, 31))
    employer = EmployerFactory()
    session.flush()
    job = {
        "graduation_id": graduation.id,
        "employer_id": employer.id,
        "title": "ML engineer",
        "employment_type": "full_time_permanent",
        "in_field": True,
        "start_date": "2025-03-01",
        "source": "registrar",
    }

    abroad = client.post("/api/v1/job-outcomes", json={**job, "country": "DE"})
    remote = client.post("/api/v1/job-outcomes", json={**job, "remote_employer_country": "CH"})

    assert abroad.status_code == remote.status_code == 201
    assert (abroad.json["country"], remote.json["remote_employer_country"]) == ("DE", "CH")
    body = client.get(
        f"/api/v1/graduations/{graduation.id}/guarantee", query_string={"as_of": "2025-12-01"}
    ).json
    verdicts = {row["job_outcome_id"]: row for row in body["outcomes"]}
    assert verdicts[abroad.json["id"]]["shortfalls"] == ["the job is in DE, outside the policy's"]
    # A remote job for an employer abroad counts by default.
    assert verdicts[remote.json["id"]]["qualifies"] is True
    assert body["state"] == "placed"
