"""A graduate corrects or withdraws a job they reported, until the employer answers for it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.guarantee.terms import EmploymentType, OutcomeSource, OutcomeStatus
from app.models import AuditEvent, HireConfirmation, Role
from app.models.base import utc_now
from app.services.confirmations import link_token, request_confirmation
from refunds.states import ClaimState
from tests.factories import (
    AuditedRefundClaimFactory,
    EmployerFactory,
    GraduationFactory,
    JobOutcomeFactory,
    UserFactory,
)
from tests.pages.conftest import post_form


def _graduate_with_a_reported_job(session, **job):
    graduation = GraduationFactory(qualified_on=date(2025, 8, 31))  # window closed 28 Feb 2026
    user = UserFactory(role=Role.GRADUATE, student=graduation.enrollment.student)
    facts = {
        "title": "Data analyst",
        "employment_type": EmploymentType.FULL_TIME_PERMANENT,
        "in_field": False,
        "start_date": date(2025, 11, 3),
        "annual_salary_minor": None,
        "salary_currency": None,
        **job,
    }
    outcome = JobOutcomeFactory(
        graduation=graduation,
        employer=EmployerFactory(),
        source=OutcomeSource.GRADUATE,
        status=OutcomeStatus.REPORTED,
        **facts,
    )
    confirmation = request_confirmation(session, outcome)
    session.flush()
    return user, outcome, confirmation


def _correct(client, outcome, **changes):
    path = f"/me/jobs/{outcome.id}/edit"
    data = {
        "title": outcome.title,
        "employment_type": outcome.employment_type.value,
        "in_field": "yes" if outcome.in_field else "no",
        "start_date": outcome.start_date.isoformat(),
        "contract_months": "",
        "annual_salary": "",
        "salary_currency": "",
        **changes,
    }
    return post_form(client, path, data, token_from=path)


def test_a_graduate_corrects_a_job_the_employer_has_not_answered_and_the_claim_reacts(
    app, client, session, sign_in
):
    user, outcome, confirmation = _graduate_with_a_reported_job(session)
    claim = AuditedRefundClaimFactory(graduation=outcome.graduation, state=ClaimState.FLAGGED)
    sign_in(user)
    assert f"/me/jobs/{outcome.id}/edit" in client.get("/me").get_data(as_text=True)

    response = _correct(
        client,
        outcome,
        title="Data scientist",
        in_field="yes",
        annual_salary="42 000,50",
        salary_currency="EUR",
    )

    assert response.status_code == 302
    session.refresh(outcome)
    assert (outcome.title, outcome.in_field, outcome.annual_salary_minor) == (
        "Data scientist",
        True,
        4200050,
    )
    assert outcome.revised_by == user.actor
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "job.corrected"))
    assert event.actor == user.actor and "title=Data scientist" in event.detail
    session.refresh(claim)
    assert claim.state is ClaimState.IN_REVIEW  # now a qualifying job, as a new report would
    with app.app_context():
        link = f"/confirm/{link_token(confirmation.id)}"
    employer_page = client.get(link).get_data(as_text=True)
    assert "Data scientist" in employer_page  # the employer confirms the corrected facts


def test_a_graduate_withdraws_a_job_it_stops_counting_and_the_employers_link_stops(
    client, session, sign_in
):
    user, outcome, confirmation = _graduate_with_a_reported_job(session, in_field=True)
    sign_in(user)
    path = f"/me/jobs/{outcome.id}/withdraw"

    refused = post_form(client, path, {"reason": ""}, token_from=f"/me/jobs/{outcome.id}/edit")
    assert refused.status_code == 400
    response = post_form(client, path, {"reason": "The offer was withdrawn"}, token_from="/me")

    assert response.status_code == 302
    session.refresh(outcome)
    session.refresh(confirmation)
    assert outcome.status is OutcomeStatus.DISPUTED
    assert outcome.revision_reason == "withdrawn by the graduate: The offer was withdrawn"
    assert confirmation.expires_at <= utc_now()
    assert "withdrawn by you" in client.get("/me").get_data(as_text=True)
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "job.withdrawn"))
    assert event.actor == user.actor


def test_once_the_employer_answered_the_graduate_asks_the_school_and_nothing_changes(
    client, session, sign_in
):
    user, outcome, confirmation = _graduate_with_a_reported_job(session)
    confirmation.answered_at = utc_now() - timedelta(hours=1)
    session.flush()
    sign_in(user)

    page = client.get(f"/me/jobs/{outcome.id}/edit")
    corrected = _correct(client, outcome, title="Something else")
    withdrawn = post_form(
        client, f"/me/jobs/{outcome.id}/withdraw", {"reason": "no"}, token_from="/me"
    )

    assert (page.status_code, corrected.status_code, withdrawn.status_code) == (409, 409, 409)
    assert "The employer has answered for this job" in page.get_data(as_text=True)
    session.refresh(outcome)
    assert (outcome.title, outcome.status) == ("Data analyst", OutcomeStatus.REPORTED)
    assert f"/me/jobs/{outcome.id}/edit" not in client.get("/me").get_data(as_text=True)


def test_a_job_the_school_recorded_or_checked_is_not_the_graduates_to_change(
    client, session, sign_in
):
    user, outcome, _ = _graduate_with_a_reported_job(session)
    recorded = JobOutcomeFactory(
        graduation=outcome.graduation, source=OutcomeSource.REGISTRAR, title="Recorded"
    )
    outcome.status = OutcomeStatus.CONFIRMED
    session.flush()
    sign_in(user)

    assert client.get(f"/me/jobs/{outcome.id}/edit").status_code == 409
    assert client.get(f"/me/jobs/{recorded.id}/edit").status_code == 409


def test_another_graduates_job_is_refused_and_unchanged(client, session, sign_in):
    _, outcome, _ = _graduate_with_a_reported_job(session)
    stranger = UserFactory(role=Role.GRADUATE, student=GraduationFactory().enrollment.student)
    sign_in(stranger)

    page = client.get(f"/me/jobs/{outcome.id}/edit")
    withdrawn = post_form(
        client, f"/me/jobs/{outcome.id}/withdraw", {"reason": "mine now"}, token_from="/me"
    )

    assert page.status_code == withdrawn.status_code == 403
    session.refresh(outcome)
    assert outcome.status is OutcomeStatus.REPORTED
    assert session.scalars(select(HireConfirmation)).one().expires_at > utc_now()
