"""The graduate's pages: their own guarantee, and reporting a job that the employer confirms."""

from __future__ import annotations

import re
import socket
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from app.auth.access import Principal
from app.guarantee.terms import EmploymentType, OutcomeSource, OutcomeStatus
from app.models import AuditEvent, Employer, HireConfirmation, JobOutcome, Role
from app.models.base import utc_now
from app.pages.formatting import day
from app.services.evidence import verify_contact
from refunds.states import ClaimState
from tests.factories import (
    AuditedRefundClaimFactory,
    EmployerFactory,
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    TuitionPaymentFactory,
    UserFactory,
)
from tests.pages.conftest import post_form

NEW_JOB = "/me/jobs/new"


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def report(client, data: dict):
    """Post the job form as the signed-in graduate's browser would, with its hidden fields."""
    form_page = client.get(NEW_JOB).get_data(as_text=True)
    [graduation_id] = re.findall(r'name="graduation_id" value="(\d+)"', form_page)
    return post_form(client, NEW_JOB, {"graduation_id": graduation_id, **data}, token_from=NEW_JOB)


def job_form(**changes) -> dict:
    """A qualifying job at a new employer, as the form sends it."""
    today = utc_now().date()
    return {
        "employer_id": "new",
        "new_employer_name": "Acme Analytics",
        "new_employer_email": "Hiring@Acme.example",
        "title": "Data scientist",
        "employment_type": "full_time_permanent",
        "in_field": "yes",
        "start_date": (today + timedelta(days=14)).isoformat(),
        "contract_months": "",
        "annual_salary": "45,000",
        "salary_currency": "eur",
        **changes,
    }


@pytest.fixture
def graduate(session):
    """A graduate ten days into a six-month window, with a EUR 30,000 pay floor."""
    policy = GuaranteePolicyFactory(min_annual_salary_minor=3_000_000, claim_deadline_days=90)
    enrollment = EnrollmentFactory(policy=policy, scholarship_minor=50_000)
    TuitionPaymentFactory(enrollment=enrollment, amount_minor=300_000)
    TuitionPaymentFactory(enrollment=enrollment, amount_minor=300_000)
    graduation = GraduationFactory(
        enrollment=enrollment, qualified_on=utc_now().date() - timedelta(days=10)
    )
    user = UserFactory(role=Role.GRADUATE, student=enrollment.student)
    return user, graduation


def test_anonymous_visitor_to_me_is_sent_to_sign_in(client):
    response = client.get("/me")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=/me")


def test_graduate_sees_own_deadline_days_left_status_and_terms(client, session, sign_in, graduate):
    user, graduation = graduate
    other = GraduationFactory()
    AuditedRefundClaimFactory(graduation=other, amount_minor=777_777)
    today = utc_now().date()
    deadline = graduation.qualified_on + relativedelta(months=6)
    sign_in(user)

    page = client.get("/me").get_data(as_text=True)

    assert graduation.enrollment.programme.name in page
    assert day(deadline) in page
    assert f"{(deadline - today).days} days" in page
    assert '<span class="badge badge-warn">searching</span>' in page
    assert "6 months, starting on the day you qualify" in page
    assert "Full time permanent, fixed term contract" in page
    assert "Only a job in the field you studied counts" in page
    assert "at least 6 months" in page
    assert "At least €30,000.00 a year" in page
    assert day(deadline + timedelta(days=90)) in page  # the claim deadline
    assert "€5,500.00" in page  # paid 6,000 less a 500 scholarship
    assert other.enrollment.programme.name not in page
    assert "7,777.77" not in page


