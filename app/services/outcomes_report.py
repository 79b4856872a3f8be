"""The half-year outcomes report (CIRR): each programme's figures and the graduates behind them.

The definitions live with the rules in ``app.guarantee.cirr``; this module only loads a cohort's
records (a fixed handful of queries, however many graduates) into the plain values those rules
take, and keeps, for every enrollment, the status, its verification source and the job it rests
on, so that every published figure can be traced to the graduates behind it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from math import ceil

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.database import among
from app.guarantee.cirr import (
    OUTCOME_DAYS,
    CirrGraduate,
    CirrJob,
    CirrStatus,
    CohortFigures,
    CohortRow,
    Figure,
    HalfYear,
    VerificationSource,
    cirr_status,
    cohort_figures,
    deciding_job,
    in_figure,
    salary_counted,
    status_date,
)
from app.guarantee.terms import CirrIntent, EmploymentType, ExclusionReason, OutcomeStatus
from app.models import (
    Employer,
    Enrollment,
    ExcludedOutcome,
    Graduation,
    JobOutcome,
    Programme,
    SchoolRequest,
    SearchActivity,
    Student,
)
from app.services.errors import NotFound
from app.services.listings import Page
from app.services.records import MAX_ID

#: How many half-years the period picker offers, the current one included.
RECENT_PERIODS = 6
#: Graduations whose records are read in one query (per kind of record).
ID_BATCH = 1000
#: Enrollments per page of a drill-down.
DRILL_DOWN_PAGE_SIZE = 100


@dataclass(frozen=True)
class JobUsed:
    """The job a graduate's status rests on, as the report shows it."""

    id: int
    title: str
    employer_name: str | None
    employment_type: EmploymentType
    in_field: bool
    start_date: date
    contract_months: int | None
    annual_salary_minor: int | None
    salary_currency: str | None
    status: OutcomeStatus


@dataclass(frozen=True)
class GraduateRow:
    """One enrollment of the cohort: who, in which programme, and the outcome counted for them."""

    enrollment_id: int
    student_name: str
    programme_id: int
    programme_name: str
    currency: str
    expected_graduation_on: date | None
    graduation_id: int | None
    qualified_on: date | None
    #: The day the status was taken (day 180, or today if earlier); ``None`` for non-graduates.
    status_date: date | None
    status: CirrStatus | None
    source: VerificationSource | None
    job: JobUsed | None
    #: The row as the figures count it.
    counted: CohortRow
    #: For an excluded graduate, why: their intent, or the excluded outcome and its day.
    why_excluded: str | None = None
    #: The intent recorded at enrollment, and the documented excluded outcome that took an
    #: excluded graduate out (``None`` when their intent did, or they are not excluded).
    intent: CirrIntent = CirrIntent.IN_FIELD_JOB
    exclusion_reason: ExclusionReason | None = None

    @property
    def provisional(self) -> bool:
        return self.counted.provisional

    @property
    def in_salary_median(self) -> bool:
        return salary_counted(self.counted)


@dataclass(frozen=True)
class ProgrammeFigures:
    """One programme's figures for the cohort."""

    programme_id: int
    name: str
    currency: str
    figures: CohortFigures


@dataclass(frozen=True)
class OutcomesReport:
    """The outcomes report of one half-year's cohort, as it stands on ``today``."""

    period: HalfYear
    today: date
    #: Every programme with an enrollment in the cohort, by name.
    programmes: list[ProgrammeFigures]
    #: Counts and rates over every programme (no median: currencies differ).
    totals: CohortFigures
    #: Every enrollment of the cohort, by programme and student name.
    rows: list[GraduateRow]

    @property
    def provisional(self) -> bool:
        """Whether figures may still change: the half-year has not ended, or some graduate has
        not reached day 180."""
        return self.today <= self.period.last_day or self.totals.provisional

    def programme(self, programme_id: int) -> ProgrammeFigures | None:
        """The figures of one programme, ``None`` if it has nobody in the cohort."""
        return next((p for p in self.programmes if p.programme_id == programme_id), None)

    def rows_behind(
        self, figure: Figure | CirrStatus, programme_id: int | None = None
    ) -> list[GraduateRow]:
        """The enrollments behind ``figure`` for one programme (or all of them)."""
        return [
            row
            for row in self.rows
            if (programme_id is None or row.programme_id == programme_id)
            and in_figure(row.counted, figure)
        ]


