"""The outcomes report, read from plain rows of the cohort (the deciding job and the earliest
contact picked in SQL), gives each graduate the status, source and job the pure CIRR rule gives
them over all of their records, and its figures count exactly the rows ``in_figure`` puts behind
them: a property test over generated cohorts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.guarantee.cirr import (
    CirrGraduate,
    CirrJob,
    CirrStatus,
    Figure,
    HalfYear,
    cirr_status,
    deciding_job,
    in_figure,
    status_date,
)
from app.guarantee.terms import (
    CirrIntent,
    EmploymentType,
    ExclusionReason,
    OutcomeSource,
    OutcomeStatus,
    WorkAuthorisation,
)
from app.services.outcomes_report import outcomes_report
from tests.factories import (
    EmployerFactory,
    EnrollmentFactory,
    ExcludedOutcomeFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    ProgrammeFactory,
    SchoolRequestFactory,
    SearchActivityFactory,
)

PERIOD = HalfYear(2026, 1)
TODAY = date(2026, 9, 1)

JOBS = st.fixed_dictionaries(
    {
        "employment_type": st.sampled_from(tuple(EmploymentType)),
        "in_field": st.booleans(),
        "by_school": st.booleans(),
        "status": st.sampled_from(tuple(OutcomeStatus)),
        "start": st.integers(min_value=-20, max_value=240),
        "reported_late": st.sampled_from((0, 3, 200)),
        "contract_months": st.none() | st.integers(min_value=1, max_value=12),
        "salary": st.none() | st.integers(min_value=1, max_value=10**7),
    }
)

GRADUATES = st.fixed_dictionaries(
    {
        "graduated": st.sampled_from((True, True, True, False)),
        "qualified": st.integers(min_value=0, max_value=180),
        "expected_known": st.booleans(),
        "intent": st.sampled_from((CirrIntent.IN_FIELD_JOB,) * 4 + tuple(CirrIntent)),
        # Where they studied, whether they may work there; and in the search country, which
        # is the guarantee's term, never the report's.
        "study_country": st.sampled_from(("FR", "CA")),
        "study_work_authorisation": st.sampled_from(tuple(WorkAuthorisation)),
        "work_authorisation": st.sampled_from(tuple(WorkAuthorisation)),
        "excluded": st.none() | st.integers(min_value=0, max_value=240),
        "stopped": st.none() | st.integers(min_value=0, max_value=240),
        "logged": st.none() | st.integers(min_value=-10, max_value=240),
        "answered": st.none() | st.integers(min_value=-10, max_value=240),
        "jobs": st.lists(JOBS, max_size=3),
        "programme": st.integers(min_value=0, max_value=1),
    }
)


#: A graduate of the first programme with no record but an answer to a question (to set).
_ANSWERED_ONLY = {
    "graduated": True,
    "qualified": 10,
    "expected_known": True,
    "intent": CirrIntent.IN_FIELD_JOB,
    "study_country": "FR",
    "study_work_authorisation": WorkAuthorisation.UNKNOWN,
    "work_authorisation": WorkAuthorisation.NO,
    "excluded": None,
    "stopped": None,
    "logged": None,
    "jobs": [],
    "programme": 0,
}


def _why_excluded(spec) -> str:
    """How the report's reason for excluding ``spec``'s graduate starts, were they excluded:
    the intent first, then the work authorisation where they studied, then the outcome."""
    if spec["intent"] is not CirrIntent.IN_FIELD_JOB:
        return "intent at enrollment: "
    if spec["study_work_authorisation"] is WorkAuthorisation.NO:
        return f"not authorised to work in {spec['study_country']}, the country of study"
    return "military service from "


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _build(spec, programmes, employers):
    """Write ``spec``'s records; returns its enrollment and the graduate as the rule sees it."""
    qualified_on = PERIOD.first_day + timedelta(days=spec["qualified"])
    enrollment = EnrollmentFactory(
        policy=programmes[spec["programme"]],
        cirr_intent=spec["intent"],
        expected_graduation_on=qualified_on if spec["expected_known"] else None,
        study_country=spec["study_country"],
        study_work_authorisation=spec["study_work_authorisation"],
        work_authorisation=spec["work_authorisation"],
    )
    if not spec["graduated"]:
        if not spec["expected_known"]:
            enrollment.expected_graduation_on = qualified_on
        return enrollment, None

    def day(offset):
        return None if offset is None else qualified_on + timedelta(days=offset)

    graduation = GraduationFactory(
        enrollment=enrollment, qualified_on=qualified_on, stopped_seeking_on=day(spec["stopped"])
    )
    if spec["excluded"] is not None:
        ExcludedOutcomeFactory(
            graduation=graduation,
            reason=ExclusionReason.MILITARY_SERVICE,
            occurred_on=day(spec["excluded"]),
        )
    contact_days = ()
    if spec["logged"] is not None:
        logged = day(spec["logged"])
        SearchActivityFactory(graduation=graduation, occurred_on=logged, created_at=_at(logged))
        contact_days = (logged, logged)
    if spec["answered"] is not None:
        # Answered late in the evening (UTC): the day of the answer is the day in UTC.
        answered_at = datetime.combine(day(spec["answered"]), time(23, 30), tzinfo=UTC)
        SchoolRequestFactory(
            graduation=graduation,
            asked_at=answered_at - timedelta(days=2),
            answer="Three companies.",
            answered_at=answered_at,
        )
        contact_days = (*contact_days, answered_at.date())
    jobs = []
    for job in spec["jobs"]:
        start = day(job["start"])
        reported = start + timedelta(days=job["reported_late"])
        row = JobOutcomeFactory(
            graduation=graduation,
            employer=employers[job["by_school"]],
            employment_type=job["employment_type"],
            in_field=job["in_field"],
            start_date=start,
            status=job["status"],
            source=OutcomeSource.GRADUATE,
            contract_months=job["contract_months"],
            annual_salary_minor=job["salary"],
            salary_currency=None if job["salary"] is None else "EUR",
            created_at=_at(reported),
        )
        jobs.append(
            CirrJob(
                employment_type=job["employment_type"],
                in_field=job["in_field"],
                start_date=start,
                source=OutcomeSource.GRADUATE,
                status=job["status"],
                by_school=job["by_school"],
                contract_months=job["contract_months"],
                annual_salary_minor=job["salary"],
                salary_currency=None if job["salary"] is None else "EUR",
                reported_on=reported,
                key=row.id,
            )
        )
    graduate = CirrGraduate(
        qualified_on=qualified_on,
        intent=spec["intent"],
        study_work_authorisation=spec["study_work_authorisation"],
        excluded_on=day(spec["excluded"]),
        stopped_seeking_on=day(spec["stopped"]),
        jobs=tuple(sorted(jobs, key=lambda job: (job.start_date, job.key))),
        contact_days=contact_days,
    )
    return enrollment, graduate


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(population=st.lists(GRADUATES, min_size=1, max_size=6))
# Graduates whose only contact is an answer: before, on and after their day 180.
@example(population=[_ANSWERED_ONLY | {"answered": day} for day in (5, 180, 181)])
def test_each_graduate_has_the_status_the_rule_gives_and_figures_count_their_rows(
    session, population
):
    savepoint = session.begin_nested()
    try:
        programmes = [
            GuaranteePolicyFactory(programme=ProgrammeFactory(currency="EUR")),
            GuaranteePolicyFactory(programme=ProgrammeFactory(currency="GBP")),
        ]
        employers = [EmployerFactory(), EmployerFactory(is_school=True)]
        expected = {}
        reasons = {}
        for spec in population:
            enrollment, graduate = _build(spec, programmes, employers)
            if graduate is None:
                expected[enrollment.id] = None
            else:
                as_of, _provisional = status_date(graduate.qualified_on, TODAY)
                job = deciding_job(graduate, as_of)
                expected[enrollment.id] = (
                    *cirr_status(graduate, as_of),
                    job.key if job is not None else None,
                )
                reasons[enrollment.id] = _why_excluded(spec)
        session.flush()

        report = outcomes_report(session, PERIOD, TODAY)

        assert {
            row.enrollment_id: (row.status, row.source, row.job.id if row.job else None)
            if row.status
            else None
            for row in report.rows
        } == expected
        # Why an excluded graduate is out: the first reason in the rule's order.
        for row in report.rows:
            if row.status is CirrStatus.EXCLUDED:
                assert row.why_excluded.startswith(reasons[row.enrollment_id])
            else:
                assert row.why_excluded is None
        for figure in (*Figure, *CirrStatus):
            assert report.totals.size(figure) == sum(
                in_figure(row.counted, figure) for row in report.rows
            ), figure
    finally:
        savepoint.rollback()