def test_graduate_sees_why_a_reported_job_does_not_qualify(client, session, sign_in, graduate):
    user, graduation = graduate
    JobOutcomeFactory(
        graduation=graduation,
        title="Summer intern",
        employment_type=EmploymentType.INTERNSHIP,
        contract_months=3,
        annual_salary_minor=2_000_000,
        salary_currency="EUR",
        start_date=utc_now().date(),
    )
    sign_in(user)

    page = client.get("/me").get_data(as_text=True)

    assert "Summer intern" in page and "doesn't qualify" in page
    assert "Internship is not a qualifying type of employment" in page
    assert "The contract lasts 3 months, under the 6 required" in page
    assert "The salary is under the policy&#39;s pay floor" in page
    assert "€20,000.00" in page  # their own salary
    assert "waiting for the employer" not in page  # nobody was asked: not sent


def test_graduate_not_yet_qualified_sees_the_window_has_not_started(client, session, sign_in):
    enrollment = EnrollmentFactory()
    user = UserFactory(role=Role.GRADUATE, student=enrollment.student)
    sign_in(user)

    page = client.get("/me").get_data(as_text=True)

    assert "window hasn't started" in page
    assert client.get(NEW_JOB).status_code == 302  # nothing to report a job on yet


def test_report_qualifying_job_emails_employer_who_confirms_with_a_new_start_date(
    app, client, session, sign_in, graduate, mailbox
):
    user, graduation = graduate
    sign_in(user)

    response = report(client, job_form())

    assert response.status_code == 302 and response.headers["Location"] == "/me"
    [outcome] = session.scalars(select(JobOutcome).where(JobOutcome.graduation_id == graduation.id))
    assert outcome.source is OutcomeSource.GRADUATE
    assert (outcome.annual_salary_minor, outcome.salary_currency) == (4_500_000, "EUR")
    assert outcome.employer.contact_email == "hiring@acme.example"
    message = mailbox.only()
    assert message["To"] == "hiring@acme.example"
    assert graduation.enrollment.student.name in mailbox.body(message)
    assert "Your job is recorded. We have emailed Acme Analytics to confirm it." in (
        client.get("/me").get_data(as_text=True)
    )

    # The contact the graduate typed counts once a registrar has checked it is Acme's.
    assert not outcome.employer.contact_verified
    registrar = Principal("registrar:r@school.example", Role.REGISTRAR)
    verify_contact(session, registrar, outcome.employer_id, contact_email="hiring@acme.example")
    employer = app.test_client()  # the employer's own browser: nobody signed in
    link = mailbox.link_path(message)
    form_page = employer.get(link).get_data(as_text=True)
    assert "Data scientist" in form_page and graduation.enrollment.student.name in form_page
    assert "45,000" not in form_page and "5,500" not in form_page  # no salary, no refund
    new_start = outcome.start_date + timedelta(days=7)
    answered = post_form(
        employer,
        link,
        {"decision": "confirm", "start_date": new_start.isoformat(), "employment_type": ""},
        token_from=link,
    )
    assert answered.status_code == 302
    assert "Thank you" in employer.get(answered.headers["Location"]).get_data(as_text=True)

    page = client.get("/me").get_data(as_text=True)
    assert '<span class="badge badge-good">placed</span>' in page
    assert '<span class="badge badge-good">confirmed</span>' in page
    assert f"Start date corrected to {day(new_start)}" in page
    session.expire_all()
    assert outcome.status is OutcomeStatus.CONFIRMED and outcome.start_date == new_start


def test_employer_denial_shows_the_job_as_disputed(
    app, client, session, sign_in, graduate, mailbox
):
    user, graduation = graduate
    employer = EmployerFactory(name="Initech")
    # An employer the graduate reported before is one they can choose from the list.
    earlier = JobOutcomeFactory(graduation=graduation, employer=employer, in_field=False)
    sign_in(user)
    report(
        client,
        job_form(employer_id=str(employer.id), new_employer_name="", new_employer_email=""),
    )
    link = mailbox.link_path(mailbox.only())
    assert mailbox.only()["To"] == employer.contact_email

    other_browser = app.test_client()
    post_form(
        other_browser,
        link,
        {"decision": "deny", "comment": "Never worked here"},
        token_from=link,
    )

    page = client.get("/me").get_data(as_text=True)
    assert '<span class="badge badge-bad">disputed</span>' in page
    assert "Never worked here" in page
    assert employer.contact_email not in page  # the school's contact there is not theirs
    assert "The employer disputed this job" in page
    outcome = session.scalars(select(JobOutcome).where(JobOutcome.id != earlier.id)).one()
    session.refresh(outcome)
    assert outcome.status is OutcomeStatus.DISPUTED


