"""Evidence has a source people can trust.

A graduate once confirmed their own job by sending ``"status": "confirmed"`` to
``POST /api/v1/job-outcomes``; and a graduate reporting a job at a "new employer" could type
their own address as the employer's contact, so the confirmation link came to them: they could
confirm, or deny a job the registrar recorded (which made them owed).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.tokens import create_token
from app.guarantee.terms import OutcomeStatus
from app.models import AuditEvent, Employer, HireConfirmation, JobOutcome, Role
from app.models.base import utc_now
from app.services.confirmations import link_token, request_confirmation
from tests.factories import (
    AuditedRefundClaimFactory,
    EmployerFactory,
    GraduationFactory,
    JobOutcomeFactory,
    StudentFactory,
    UserFactory,
)
from tests.pages.conftest import csrf_token, post_form

NEW_JOB = "/me/jobs/new"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def api_job(graduation, employer, **changes) -> dict:
    return {
        "graduation_id": graduation.id,
        "employer_id": employer.id,
        "title": "Data scientist",
        "employment_type": "full_time_permanent",
        "in_field": True,
        "start_date": (graduation.qualified_on + timedelta(days=20)).isoformat(),
        "source": "graduate",
        **changes,
    }


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def ada(session):
    """A graduate (ada@lovelace.dev) ten days into her window, and her account."""
    student = StudentFactory(email="ada@lovelace.dev")
    graduation = GraduationFactory(
        enrollment__student=student, qualified_on=utc_now().date() - timedelta(days=10)
    )
    return UserFactory(role=Role.GRADUATE, student=student, email="ada@lovelace.dev"), graduation


@pytest.fixture
def registrar_token(session) -> str:
    return create_token(session, user=UserFactory(role=Role.REGISTRAR), name="sis")[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- graduates only report --------------------------------------------------------------------


def test_a_graduate_sending_a_status_is_422_naming_it_and_nothing_is_written(
    client, session, sign_in, ada, mailbox
):
    user, graduation = ada
    employer = EmployerFactory()
    sign_in(user)
    headers = {"X-CSRFToken": csrf_token(client, "/me")}

    confirmed = client.post(
        "/api/v1/job-outcomes",
        json=api_job(graduation, employer, status="confirmed"),
        headers=headers,
    )
    as_employer = client.post(
        "/api/v1/job-outcomes",
        json=api_job(graduation, employer, source="employer"),
        headers=headers,
    )

    assert confirmed.status_code == 422
    assert list(confirmed.json["errors"]["json"]) == ["status"]
    assert as_employer.status_code == 422
    assert list(as_employer.json["errors"]["json"]) == ["source"]
    assert count(session, JobOutcome) == 0
    assert mailbox.messages == []

    reported = client.post(
        "/api/v1/job-outcomes", json=api_job(graduation, employer), headers=headers
    )

    assert reported.status_code == 201
    assert reported.json["status"] == "reported"
    assert mailbox.only()["To"] == employer.contact_email


def test_a_registrar_still_records_a_confirmed_job(client, session, registrar_token, ada):
    _, graduation = ada

    response = client.post(
        "/api/v1/job-outcomes",
        json=api_job(graduation, EmployerFactory(), status="confirmed", source="registrar"),
        headers=bearer(registrar_token),
    )

    assert response.status_code == 201
    assert response.json["status"] == "confirmed"


def test_the_openapi_document_says_graduates_cannot_send_a_status(client):
    document = client.get("/api/openapi.json").json
    schema = document["components"]["schemas"]["JobOutcomeIn"]["properties"]["status"]

    assert "Graduates report" in schema["description"]
    assert "422" in schema["description"]


# --- the contact a graduate types -------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "reason"),
    [("Ada+boss@Lovelace.dev", "your own address"), ("ceo@lovelace.dev", "your own mail domain")],
)
def test_a_graduate_cannot_give_an_address_they_read_as_the_new_employers_contact(
    client, session, sign_in, ada, mailbox, contact, reason
):
    user, graduation = ada
    sign_in(user)
    employers = count(session, Employer)

    response = post_form(
        client,
        NEW_JOB,
        {
            "graduation_id": str(graduation.id),
            "employer_id": "new",
            "new_employer_name": "Ghost Ltd",
            "new_employer_email": contact,
            "title": "Data scientist",
            "employment_type": "full_time_permanent",
            "in_field": "yes",
            "start_date": (utc_now().date() + timedelta(days=3)).isoformat(),
        },
        token_from=NEW_JOB,
    )

    assert response.status_code == 400
    error = text_of(response).split('id="new_employer_email-error">')[1].split("</p>")[0]
    assert reason in error
    assert count(session, Employer) == employers and count(session, JobOutcome) == 0
    assert mailbox.messages == []


def test_a_new_employer_a_graduate_types_is_unverified(client, session, sign_in, ada, mailbox):
    user, graduation = ada
    sign_in(user)

    response = post_form(
        client,
        NEW_JOB,
        {
            "graduation_id": str(graduation.id),
            "employer_id": "new",
            "new_employer_name": "Ghost Ltd",
            "new_employer_email": "boss@ghost.example",
            "title": "Data scientist",
            "employment_type": "full_time_permanent",
            "in_field": "yes",
            "start_date": (utc_now().date() + timedelta(days=3)).isoformat(),
        },
        token_from=NEW_JOB,
    )

    assert response.status_code == 302
    session.expire_all()
    employer = session.scalar(select(Employer).where(Employer.name == "Ghost Ltd"))
    assert not employer.contact_verified
    assert session.scalar(select(HireConfirmation.trusted)) is False


# --- an unverified contact's answer changes nothing, and staff see it --------------------------


@pytest.fixture
def owed_if_denied(session):
    """A graduate past their window whose only job, recorded by the registrar, is at an employer
    whose contact a graduate typed (unverified); the link to confirm it went to that contact."""
    graduation = GraduationFactory(qualified_on=utc_now().date() - timedelta(days=200))
    ghost = EmployerFactory(
        name="Ghost Ltd", contact_email="boss@ghost.example", contact_verified_at=None
    )
    job = JobOutcomeFactory(
        graduation=graduation,
        employer=ghost,
        source="registrar",
        start_date=graduation.qualified_on + timedelta(days=30),
    )
    confirmation = request_confirmation(session, job)
    claim = AuditedRefundClaimFactory(graduation=graduation, enrollment=graduation.enrollment)
    session.commit()
    return job, confirmation, claim


def answer_link(app, client, confirmation, decision: str):
    with app.app_context():
        link = f"/confirm/{link_token(confirmation.id)}"
    return post_form(client, link, {"decision": decision}, token_from=link)


def test_a_denial_from_an_unverified_contact_does_not_undo_a_registrars_job(
    app, client, session, owed_if_denied, registrar_token, sign_in
):
    job, confirmation, claim = owed_if_denied
    graduation_id = job.graduation_id

    answered = answer_link(app, client, confirmation, "deny")

    assert answered.status_code == 302
    session.expire_all()
    assert session.get(JobOutcome, job.id).status is OutcomeStatus.REPORTED
    guarantee = client.get(
        f"/api/v1/graduations/{graduation_id}/guarantee", headers=bearer(registrar_token)
    ).json
    assert guarantee["state"] == "placed"
    read = client.get(f"/api/v1/job-outcomes/{job.id}", headers=bearer(registrar_token)).json
    assert read["employer_answer"]["answer"] == "denied"
    assert read["employer_answer"]["verified"] is False
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("hire.%")))
    assert list(actions) == ["hire.denied_unverified"]

    sign_in(UserFactory(role=Role.FINANCE))
    claim_page = text_of(client.get(f"/finance/claims/{claim.id}"))
    enrollment_page = text_of(client.get(f"/registrar/enrollments/{claim.enrollment_id}"))
    for page in (claim_page, enrollment_page):
        assert "employer denied" in page
        assert "unverified contact: not counted" in page


def test_a_confirmation_from_an_unverified_contact_confirms_nothing(
    app, client, session, owed_if_denied
):
    job, confirmation, _claim = owed_if_denied

    started = job.start_date
    with app.app_context():
        link = f"/confirm/{link_token(confirmation.id)}"
    later = (started + timedelta(days=400)).isoformat()  # would take the job past the deadline
    post_form(
        client,
        link,
        {"decision": "confirm", "start_date": later, "employment_type": ""},
        token_from=link,
    )

    session.expire_all()
    outcome = session.get(JobOutcome, job.id)
    assert (outcome.status, outcome.start_date) == (OutcomeStatus.REPORTED, started)
    answer = session.get(HireConfirmation, confirmation.id)
    assert answer.trusted is False and answer.corrected_start_date.isoformat() == later


def test_a_denial_from_a_contact_the_registrar_verified_disputes_the_job(
    app, client, session, owed_if_denied, registrar_token
):
    job, confirmation, _claim = owed_if_denied

    verified = client.post(
        f"/api/v1/employers/{job.employer_id}/verify-contact",
        json={"contact_email": "boss@ghost.example"},
        headers=bearer(registrar_token),
    )
    answer_link(app, client, confirmation, "deny")

    assert verified.status_code == 200 and verified.json["contact_verified"] is True
    session.expire_all()
    assert session.get(JobOutcome, job.id).status is OutcomeStatus.DISPUTED


def test_a_link_that_would_reach_the_graduate_is_never_trusted(session):
    graduation = GraduationFactory(enrollment__student=StudentFactory(email="lin@example.org"))
    verified_but_hers = EmployerFactory(contact_email="lin+hr@example.org")
    job = JobOutcomeFactory(graduation=graduation, employer=verified_but_hers)

    assert request_confirmation(session, job).trusted is False


def test_verifying_a_contact_that_changed_meanwhile_is_409(
    client, session, owed_if_denied, registrar_token
):
    job, _confirmation, _claim = owed_if_denied

    response = client.post(
        f"/api/v1/employers/{job.employer_id}/verify-contact",
        json={"contact_email": "someone@else.example"},
        headers=bearer(registrar_token),
    )

    assert response.status_code == 409
    session.expire_all()
    assert not session.get(Employer, job.employer_id).contact_verified


# --- registrars dispute and correct, with a reason ---------------------------------------------


def test_a_registrar_disputes_a_job_with_a_reason_and_the_guarantee_reads_it(
    client, session, owed_if_denied, registrar_token
):
    job, _confirmation, _claim = owed_if_denied
    url = f"/api/v1/job-outcomes/{job.id}/dispute"

    no_reason = client.post(url, json={"reason": "  "}, headers=bearer(registrar_token))
    disputed = client.post(
        url, json={"reason": "the employer's HR says no such hire"}, headers=bearer(registrar_token)
    )

    assert no_reason.status_code == 422 and "reason" in no_reason.json["errors"]["json"]
    assert disputed.status_code == 200
    assert disputed.json["status"] == "disputed"
    assert disputed.json["revision_reason"] == "the employer's HR says no such hire"
    guarantee = client.get(
        f"/api/v1/graduations/{job.graduation_id}/guarantee", headers=bearer(registrar_token)
    ).json
    assert guarantee["state"] == "owed_refund"
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "job.disputed"))
    assert event.detail == "the employer's HR says no such hire"


def test_a_registrar_corrects_a_job_and_a_correction_without_a_change_is_422(
    client, session, owed_if_denied, registrar_token
):
    job, _confirmation, _claim = owed_if_denied
    url = f"/api/v1/job-outcomes/{job.id}/correct"
    headers = bearer(registrar_token)
    client.post(f"/api/v1/job-outcomes/{job.id}/dispute", json={"reason": "doubt"}, headers=headers)

    unchanged = client.post(url, json={"reason": "nothing"}, headers=headers)
    corrected = client.post(
        url,
        json={"reason": "contract seen", "status": "confirmed", "contract_months": 12},
        headers=headers,
    )

    assert unchanged.status_code == 422
    assert corrected.status_code == 200
    assert (corrected.json["status"], corrected.json["contract_months"]) == ("confirmed", 12)
    guarantee = client.get(
        f"/api/v1/graduations/{job.graduation_id}/guarantee", headers=headers
    ).json
    assert guarantee["state"] == "placed"


def test_the_registrar_page_verifies_a_contact_and_records_a_dispute_and_a_correction(
    client, session, owed_if_denied, sign_in
):
    job, _confirmation, claim = owed_if_denied
    sign_in(UserFactory(role=Role.REGISTRAR))
    page = f"/registrar/enrollments/{claim.enrollment_id}"
    base = f"{page}/jobs/{job.id}"

    assert "unverified" in text_of(client.get(page))
    verified = post_form(
        client, f"{base}/verify-contact", {"contact_email": "boss@ghost.example"}, token_from=page
    )
    refused = post_form(
        client, f"{base}/dispute", {f"dispute-{job.id}-reason": ""}, token_from=page
    )
    disputed = post_form(
        client, f"{base}/dispute", {f"dispute-{job.id}-reason": "no such hire"}, token_from=page
    )
    corrected = post_form(
        client,
        f"{base}/correct",
        {f"correct-{job.id}-reason": "hire proven", f"correct-{job.id}-status": "confirmed"},
        token_from=page,
    )

    assert verified.status_code == 302
    assert refused.status_code == 400
    assert "Say why." in text_of(refused)
    assert disputed.status_code == 302 and corrected.status_code == 302
    session.expire_all()
    outcome = session.get(JobOutcome, job.id)
    assert outcome.status is OutcomeStatus.CONFIRMED
    assert (outcome.revision_reason, outcome.employer.contact_verified) == ("hire proven", True)
    assert "confirmed by registrar:" in text_of(client.get(page))