def drill_down_page(
    report: OutcomesReport,
    figure: Figure | CirrStatus,
    programme_id: int | None,
    number: int,
    size: int | None = None,
) -> Page[GraduateRow]:
    """Page ``number`` (from 1; clamped to the pages there are) of the enrollments behind
    ``figure``, ``size`` rows a page (``DRILL_DOWN_PAGE_SIZE`` by default)."""
    rows = report.rows_behind(figure, programme_id)
    size = size or DRILL_DOWN_PAGE_SIZE
    number = min(max(1, number), max(1, ceil(len(rows) / size)))
    start = (number - 1) * size
    return Page(items=rows[start : start + size], number=number, size=size, total=len(rows))


def recent_periods(today: date, count: int = RECENT_PERIODS) -> list[HalfYear]:
    """The current half-year and the ``count - 1`` before it, newest first."""
    periods = [HalfYear.containing(today)]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods


def _cohort_day():
    # The SQL twin of ``cirr.cohort_day`` (a test proves they agree).
    return func.coalesce(Enrollment.expected_graduation_on, Graduation.qualified_on)


def default_period(session: Session, today: date) -> HalfYear:
    """The half-year the report opens on: the latest complete one whose cohort has a graduate.

    Complete means its figures are final: it ended at least 180 days ago, so every graduate
    who qualified on time has reached day 180. Without one, the latest half-year that has
    ended and has a graduate (provisional figures); without that either, the current one.
    """
    current = HalfYear.containing(today)
    final_before = HalfYear.containing(today - timedelta(days=OUTCOME_DAYS))
    if final_before.last_day + timedelta(days=OUTCOME_DAYS) > today:
        final_before = final_before.previous()
    for ended_by in (final_before.last_day, current.previous().last_day):
        latest = session.scalar(
            select(func.max(_cohort_day()))
            .select_from(Enrollment)
            .join(Graduation, Graduation.enrollment_id == Enrollment.id)
            .where(_cohort_day() <= ended_by)
        )
        if latest is not None:
            return HalfYear.containing(latest)
    return current


def _in_period(period: HalfYear):
    return or_(
        Enrollment.expected_graduation_on.between(period.first_day, period.last_day),
        and_(
            Enrollment.expected_graduation_on.is_(None),
            Graduation.qualified_on.between(period.first_day, period.last_day),
        ),
    )


