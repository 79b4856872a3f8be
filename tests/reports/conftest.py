"""The hand-built 2026-H1 cohort every outcomes-report test counts, and the page fixtures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.guarantee.terms import (
    CirrIntent,
    EmploymentType,
    ExclusionReason,
    OutcomeSource,
    OutcomeStatus,
)
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
    StudentFactory,
)
from tests.pages.conftest import sign_in  # noqa: F401 - the page tests' sign-in fixture

T = EmploymentType
#: Most of the cohort qualifies on its expected day; day 180 is then 27 Sep 2026.
QUALIFIED = date(2026, 3, 31)
DAY_180 = QUALIFIED + timedelta(days=180)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.fixture
def cohort(session):
    """Two programmes' 2026-H1 cohorts with every trap, and enrollments outside the cohort.

    Data science (EUR): Ada 1A (employer confirmed, €52,000), Ben 1B (6-month internship,
    €24,000), Cleo 1E (freelance, €60,000: not in the median), Dan 1C (hired by the school,
    €40,000), Eve 2B (out of field), Finn 3A (search log), Gus 4 (his search log and his
    exclusion both come after day 180), Hana enrolled, not graduated (expected 30 Jun).
    Web development (GBP): Ivy 3B, Jon excluded by intent (despite a full-time job), Kim
    excluded (military service), Leo 3A (his job starts on day 181; he answered the school),
    Mia 3A (her job was disputed), Ned 1A (no expected day: in by his graduation; £45,000,
    recruiter), Oli 1A (salary in EUR: left out of the median), Quinn 1B (12-month contract,
    £30,001.01), Pia enrolled, not graduated.
    Outside: Xavier (expected 1 Jul 2026), Yara (no expected day, qualified 31 Dec 2025), Zoe
    (neither).
    """
    school = EmployerFactory(name="The School", is_school=True)
    acme = EmployerFactory(name="Acme Analytics")
    programmes = {
        "ds": ProgrammeFactory(name="Data science", currency="EUR"),
        "web": ProgrammeFactory(name="Web development", currency="GBP"),
    }
    people = {}

    def enroll(name, programme, *, expected=QUALIFIED, qualified=QUALIFIED, **graduation):
        policy = GuaranteePolicyFactory(programme=programmes[programme])
        intent = graduation.pop("intent", CirrIntent.IN_FIELD_JOB)
        enrollment = EnrollmentFactory(
            student=StudentFactory(name=name),
            policy=policy,
            expected_graduation_on=expected,
            cirr_intent=intent,
        )
        if qualified is not None:
            GraduationFactory(enrollment=enrollment, qualified_on=qualified, **graduation)
        people[name] = enrollment
        return enrollment.graduation

    def hired(graduation, **job):
        job.setdefault("employer", acme)
        job.setdefault("start_date", QUALIFIED + timedelta(days=35))
        job.setdefault("created_at", _at(QUALIFIED + timedelta(days=36)))
        return JobOutcomeFactory(graduation=graduation, **job)

    # --- Data science (EUR) ---
    hired(
        enroll("Ada", "ds"),
        title="Data scientist",
        annual_salary_minor=5_200_000,
        salary_currency="EUR",
        status=OutcomeStatus.CONFIRMED,
    )
    hired(
        enroll("Ben", "ds"),
        title="Data intern",
        employment_type=T.INTERNSHIP,
        contract_months=6,
        annual_salary_minor=2_400_000,
        salary_currency="EUR",
    )
    hired(
        enroll("Cleo", "ds"),
        title="Freelance analyst",
        employment_type=T.FREELANCE,
        employer=None,
        annual_salary_minor=6_000_000,
        salary_currency="EUR",
    )
    hired(
        enroll("Dan", "ds"),
        title="Teaching assistant",
        employer=school,
        annual_salary_minor=4_000_000,
        salary_currency="EUR",
        source=OutcomeSource.REGISTRAR,
    )
    hired(enroll("Eve", "ds"), title="Barista", in_field=False)
    SearchActivityFactory(graduation=enroll("Finn", "ds"), occurred_on=date(2026, 4, 10))
    gus = enroll("Gus", "ds")
    SearchActivityFactory(graduation=gus, occurred_on=DAY_180 + timedelta(days=18))
    ExcludedOutcomeFactory(
        graduation=gus,
        reason=ExclusionReason.FURTHER_STUDY,
        occurred_on=DAY_180 + timedelta(days=23),
    )
    enroll("Hana", "ds", expected=date(2026, 6, 30), qualified=None)

    # --- Web development (GBP) ---
    enroll("Ivy", "web", stopped_seeking_on=date(2026, 5, 30))
    hired(
        enroll("Jon", "web", intent=CirrIntent.FURTHER_STUDY),
        title="Web developer",
        annual_salary_minor=9_900_000,
        salary_currency="GBP",
    )
    ExcludedOutcomeFactory(
        graduation=enroll("Kim", "web"),
        reason=ExclusionReason.MILITARY_SERVICE,
        occurred_on=date(2026, 5, 1),
    )
    leo = enroll("Leo", "web")
    hired(
        leo,
        title="Front-end developer",
        start_date=DAY_180 + timedelta(days=1),
        created_at=_at(DAY_180 + timedelta(days=5)),
    )
    SchoolRequestFactory(
        graduation=leo,
        asked_at=_at(date(2026, 5, 8)),
        answer="Three applications, one interview.",
        answered_at=_at(date(2026, 5, 10)),
    )
    hired(enroll("Mia", "web"), title="Web developer", status=OutcomeStatus.DISPUTED)
    hired(
        enroll("Ned", "web", expected=None, qualified=date(2026, 4, 15)),
        title="Full-stack developer",
        start_date=date(2026, 6, 1),
        annual_salary_minor=4_500_000,
        salary_currency="GBP",
        source=OutcomeSource.RECRUITER,
    )
    hired(
        enroll("Oli", "web"),
        title="Back-end developer",
        annual_salary_minor=5_000_000,
        salary_currency="EUR",
        source=OutcomeSource.EMPLOYMENT_HISTORY_SERVICE,
    )
    hired(
        enroll("Quinn", "web"),
        title="Contract developer",
        employment_type=T.FIXED_TERM_CONTRACT,
        contract_months=12,
        annual_salary_minor=3_000_101,
        salary_currency="GBP",
    )
    enroll("Pia", "web", qualified=None)

    # --- outside the cohort ---
    hired(
        enroll("Xavier", "ds", expected=date(2026, 7, 1), qualified=date(2026, 5, 1)),
        title="Data scientist",
    )
    enroll("Yara", "web", expected=None, qualified=date(2025, 12, 31))
    enroll("Zoe", "web", expected=None, qualified=None)
    session.flush()
    return {"programmes": programmes, "people": people}
