"""The half-year outcomes report (CIRR): each programme's figures and the graduates behind them.

The definitions live with the rules in ``app.guarantee.cirr``; this module reads a cohort's
statuses in one query (the rule's SQL twin, which a property test proves equal to it), and keeps,
for every enrollment, the status, its verification source and the job it rests on, so that every
published figure can be traced to the graduates behind it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from math import ceil
from operator import attrgetter
from typing import NamedTuple

from sqlalchemy import (
    Date,
    String,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from app.guarantee.cirr import (
    JOB_STATUSES,
    MIN_FULL_TIME_CONTRACT_MONTHS,
    OUTCOME_DAYS,
    STATUS_SOURCES,
    TEMPORARY_FULL_TIME_TYPES,
    CirrStatus,
    CohortFigures,
    CohortRow,
    Figure,
    HalfYear,
    VerificationSource,
    cohort_figures,
    in_figure,
    salary_counted,
    status_date,
    status_source,
)
from app.guarantee.sentences import N_, Coded, IsoDay, Sentence
from app.guarantee.terms import (
    CirrIntent,
    EmploymentType,
    ExclusionReason,
    OutcomeSource,
    OutcomeStatus,
    WorkAuthorisation,
)
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
from refunds.sweep import days_after, utc_day

#: How many half-years the period picker offers, the current one included.
RECENT_PERIODS = 6
#: Enrollments per page of a drill-down.
DRILL_DOWN_PAGE_SIZE = 100


class JobUsed(NamedTuple):
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


class GraduateRow(NamedTuple):
    """One enrollment of the cohort: who, in which programme, and the outcome counted for them.

    A named tuple, not a dataclass: a cohort has thousands of them, built on every view of the
    report, and a tuple is several times cheaper to make.
    """

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
    """Enrollments in ``period``'s cohort (``cirr.cohort_day`` in it): those expected to graduate
    in it, and those expected on no day whose graduation qualified in it. Two lookups by index
    (one condition across both tables made PostgreSQL read every graduation of the history)."""
    expected = select(Enrollment.id).where(
        Enrollment.expected_graduation_on.between(period.first_day, period.last_day)
    )
    # Each graduation of the half-year looks its enrollment up, rather than every enrollment
    # without an expected day (a number that grows with the history) being read.
    expected_on = (
        select(Enrollment.expected_graduation_on)
        .where(Enrollment.id == Graduation.enrollment_id)
        .correlate(Graduation)
        .scalar_subquery()
    )
    qualified = select(Graduation.enrollment_id).where(
        Graduation.qualified_on.between(period.first_day, period.last_day),
        expected_on.is_(None),
    )
    return Enrollment.id.in_(union_all(expected, qualified))


def outcomes_report(session: Session, period: HalfYear, today: date) -> OutcomesReport:
    """The figures of ``period``'s cohort per programme and in total, with the rows behind them.

    One query, whatever the size of the cohort, read only for the cohort (the time and memory
    depend on the cohort, not on the years of history): each enrollment with its student,
    programme, graduation and excluded outcome, its CIRR status (``_status``, the SQL twin of
    ``cirr.cirr_status``: a property test proves they agree) and the job that gave it
    (``_deciding_job_id``), all plain columns, no ORM objects.
    """
    cohort = (
        select(
            Enrollment.id.label("enrollment_id"),
            Enrollment.programme_id,
            Enrollment.cirr_intent.label("intent"),
            Enrollment.study_country,
            Enrollment.study_work_authorisation,
            Enrollment.expected_graduation_on,
            Student.name.label("student_name"),
            Programme.name.label("programme_name"),
            Programme.currency,
            Graduation.id.label("graduation_id"),
            Graduation.qualified_on,
            Graduation.stopped_seeking_on,
            ExcludedOutcome.occurred_on.label("excluded_on"),
            ExcludedOutcome.reason.label("exclusion_reason"),
            _earliest(
                _engaged_on(SearchActivity.occurred_on, SearchActivity.created_at),
                SearchActivity.graduation_id,
            ).label("first_logged_on"),
            _earliest(utc_day(SchoolRequest.answered_at), SchoolRequest.graduation_id).label(
                "first_answered_on"
            ),
            _earliest(
                _engaged_on(JobOutcome.start_date, JobOutcome.created_at), JobOutcome.graduation_id
            ).label("first_job_on"),
            _deciding_job_id(today).label("job_id"),
        )
        .join(Student, Student.id == Enrollment.student_id)
        .join(Programme, Programme.id == Enrollment.programme_id)
        .outerjoin(Graduation, Graduation.enrollment_id == Enrollment.id)
        .outerjoin(ExcludedOutcome, ExcludedOutcome.graduation_id == Graduation.id)
        .where(_in_period(period))
        # Materialized: the deciding job is picked once per graduate, not again for the join.
        .cte("cohort")
        .prefix_with("MATERIALIZED")
    )
    # The projection's columns are in the order ``_row`` reads them.
    projection = (
        select(
            cohort.c.enrollment_id,
            cohort.c.programme_id,
            _stored(cohort.c.intent).label("intent"),
            cohort.c.study_country,
            _stored(cohort.c.study_work_authorisation).label("study_work_authorisation"),
            cohort.c.expected_graduation_on,
            cohort.c.student_name,
            cohort.c.programme_name,
            cohort.c.currency,
            cohort.c.graduation_id,
            cohort.c.qualified_on,
            cohort.c.excluded_on,
            _stored(cohort.c.exclusion_reason).label("exclusion_reason"),
            _status(cohort, today).label("status"),
            cohort.c.job_id,
            JobOutcome.title,
            _stored(JobOutcome.employment_type).label("employment_type"),
            JobOutcome.in_field,
            JobOutcome.start_date,
            JobOutcome.contract_months,
            JobOutcome.annual_salary_minor,
            JobOutcome.salary_currency,
            _stored(JobOutcome.source).label("job_source"),
            _stored(JobOutcome.status).label("job_status"),
            Employer.name.label("employer_name"),
        )
        .outerjoin(JobOutcome, JobOutcome.id == cohort.c.job_id)
        .outerjoin(Employer, Employer.id == JobOutcome.employer_id)
    )
    # Read from the session's connection: plain rows, without the ORM's wrapping of each one
    # (it cost more than making the report's row); pending changes are flushed first, as
    # ``session.execute`` would, and the rows are read 500 at a time, not all held at once.
    session.flush()
    enrollments = session.connection().execute(projection).yield_per(500)
    rows = [_row(enrollment, today) for enrollment in enrollments]
    rows.sort(key=attrgetter("programme_name", "student_name", "enrollment_id"))

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


#: The members of the enums the projection reads as their stored values, by value: one lookup
#: here, where a row uses a value, costs less than the column type's conversion of every value.
_MEMBERS: dict[type, dict[str, StrEnum]] = {
    enum: {member.value: member for member in enum}
    for enum in (
        CirrIntent,
        CirrStatus,
        EmploymentType,
        ExclusionReason,
        OutcomeSource,
        OutcomeStatus,
        WorkAuthorisation,
    )
}


def _stored(column):
    """An enum column read as its stored value, a plain string (``_MEMBERS`` has the member)."""
    return type_coerce(column, String())


def _status_date_sql(qualified_on, today: date):
    """``cirr.status_date``'s day in SQL, of a graduate who qualified on ``qualified_on``: day
    180, or ``today`` if earlier."""
    final = days_after(qualified_on, literal(OUTCOME_DAYS))
    return case((final <= today, final), else_=literal(today, Date()))


def _job_status():
    """``cirr.job_status`` in SQL (the status's value), over jobs joined to their employer
    (none: not the school)."""
    by_school = func.coalesce(Employer.is_school, False)
    return case(
        (
            JobOutcome.employment_type == EmploymentType.FOUNDED_COMPANY,
            case(
                (JobOutcome.in_field, CirrStatus.STARTED_COMPANY.value),
                else_=CirrStatus.HIRED_OUT_OF_FIELD.value,
            ),
        ),
        (
            ~JobOutcome.in_field,
            case(
                (by_school, CirrStatus.HIRED_BY_SCHOOL_OUT_OF_FIELD.value),
                else_=CirrStatus.HIRED_OUT_OF_FIELD.value,
            ),
        ),
        (by_school, CirrStatus.HIRED_BY_SCHOOL_IN_FIELD.value),
        (
            JobOutcome.employment_type == EmploymentType.FULL_TIME_PERMANENT,
            CirrStatus.FULL_TIME_EMPLOYEE.value,
        ),
        (
            and_(
                JobOutcome.employment_type.in_(sorted(TEMPORARY_FULL_TIME_TYPES)),
                JobOutcome.contract_months >= MIN_FULL_TIME_CONTRACT_MONTHS,
            ),
            CirrStatus.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR.value,
        ),
        else_=CirrStatus.SHORT_TERM_PART_TIME_OR_FREELANCE.value,
    )


def _job_rank():
    """The place of a job's status in ``JOB_STATUSES`` (0 is 1A, the best), in SQL."""
    return case(
        {status.value: rank for rank, status in enumerate(JOB_STATUSES)}, value=_job_status()
    )


def _status(cohort, today: date):
    """``cirr.cirr_status``'s status (its value) in SQL, over the cohort joined to each
    graduate's deciding job and its employer; ``None`` for an enrollment without a graduation.

    Excluded by intent, by a recorded "no" to working in the country of study, or by an
    excluded outcome on or before the status date; else the deciding job's status; else not
    seeking, if they said so by the status date; else still seeking, if any of their records
    shows them in touch by then; else non-reporting.
    """
    as_of = _status_date_sql(cohort.c.qualified_on, today)
    return case(
        (cohort.c.graduation_id.is_(None), None),
        (
            or_(
                cohort.c.intent != CirrIntent.IN_FIELD_JOB,
                cohort.c.study_work_authorisation == WorkAuthorisation.NO,
                cohort.c.excluded_on <= as_of,
            ),
            CirrStatus.EXCLUDED.value,
        ),
        (cohort.c.job_id.is_not(None), _job_status()),
        (cohort.c.stopped_seeking_on <= as_of, CirrStatus.NOT_SEEKING.value),
        (
            or_(
                cohort.c.first_logged_on <= as_of,
                cohort.c.first_answered_on <= as_of,
                cohort.c.first_job_on <= as_of,
            ),
            CirrStatus.STILL_SEEKING.value,
        ),
        else_=CirrStatus.NON_REPORTING.value,
    )


def _deciding_job_id(today: date):
    """The id of the job ``cirr.deciding_job`` would pick for a graduation (if the graduate is
    not excluded): of the jobs counted on the status date (``job_counts``), the best status,
    then the earliest start, then the first recorded. A scalar subquery over graduations."""
    return (
        select(JobOutcome.id)
        .outerjoin(Employer, Employer.id == JobOutcome.employer_id)
        .where(
            JobOutcome.graduation_id == Graduation.id,
            JobOutcome.start_date <= _status_date_sql(Graduation.qualified_on, today),
            JobOutcome.status != OutcomeStatus.DISPUTED,
        )
        .order_by(_job_rank(), JobOutcome.start_date, JobOutcome.id)
        .limit(1)
        .correlate(Graduation)
        .scalar_subquery()
    )


def _earliest(day, graduation_id):
    """The earliest ``day`` (an expression over one table's rows) of a graduation's rows of that
    table, ``graduation_id`` their column naming it (``None`` without one); a scalar subquery
    over graduations."""
    return (
        select(type_coerce(func.min(day), Date()))
        .where(graduation_id == Graduation.id)
        .correlate(Graduation)
        .scalar_subquery()
    )


def _engaged_on(happened_on, recorded_at):
    """``cirr.engaged_on`` in SQL: the earlier of the day a record happened and the (UTC) day it
    was recorded, both known."""
    recorded_on = utc_day(recorded_at)
    return case((happened_on <= recorded_on, happened_on), else_=recorded_on)


def programme_exists(session: Session, programme_id: int) -> None:
    """Raise ``NotFound`` unless the programme exists (a drill-down may name one with nobody in
    the cohort: that is an empty list, not an error)."""
    if not 0 < programme_id <= MAX_ID or session.get(Programme, programme_id) is None:
        raise NotFound("programme", programme_id)


def _why_excluded(
    intent: CirrIntent,
    study_work_authorisation: WorkAuthorisation,
    study_country: str,
    exclusion_reason: ExclusionReason | None,
    excluded_on: date | None,
) -> Sentence:
    """Why an excluded graduate is out of the base, in the order the rule looks (English in the
    CSV export, said in the reader's language on the page)."""
    if intent is not CirrIntent.IN_FIELD_JOB:
        return Sentence(N_("intent at enrollment: %(intent)s"), intent=Coded(intent))
    if study_work_authorisation is WorkAuthorisation.NO:
        return Sentence(
            N_("not authorised to work in %(country)s, the country of study"),
            country=study_country,
        )
    return Sentence(
        N_("%(outcome)s from %(day)s"),
        outcome=Coded(exclusion_reason),
        day=IsoDay.of(excluded_on),
    )


def _row(enrollment, today: date) -> GraduateRow:
    """The report's row of one enrollment (a row of ``outcomes_report``'s projection), its
    status taken on ``today``."""
    # The projection's columns, in its order.
    (
        enrollment_id,
        programme_id,
        intent_value,
        study_country,
        study_work_authorisation_value,
        expected_graduation_on,
        student_name,
        programme_name,
        currency,
        graduation_id,
        qualified_on,
        excluded_on,
        exclusion_reason_value,
        status_value,
        job_id,
        title,
        employment_type_value,
        in_field,
        start_date,
        contract_months,
        annual_salary_minor,
        salary_currency,
        job_source_value,
        job_status_value,
        employer_name,
    ) = enrollment
    intent = _MEMBERS[CirrIntent][intent_value]
    if graduation_id is None:
        return GraduateRow(
            enrollment_id=enrollment_id,
            student_name=student_name,
            programme_id=programme_id,
            programme_name=programme_name,
            currency=currency,
            expected_graduation_on=expected_graduation_on,
            graduation_id=graduation_id,
            qualified_on=qualified_on,
            status_date=None,
            status=None,
            source=None,
            job=None,
            counted=CohortRow(currency=currency, graduated=False),
            intent=intent,
        )
    status = _MEMBERS[CirrStatus][status_value]
    as_of, provisional = status_date(qualified_on, today)
    if status in STATUS_SOURCES:
        source, job_used = STATUS_SOURCES[status], None
    else:
        job_status = _MEMBERS[OutcomeStatus][job_status_value]
        source = status_source(status, _MEMBERS[OutcomeSource][job_source_value], job_status)
        job_used = JobUsed(
            id=job_id,
            title=title,
            employer_name=employer_name,
            employment_type=_MEMBERS[EmploymentType][employment_type_value],
            in_field=in_field,
            start_date=start_date,
            contract_months=contract_months,
            annual_salary_minor=annual_salary_minor,
            salary_currency=salary_currency,
            status=job_status,
        )
    excluded = status is CirrStatus.EXCLUDED
    # The excluded outcome's reason, looked up for a graduate it excludes (by the status date;
    # one begun later excludes nobody, whatever else does).
    exclusion_reason = (
        _MEMBERS[ExclusionReason][exclusion_reason_value]
        if excluded and excluded_on is not None and excluded_on <= as_of
        else None
    )
    return GraduateRow(
        enrollment_id=enrollment_id,
        student_name=student_name,
        programme_id=programme_id,
        programme_name=programme_name,
        currency=currency,
        expected_graduation_on=expected_graduation_on,
        graduation_id=graduation_id,
        qualified_on=qualified_on,
        status_date=as_of,
        status=status,
        source=source,
        job=job_used,
        counted=CohortRow(
            currency=currency,
            graduated=True,
            status=status,
            salary_minor=annual_salary_minor if job_used else None,
            salary_currency=salary_currency if job_used else None,
            provisional=provisional,
        ),
        why_excluded=(
            _why_excluded(
                intent,
                _MEMBERS[WorkAuthorisation][study_work_authorisation_value],
                study_country,
                exclusion_reason,
                excluded_on,
            )
            if excluded
            else None
        ),
        intent=intent,
        exclusion_reason=(
            exclusion_reason if excluded and intent is CirrIntent.IN_FIELD_JOB else None
        ),
    )