def test_a_failed_email_is_a_warning_and_the_job_stays_recorded(
    app, client, session, sign_in, graduate, mailbox
):
    user, _ = graduate
    app.config["SMTP_PORT"] = _closed_port()
    sign_in(user)

    report(client, job_form())

    page = client.get("/me").get_data(as_text=True)
    assert "message-warning" in page and "could not email Acme Analytics" in page
    assert count(session, JobOutcome) == 1 and count(session, HireConfirmation) == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe closes


def test_invalid_job_report_shows_each_error_next_to_its_field_and_writes_nothing(
    client, session, sign_in, graduate
):
    user, _ = graduate
    sign_in(user)
    employers_before = count(session, Employer)

    response = report(
        client,
        job_form(
            title="",
            start_date="31/02/2026",
            in_field="",
            new_employer_email="not an email",
            annual_salary="lots",
        ),
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field, message in [
        ("title", "Enter the job title."),
        ("start_date", "Not a valid date value."),
        ("new_employer_email", "Enter an email address like name@company.com."),
        ("annual_salary", "Write the amount in digits"),
    ]:
        assert f'id="{field}-error">{message}' in page, field
        assert f'aria-describedby="{field}-hint {field}-error"' in page or (
            f'aria-describedby="{field}-error"' in page
        )
    assert 'id="in_field-error">Say whether the job is in your field.' in page
    assert count(session, JobOutcome) == 0 and count(session, Employer) == employers_before


def test_job_report_without_csrf_token_is_refused(client, session, sign_in, graduate):
    user, graduation = graduate
    sign_in(user)

    response = client.post(NEW_JOB, data={**job_form(), "graduation_id": graduation.id})

    assert response.status_code == 400
    assert count(session, JobOutcome) == 0


def test_graduate_reporting_a_job_on_another_graduates_graduation_is_refused_and_audited(
    client, session, sign_in, graduate, audit_survives_rollback
):
    user, _ = graduate
    someone_else = GraduationFactory()
    sign_in(user)

    response = report(client, job_form(graduation_id=str(someone_else.id)))

    assert response.status_code == 403
    [refusal] = session.scalars(select(AuditEvent).where(AuditEvent.action == "access.refused"))
    assert refusal.actor == user.actor and refusal.target == f"graduation:{someone_else.id}"
    assert count(session, JobOutcome) == 0
    assert session.scalar(select(Employer).where(Employer.name == "Acme Analytics")) is None


def test_late_qualifying_job_on_a_flagged_claim_moves_it_to_review(
    client,
    session,
    sign_in,
    mailbox,  # the employer's email goes to the test server
):
    graduation = GraduationFactory(qualified_on=date(2025, 8, 31))  # window closed 28 Feb 2026
    claim = AuditedRefundClaimFactory(graduation=graduation, state=ClaimState.FLAGGED)
    user = UserFactory(role=Role.GRADUATE, student=graduation.enrollment.student)
    sign_in(user)

    response = report(
        client,
        job_form(
            start_date="2025-11-03",
            annual_salary="",
            salary_currency="",
            employment_type=EmploymentType.FULL_TIME_PERMANENT.value,
        ),
    )

    assert response.status_code == 302
    session.refresh(claim)
    assert claim.state is ClaimState.IN_REVIEW
    page = client.get("/me").get_data(as_text=True)
    assert "The school is reviewing your claim" in page and "€6,000.00" in page
    assert "qualifying job (outcome" not in page  # the step's internal note stays with staff