def outcomes_report(session: Session, period: HalfYear, today: date) -> OutcomesReport:
    """The figures of ``period``'s cohort per programme and in total, with the rows behind them.

    A fixed handful of queries per thousand graduates: the enrollments with their student,
    programme and graduation, then the cohort's jobs, search log, answers and exclusions, each
    a projection of plain columns (no ORM objects), read only for the cohort: the time and
    memory depend on the cohort, not on the years of history.
    """
    enrollments = session.execute(
        select(
            Enrollment.id.label("enrollment_id"),
            Enrollment.programme_id,
            Enrollment.cirr_intent.label("intent"),
            Enrollment.expected_graduation_on,
            Student.name.label("student_name"),
            Programme.name.label("programme_name"),
            Programme.currency,
            Graduation.id.label("graduation_id"),
            Graduation.qualified_on,
            Graduation.stopped_seeking_on,
        )
        .join(Student, Student.id == Enrollment.student_id)
        .join(Programme, Programme.id == Enrollment.programme_id)
        .outerjoin(Graduation, Graduation.enrollment_id == Enrollment.id)
        .where(_in_period(period))
    ).all()
    # The cohort's own ids, a batch at a time: each lookup then goes through the graduation
    # index, where a subquery repeating the cohort's condition let the planner scan the whole
    # history of jobs and search logs.
    graduation_ids = [row.graduation_id for row in enrollments if row.graduation_id is not None]
    jobs: dict[int, list[CirrJob]] = {}
    used: dict[int, JobUsed] = {}
    contacts: dict[int, list[date]] = {}
    exclusions: dict[int, tuple[date, ExclusionReason]] = {}
    for start in range(0, len(graduation_ids), ID_BATCH):
        batch = graduation_ids[start : start + ID_BATCH]
        batch_jobs, batch_used = _jobs(session, batch)
        jobs.update(batch_jobs)
        used.update(batch_used)
        contacts.update(_contact_days(session, batch))
        exclusions.update(
            (graduation_id, (occurred_on, reason))
            for graduation_id, occurred_on, reason in session.execute(
                select(
                    ExcludedOutcome.graduation_id,
                    ExcludedOutcome.occurred_on,
                    ExcludedOutcome.reason,
                ).where(among(session, ExcludedOutcome.graduation_id, batch))
            )
        )

    rows = []
    for enrollment in enrollments:
        if enrollment.graduation_id is None:
            counted = CohortRow(currency=enrollment.currency, graduated=False)
            rows.append(_row(enrollment, None, None, None, None, counted))
            continue
        graduation_id = enrollment.graduation_id
        exclusion = exclusions.get(graduation_id)
        graduate = CirrGraduate(
            qualified_on=enrollment.qualified_on,
            intent=enrollment.intent,
            excluded_on=exclusion[0] if exclusion else None,
            stopped_seeking_on=enrollment.stopped_seeking_on,
            jobs=tuple(jobs.get(graduation_id, ())),
            contact_days=tuple(contacts.get(graduation_id, ())),
        )
        as_of, provisional = status_date(enrollment.qualified_on, today)
        status, source = cirr_status(graduate, as_of)
        job = deciding_job(graduate, as_of)
        job_used = used[job.key] if job is not None else None
        counted = CohortRow(
            currency=enrollment.currency,
            graduated=True,
            status=status,
            salary_minor=job_used.annual_salary_minor if job_used else None,
            salary_currency=job_used.salary_currency if job_used else None,
            provisional=provisional,
        )
        excluded = status is CirrStatus.EXCLUDED
        rows.append(
            _row(
                enrollment,
                as_of,
                status,
                source,
                job_used,
                counted,
                why_excluded=_why_excluded(enrollment.intent, exclusion) if excluded else None,
                exclusion_reason=(
                    exclusion[1]
                    if excluded and enrollment.intent is CirrIntent.IN_FIELD_JOB and exclusion
                    else None
                ),
            )
        )
    rows.sort(key=lambda row: (row.programme_name, row.student_name, row.enrollment_id))

    by_programme: dict[int, list[GraduateRow]] = defaultdict(list)
    for row in rows:
        by_programme[row.programme_id].append(row)
    programmes = [
        ProgrammeFigures(
            programme_id=programme_id,
            name=members[0].programme_name,
            currency=members[0].currency,
            figures=cohort_figures(member.counted for member in members),
        )
        for programme_id, members in by_programme.items()
    ]
    totals = cohort_figures(row.counted for row in rows)
    return OutcomesReport(period, today, programmes, totals, rows)


def programme_exists(session: Session, programme_id: int) -> None:
    """Raise ``NotFound`` unless the programme exists (a drill-down may name one with nobody in
    the cohort: that is an empty list, not an error)."""
    if not 0 < programme_id <= MAX_ID or session.get(Programme, programme_id) is None:
        raise NotFound("programme", programme_id)


def _why_excluded(intent: CirrIntent, exclusion: tuple[date, ExclusionReason] | None) -> str:
    if intent is not CirrIntent.IN_FIELD_JOB:
        return f"intent at enrollment: {intent.value.replace('_', ' ')}"
    occurred_on, reason = exclusion
    return f"{reason.value.replace('_', ' ')} from {occurred_on.isoformat()}"


