"""A graduate reporting a job picks from their own employers, never from other graduates'."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.access import Principal
from app.guarantee.terms import EmploymentType
from app.models import JobOutcome, Role
from app.models.base import utc_now
from app.services import graduates
from app.services.errors import Invalid
from tests.factories import EmployerFactory, GraduationFactory, JobOutcomeFactory, UserFactory
from tests.pages.conftest import post_form

NEW_JOB = "/me/jobs/new"


def principal_of(graduation) -> Principal:
    student_id = graduation.enrollment.student_id
    return Principal(actor=f"user:{student_id}", role=Role.GRADUATE, student_id=student_id)


@pytest.fixture
def two_graduates(session):
    """Graduates A and B, each with a job reported at an employer only they named."""
    a, b = GraduationFactory(), GraduationFactory()
    own = EmployerFactory(name="Alpha Own Employer")
    private_of_b = EmployerFactory(name="Beta Private Employer")
    JobOutcomeFactory(graduation=a, employer=own, in_field=False)
    JobOutcomeFactory(graduation=b, employer=private_of_b)
    school = EmployerFactory(name="The School", is_school=True)
    return a, b, own, private_of_b, school


def report(session, graduation, employer_id):
    return graduates.report_own_job(
        session,
        principal_of(graduation),
        graduation_id=graduation.id,
        employer_id=employer_id,
        new_employer=None,
        title="Data scientist",
        employment_type=EmploymentType.FULL_TIME_PERMANENT,
        in_field=True,
        start_date=utc_now().date() + timedelta(days=7),
    )


def test_a_graduate_is_offered_their_own_employers_and_the_school_only(session, two_graduates):
    a, b, own, private_of_b, school = two_graduates

    offered = dict(graduates.employer_choices(session, principal_of(a)))

    assert offered == {own.id: own.name, school.id: school.name}
    assert private_of_b.id in dict(graduates.employer_choices(session, principal_of(b)))


def test_a_graduate_cannot_report_a_job_at_another_graduates_employer(session, two_graduates):
    a, _, _, private_of_b, _ = two_graduates
    jobs_before = session.scalar(select(func.count()).select_from(JobOutcome))

    with pytest.raises(Invalid) as refused:
        report(session, a, private_of_b.id)

    assert "employer_id" in refused.value.errors
    assert session.scalar(select(func.count()).select_from(JobOutcome)) == jobs_before


def test_an_employer_id_that_does_not_exist_gets_the_same_answer(session, two_graduates):
    a = two_graduates[0]

    with pytest.raises(Invalid) as refused:
        report(session, a, 987_654)

    assert "employer_id" in refused.value.errors


def test_a_graduate_reports_a_job_at_their_own_earlier_employer(session, two_graduates):
    a, _, own, _, _ = two_graduates

    reported = report(session, a, own.id)

    assert reported.outcome.employer_id == own.id


def test_the_job_page_neither_shows_nor_accepts_another_graduates_employer(
    client, session, sign_in, two_graduates
):
    a, _, own, private_of_b, school = two_graduates
    sign_in(UserFactory(role=Role.GRADUATE, student=a.enrollment.student))

    page = client.get(NEW_JOB).get_data(as_text=True)
    refused = post_form(
        client,
        NEW_JOB,
        {
            "graduation_id": re.findall(r'name="graduation_id" value="(\d+)"', page)[0],
            "employer_id": str(private_of_b.id),
            "title": "Data scientist",
            "employment_type": "full_time_permanent",
            "in_field": "yes",
            "start_date": (utc_now().date() + timedelta(days=7)).isoformat(),
        },
        token_from=NEW_JOB,
    )

    assert own.name in page and school.name in page
    assert private_of_b.name not in page and f'value="{private_of_b.id}"' not in page
    assert refused.status_code == 400
    assert not session.scalars(
        select(JobOutcome).where(
            JobOutcome.graduation_id == a.id, JobOutcome.employer_id == private_of_b.id
        )
    ).all()