def _row(
    enrollment,
    as_of,
    status,
    source,
    job_used,
    counted,
    why_excluded=None,
    exclusion_reason=None,
) -> GraduateRow:
    """The report's row of one enrollment (a row of ``outcomes_report``'s projection)."""
    return GraduateRow(
        enrollment_id=enrollment.enrollment_id,
        student_name=enrollment.student_name,
        programme_id=enrollment.programme_id,
        programme_name=enrollment.programme_name,
        currency=enrollment.currency,
        expected_graduation_on=enrollment.expected_graduation_on,
        graduation_id=enrollment.graduation_id,
        qualified_on=enrollment.qualified_on,
        status_date=as_of,
        status=status,
        source=source,
        job=job_used,
        counted=counted,
        why_excluded=why_excluded,
        intent=enrollment.intent,
        exclusion_reason=exclusion_reason,
    )


def _jobs(session: Session, graduation_ids) -> tuple[dict[int, list[CirrJob]], dict[int, JobUsed]]:
    """The cohort's jobs as the rules take them, per graduation, and as the report shows them."""
    jobs: dict[int, list[CirrJob]] = defaultdict(list)
    shown: dict[int, JobUsed] = {}
    result = session.execute(
        select(
            JobOutcome.id,
            JobOutcome.graduation_id,
            JobOutcome.title,
            JobOutcome.employment_type,
            JobOutcome.in_field,
            JobOutcome.start_date,
            JobOutcome.contract_months,
            JobOutcome.annual_salary_minor,
            JobOutcome.salary_currency,
            JobOutcome.source,
            JobOutcome.status,
            JobOutcome.created_at,
            Employer.name.label("employer_name"),
            Employer.is_school,
        )
        .outerjoin(Employer, Employer.id == JobOutcome.employer_id)
        .where(among(session, JobOutcome.graduation_id, graduation_ids))
        .order_by(JobOutcome.start_date, JobOutcome.id)
    )
    for job in result:
        jobs[job.graduation_id].append(
            CirrJob(
                employment_type=job.employment_type,
                in_field=job.in_field,
                start_date=job.start_date,
                source=job.source,
                status=job.status,
                by_school=bool(job.is_school),
                contract_months=job.contract_months,
                annual_salary_minor=job.annual_salary_minor,
                salary_currency=job.salary_currency,
                reported_on=job.created_at.date(),
                key=job.id,
            )
        )
        shown[job.id] = JobUsed(
            id=job.id,
            title=job.title,
            employer_name=job.employer_name,
            employment_type=job.employment_type,
            in_field=job.in_field,
            start_date=job.start_date,
            contract_months=job.contract_months,
            annual_salary_minor=job.annual_salary_minor,
            salary_currency=job.salary_currency,
            status=job.status,
        )
    return jobs, shown


def _contact_days(session: Session, graduation_ids) -> dict[int, list[date]]:
    """Per graduation, the earliest days its search log and answers show the graduate in touch."""
    days: dict[int, list[date]] = defaultdict(list)
    logged = session.execute(
        select(
            SearchActivity.graduation_id,
            func.min(SearchActivity.occurred_on),
            func.min(SearchActivity.created_at),
        )
        .where(among(session, SearchActivity.graduation_id, graduation_ids))
        .group_by(SearchActivity.graduation_id)
    )
    for graduation_id, first_occurred, first_logged in logged:
        days[graduation_id].extend([first_occurred, first_logged.date()])
    answered = session.execute(
        select(SchoolRequest.graduation_id, func.min(SchoolRequest.answered_at))
        .where(
            among(session, SchoolRequest.graduation_id, graduation_ids),
            SchoolRequest.answered_at.is_not(None),
        )
        .group_by(SchoolRequest.graduation_id)
    )
    for graduation_id, first_answer in answered:
        days[graduation_id].append(first_answer.date())
    return days
