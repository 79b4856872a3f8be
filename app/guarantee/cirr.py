"""CIRR outcome statuses and the half-year cohort figures, as pure functions over plain values.

The one home of how a graduate's outcome is classified for the outcomes report (CIRR) and of how
the report's figures are counted. The service ``app.services.outcomes_report`` reads the statuses
with these rules' SQL twin (a property test proves them equal); the pages and CSV exports format
what these functions return.

Definitions (the report states them; counting follows them exactly, because inflated placement
figures are a legal risk: NY Attorney General vs Flatiron, 2017):

- **Cohort** of a half-year (1 Jan-30 Jun or 1 Jul-31 Dec): the enrollments whose
  ``expected_graduation_on`` falls in it; an enrollment without one belongs to the half-year of
  its graduation's ``qualified_on``; one with neither is in no cohort. *Enrolled* is the cohort's
  size, *graduated* those of it with a graduation. Graduation rate = graduated / enrolled.
- **Status date**: ``qualified_on`` + 180 days, or today if that is earlier; the graduate's status
  (and the report) is then *provisional*. The report is provisional too while its half-year has
  not ended.
- **Excluded** (``excluded``, CIRR "—"): the enrollment's intent is not an in-field job, or the
  graduate is recorded as not authorised to work in the country of study (``study_country``;
  a fact about the person, whatever the status date; "unknown" takes nobody out), or an
  excluded outcome (further study, military service, incarceration, death) occurred on or before
  the status date. An exclusion that began after the status date does not take the graduate out
  (a graduate without a job at day 180 who starts a master's at day 200 stays in the base).
  Work authorisation in the *search* country is a term of the guarantee, not of this report: it
  takes nobody out. Verification source: the registrar.
- **Counted jobs**: start on or before the status date and not disputed by the employer. When
  several count, the best status wins: 1A > 1B > 1C > 1D > 1E > 2A > 2B (then the earliest start).

  ====  ===========================================================================================
  1A    full-time permanent job, in field, employer not the school
  1B    in-field apprenticeship, internship or fixed-term contract of at least 3 months
        (full-time assumed for these types), employer not the school
  1C    any in-field job with the school (``Employer.is_school``)
  1D    founded a company, in field (out of field it is 2B)
  1E    in-field part-time or freelance work, or an apprenticeship, internship or contract shorter
        than 3 months or of unknown length
  2A    any out-of-field job with the school
  2B    any other out-of-field job, founded companies included
  ====  ===========================================================================================

  Verification source: the job's source, except that a job its employer confirmed is verified by
  the employer.
- **No counted job**: 3B (not seeking, source: the graduate) if the graduate said they stopped
  seeking on or before the status date; else 3A (still seeking, no source) if the record shows
  them engaged by the status date; else 4 (non-reporting, source: the registrar). A graduate is
  *engaged* on the earliest day the record shows them in touch: for each search-log entry and
  each reported job (disputed ones too), the earlier of the day it happened (or started) and the
  day it was recorded; for each answer to a school question, the day it was given.
- **Base** = graduated - excluded. Employed in field within 180 days = (1A+1B+1C+1D+1E) / base.
  Full-time employees = 1A / base: apprentices, interns, contractors and freelancers are not
  full-time hires. Rates are exact fractions; the pages round them for display only.
- **Median base salary**: over the 1A, 1B and 1C graduates whose counted job has an annual salary
  in the programme's currency; the others (no salary, another currency) are left out and counted.
  With an even number of salaries, the mean of the two middle ones rounded half down to a whole
  minor unit. Figures across programmes give counts and rates, and a median only when every
  programme shares one currency.
- **The report opens on** the latest complete half-year whose cohort has a graduate, complete
  meaning it ended at least 180 days ago (its figures are final); failing that, the latest
  half-year that has ended and has a graduate; failing that, the current one
  (``app.services.outcomes_report.default_period``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

from flask_babel import lazy_gettext

from app.guarantee.terms import (
    CirrIntent,
    EmploymentType,
    OutcomeSource,
    OutcomeStatus,
    WorkAuthorisation,
)

#: Days after qualifying at which CIRR takes a graduate's status.
OUTCOME_DAYS = 180

#: Shortest contract, in months, that makes an apprenticeship, internship or contract 1B.
MIN_FULL_TIME_CONTRACT_MONTHS = 3


class CirrStatus(StrEnum):
    """A graduate's CIRR outcome status, in the order of precedence."""

    FULL_TIME_EMPLOYEE = "1A"
    FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR = "1B"
    HIRED_BY_SCHOOL_IN_FIELD = "1C"
    STARTED_COMPANY = "1D"
    SHORT_TERM_PART_TIME_OR_FREELANCE = "1E"
    HIRED_BY_SCHOOL_OUT_OF_FIELD = "2A"
    HIRED_OUT_OF_FIELD = "2B"
    STILL_SEEKING = "3A"
    NOT_SEEKING = "3B"
    NON_REPORTING = "4"
    EXCLUDED = "excluded"

    @property
    def label(self) -> str:
        """What the status means, for people."""
        return STATUS_LABELS[self]


STATUS_LABELS = {
    CirrStatus.FULL_TIME_EMPLOYEE: lazy_gettext("Full-time employee, in field"),
    CirrStatus.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR: (
        lazy_gettext("Full-time apprenticeship, internship or contract, in field")
    ),
    CirrStatus.HIRED_BY_SCHOOL_IN_FIELD: lazy_gettext("Hired by the school, in field"),
    CirrStatus.STARTED_COMPANY: lazy_gettext("Started a company, in field"),
    CirrStatus.SHORT_TERM_PART_TIME_OR_FREELANCE: (
        lazy_gettext("Short-term contract, part-time, freelance or length unknown, in field")
    ),
    CirrStatus.HIRED_BY_SCHOOL_OUT_OF_FIELD: lazy_gettext("Hired by the school, out of field"),
    CirrStatus.HIRED_OUT_OF_FIELD: lazy_gettext("Hired out of field"),
    CirrStatus.STILL_SEEKING: lazy_gettext("Still seeking, in field"),
    CirrStatus.NOT_SEEKING: lazy_gettext("Not seeking"),
    CirrStatus.NON_REPORTING: lazy_gettext("Non-reporting"),
    CirrStatus.EXCLUDED: lazy_gettext(
        "Excluded (intent, no work authorisation where studied, or documented outcome)"
    ),
}

S = CirrStatus

#: The statuses a job can give, best first: when several jobs count, the first wins.
JOB_STATUSES = (
    S.FULL_TIME_EMPLOYEE,
    S.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR,
    S.HIRED_BY_SCHOOL_IN_FIELD,
    S.STARTED_COMPANY,
    S.SHORT_TERM_PART_TIME_OR_FREELANCE,
    S.HIRED_BY_SCHOOL_OUT_OF_FIELD,
    S.HIRED_OUT_OF_FIELD,
)
#: Employed in field within 180 days: the numerator of the employment rate.
IN_FIELD_STATUSES = frozenset(JOB_STATUSES[:5])
#: The statuses whose salaries make the median base salary.
SALARY_STATUSES = frozenset(
    {
        S.FULL_TIME_EMPLOYEE,
        S.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR,
        S.HIRED_BY_SCHOOL_IN_FIELD,
    }
)

#: Types that count as full-time (1B) when in field and at least three months long.
TEMPORARY_FULL_TIME_TYPES = frozenset(
    {
        EmploymentType.APPRENTICESHIP,
        EmploymentType.INTERNSHIP,
        EmploymentType.FIXED_TERM_CONTRACT,
    }
)


class VerificationSource(StrEnum):
    """Who documented a graduate's status, as CIRR asks ("still seeking" needs none)."""

    GRADUATE = "graduate"
    EMPLOYER = "employer"
    REGISTRAR = "registrar"
    RECRUITER = "recruiter"
    EMPLOYMENT_HISTORY_SERVICE = "employment_history_service"


@dataclass(frozen=True)
class CirrJob:
    """What the classification needs to know about one job a graduate reported."""

    employment_type: EmploymentType
    in_field: bool
    start_date: date
    source: OutcomeSource
    status: OutcomeStatus = OutcomeStatus.REPORTED
    #: Whether the employer is the school itself.
    by_school: bool = False
    contract_months: int | None = None
    annual_salary_minor: int | None = None
    salary_currency: str | None = None
    #: The day the job was recorded; ``None`` when unknown (then only its start shows contact).
    reported_on: date | None = None
    #: The job's record id, so a report can name the job it used; not used by the rules.
    key: int | None = None


@dataclass(frozen=True)
class CirrGraduate:
    """What the classification needs to know about one graduate."""

    qualified_on: date
    intent: CirrIntent = CirrIntent.IN_FIELD_JOB
    #: Whether the graduate may work in the country of study; only "no" takes them out.
    study_work_authorisation: WorkAuthorisation = WorkAuthorisation.UNKNOWN
    #: The day a documented excluded outcome began; ``None`` when there is none.
    excluded_on: date | None = None
    #: The day the graduate said they stopped seeking work; ``None`` while seeking.
    stopped_seeking_on: date | None = None
    jobs: tuple[CirrJob, ...] = ()
    #: Days on which the record shows the graduate in touch besides their jobs: the days
    #: search-log entries happened and were logged, and the days they answered the school's
    #: questions. Only the earliest matters, so a loader may pass just the earliest of each kind.
    contact_days: tuple[date, ...] = ()


def engaged_on(happened_on: date, recorded_on: date | None) -> date:
    """The earliest day one record shows the graduate in touch: when it happened or was recorded.

    An interview logged before it happens shows contact on the day it was logged; an application
    logged a week late shows the search on the day it was made.
    """
    return happened_on if recorded_on is None else min(happened_on, recorded_on)


def status_date(qualified_on: date, today: date) -> tuple[date, bool]:
    """The day a graduate's status is taken on, and whether it is provisional (not day 180 yet)."""
    final = qualified_on + timedelta(days=OUTCOME_DAYS)
    return (final, False) if final <= today else (today, True)


def job_status(job: CirrJob) -> CirrStatus:
    """The status one job gives its graduate (whether it counts is ``job_counts``)."""
    if job.employment_type is EmploymentType.FOUNDED_COMPANY:
        return S.STARTED_COMPANY if job.in_field else S.HIRED_OUT_OF_FIELD
    if not job.in_field:
        return S.HIRED_BY_SCHOOL_OUT_OF_FIELD if job.by_school else S.HIRED_OUT_OF_FIELD
    if job.by_school:
        return S.HIRED_BY_SCHOOL_IN_FIELD
    if job.employment_type is EmploymentType.FULL_TIME_PERMANENT:
        return S.FULL_TIME_EMPLOYEE
    if (
        job.employment_type in TEMPORARY_FULL_TIME_TYPES
        and job.contract_months is not None
        and job.contract_months >= MIN_FULL_TIME_CONTRACT_MONTHS
    ):
        return S.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR
    # Part-time, freelance, and any contract shorter than three months or of unknown length.
    return S.SHORT_TERM_PART_TIME_OR_FREELANCE


def job_counts(job: CirrJob, as_of: date) -> bool:
    """Whether a job counts for a status taken on ``as_of``: started by then and not disputed."""
    return job.start_date <= as_of and job.status is not OutcomeStatus.DISPUTED


#: Who verifies each status that does not rest on a job (still seeking needs nobody).
STATUS_SOURCES: dict[CirrStatus, VerificationSource | None] = {
    S.EXCLUDED: VerificationSource.REGISTRAR,
    S.NOT_SEEKING: VerificationSource.GRADUATE,
    S.STILL_SEEKING: None,
    S.NON_REPORTING: VerificationSource.REGISTRAR,
}


def status_source(
    status: CirrStatus,
    job_source: OutcomeSource | None = None,
    job_status: OutcomeStatus | None = None,
) -> VerificationSource | None:
    """Who verifies ``status``. For a job's status, that of the job that gave it: the employer
    once they confirmed it (``job_status``), else whoever reported it (``job_source``). Else the
    registrar, the graduate or nobody (``STATUS_SOURCES``)."""
    if status in STATUS_SOURCES:
        return STATUS_SOURCES[status]
    if job_status is OutcomeStatus.CONFIRMED:
        return VerificationSource.EMPLOYER
    return VerificationSource(job_source.value)


def deciding_job(graduate: CirrGraduate, as_of: date) -> CirrJob | None:
    """The counted job that gives the graduate their status (best status, then earliest start).

    ``None`` when the graduate is excluded or no job counts.
    """
    if is_excluded(graduate, as_of):
        return None
    counted = [job for job in graduate.jobs if job_counts(job, as_of)]
    if not counted:
        return None
    return min(counted, key=lambda job: (JOB_STATUSES.index(job_status(job)), job.start_date))


def is_excluded(graduate: CirrGraduate, as_of: date) -> bool:
    """Out of the report's base: intent other than an in-field job, not authorised to work in
    the country of study (recorded "no"; on any day), or an excluded outcome by ``as_of``."""
    return (
        graduate.intent is not CirrIntent.IN_FIELD_JOB
        or graduate.study_work_authorisation is WorkAuthorisation.NO
        or (graduate.excluded_on is not None and graduate.excluded_on <= as_of)
    )


def first_engaged_on(graduate: CirrGraduate) -> date | None:
    """The earliest day the record shows the graduate in touch (jobs, disputed ones too,
    search log, answers); ``None`` if it never does."""
    days = list(graduate.contact_days)
    days.extend(engaged_on(job.start_date, job.reported_on) for job in graduate.jobs)
    return min(days, default=None)


def cirr_status(
    graduate: CirrGraduate, as_of: date
) -> tuple[CirrStatus, VerificationSource | None]:
    """The graduate's CIRR status on ``as_of`` (their status date) and who verifies it.

    Still seeking (3A) is the only status without a verification source.
    """
    status, job = _status_and_job(graduate, as_of)
    if job is None:
        return status, status_source(status)
    return status, status_source(status, job.source, job.status)


def _status_and_job(graduate: CirrGraduate, as_of: date) -> tuple[CirrStatus, CirrJob | None]:
    """The graduate's status on ``as_of``, and the job that gave it (``None`` for the others)."""
    if is_excluded(graduate, as_of):
        return S.EXCLUDED, None
    job = deciding_job(graduate, as_of)
    if job is not None:
        return job_status(job), job
    if graduate.stopped_seeking_on is not None and graduate.stopped_seeking_on <= as_of:
        return S.NOT_SEEKING, None
    engaged = first_engaged_on(graduate)
    if engaged is not None and engaged <= as_of:
        return S.STILL_SEEKING, None
    return S.NON_REPORTING, None


# --- half-years --------------------------------------------------------------------------------


def half_year(year: int, half: int) -> tuple[date, date]:
    """The first and last day of half ``half`` (1 or 2) of ``year``: 1 Jan-30 Jun, 1 Jul-31 Dec."""
    if half == 1:
        return date(year, 1, 1), date(year, 6, 30)
    if half == 2:
        return date(year, 7, 1), date(year, 12, 31)
    raise ValueError(f"a year has two halves, 1 and 2, not {half}")


_PERIOD = re.compile(r"([0-9]{4})-H([12])")


@dataclass(frozen=True, order=True)
class HalfYear:
    """A reporting period: one half of a year, written ``2026-H1``."""

    year: int
    half: int

    def __post_init__(self):
        half_year(self.year, self.half)  # refuses a third half
        if not 1 <= self.year <= 9999:
            raise ValueError(f"{self.year} is not a year")

    @classmethod
    def parse(cls, text: str) -> HalfYear:
        """``"2026-H1"`` -> ``HalfYear(2026, 1)``; ``ValueError`` saying why for anything else."""
        match = _PERIOD.fullmatch(text.strip())
        if not match or int(match[1]) < 1:
            raise ValueError(
                f"“{text}” is not a half-year: write the year and H1 (1 Jan-30 Jun) or H2"
                " (1 Jul-31 Dec), for example 2026-H1."
            )
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def containing(cls, day: date) -> HalfYear:
        """The half-year ``day`` falls in."""
        return cls(day.year, 1 if day.month <= 6 else 2)

    @property
    def first_day(self) -> date:
        return half_year(self.year, self.half)[0]

    @property
    def last_day(self) -> date:
        return half_year(self.year, self.half)[1]

    def previous(self) -> HalfYear:
        """The half-year before this one."""
        return HalfYear(self.year - 1, 2) if self.half == 1 else HalfYear(self.year, 1)

    def __contains__(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def __str__(self) -> str:
        return f"{self.year}-H{self.half}"


def cohort_day(expected_graduation_on: date | None, qualified_on: date | None) -> date | None:
    """The day that puts an enrollment in a half-year's cohort; ``None``: in no cohort."""
    return expected_graduation_on if expected_graduation_on is not None else qualified_on


# --- cohort figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """An exact rate, ``numerator / denominator``; undefined (``fraction`` None) over nobody."""

    numerator: int
    denominator: int

    @property
    def fraction(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None


def median_minor(amounts: Iterable[int]) -> int | None:
    """The median of whole minor units, itself whole: with an even count, the mean of the two
    middle amounts rounded half down. ``None`` for no amounts."""
    ordered = sorted(amounts)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    # Floor division rounds half down: 5 + 6 -> 5 (not 6), and exact halves of sums.
    return (ordered[middle - 1] + ordered[middle]) // 2


class Figure(StrEnum):
    """A figure of the report other than a status count (those are named by ``CirrStatus``)."""

    ENROLLED = "enrolled"
    GRADUATED = "graduated"
    #: Graduates not excluded: the base of the employment rates.
    BASE = "base"
    EMPLOYED_IN_FIELD = "employed_in_field"
    FULL_TIME = "full_time"
    #: Graduates whose salary makes the median.
    SALARY = "salary"
    #: 1A-1C graduates whose salary was left out of the median (unknown or another currency).
    SALARY_LEFT_OUT = "salary_left_out"


FIGURE_LABELS = {
    Figure.ENROLLED: lazy_gettext("Enrolled"),
    Figure.GRADUATED: lazy_gettext("Graduated"),
    Figure.BASE: lazy_gettext("Graduates not excluded"),
    Figure.EMPLOYED_IN_FIELD: lazy_gettext("Employed in field within 180 days"),
    Figure.FULL_TIME: lazy_gettext("Full-time employees (1A)"),
    Figure.SALARY: lazy_gettext("Salaries in the median"),
    Figure.SALARY_LEFT_OUT: lazy_gettext("Salaries left out of the median"),
}


def parse_figure(text: str) -> Figure | CirrStatus:
    """A figure's name as the drill-down takes it (``"1A"``, ``"excluded"``, ``"graduated"``...)."""
    for kind in (CirrStatus, Figure):
        try:
            return kind(text)
        except ValueError:
            pass
    names = ", ".join([*(s.value for s in CirrStatus), *(f.value for f in Figure)])
    raise ValueError(f"“{text}” is not a figure of the report; one of: {names}.")


def figure_label(figure: Figure | CirrStatus) -> str:
    """What a figure counts, for people."""
    if isinstance(figure, CirrStatus):
        return f"{figure.value}: {figure.label}" if figure is not S.EXCLUDED else figure.label
    return FIGURE_LABELS[figure]


# Slots: a report makes one for every enrollment of a cohort.
@dataclass(frozen=True, slots=True)
class CohortRow:
    """One enrollment of a cohort, as the figures count it."""

    #: The programme's currency (that of its median salary).
    currency: str
    graduated: bool
    #: The graduate's status; ``None`` for an enrollment that did not graduate.
    status: CirrStatus | None = None
    #: The annual salary of the job that gave the status, and its currency.
    salary_minor: int | None = None
    salary_currency: str | None = None
    #: Whether the status was taken before day 180 (today is earlier).
    provisional: bool = False


def salary_counted(row: CohortRow) -> bool:
    """Whether the row's salary makes the median: 1A-1C, a salary, in the programme's currency."""
    return (
        row.status in SALARY_STATUSES
        and row.salary_minor is not None
        and row.salary_currency == row.currency
    )


def in_figure(row: CohortRow, figure: Figure | CirrStatus) -> bool:
    """Whether ``row`` is one of the enrollments behind ``figure``: the drill-down and the counts
    both use this, so every figure is exactly the graduates listed behind it."""
    if isinstance(figure, CirrStatus):
        return row.status is figure
    match figure:
        case Figure.ENROLLED:
            return True
        case Figure.GRADUATED:
            return row.graduated
        case Figure.BASE:
            return row.graduated and row.status is not S.EXCLUDED
        case Figure.EMPLOYED_IN_FIELD:
            return row.status in IN_FIELD_STATUSES
        case Figure.FULL_TIME:
            return row.status is S.FULL_TIME_EMPLOYEE
        case Figure.SALARY:
            return salary_counted(row)
        case Figure.SALARY_LEFT_OUT:
            return row.status in SALARY_STATUSES and not salary_counted(row)
    raise ValueError(f"unknown figure {figure!r}")


@dataclass(frozen=True)
class CohortFigures:
    """The published figures of one cohort (a programme's, or all programmes together)."""

    enrolled: int
    graduated: int
    #: Graduates in each status, every status present (zeros included); they sum to
    #: ``graduated``.
    counts: dict[CirrStatus, int]
    graduation_rate: Rate
    employed_in_field_rate: Rate
    full_time_rate: Rate
    #: The currency of the salaries; ``None`` when the rows mix currencies (or there are none).
    currency: str | None
    #: Median base salary in minor units of ``currency``; ``None`` with no salary to take it of,
    #: or across currencies.
    median_salary_minor: int | None
    salaries_counted: int
    salaries_left_out: int
    #: Whether any status was taken before day 180.
    provisional: bool = False
    sizes: dict[Figure | CirrStatus, int] = field(default_factory=dict)

    @property
    def excluded(self) -> int:
        return self.counts[S.EXCLUDED]

    @property
    def base(self) -> int:
        """Graduates not excluded: the base of the employment rates."""
        return self.graduated - self.excluded

    def size(self, figure: Figure | CirrStatus) -> int:
        """How many enrollments are behind ``figure``."""
        return self.sizes[figure]


def cohort_figures(rows: Iterable[CohortRow]) -> CohortFigures:
    """The cohort's figures, each counting exactly the rows ``in_figure`` puts behind it."""
    rows = list(rows)
    # ``in_figure`` reads only these three things of a row: rows alike in them are behind the
    # same figures, so each figure is judged once per kind of row, not once per row.
    keys = [(row.graduated, row.status, salary_counted(row)) for row in rows]
    kinds = Counter(keys)
    alike = dict(zip(keys, rows, strict=True))
    sizes: dict[Figure | CirrStatus, int] = {
        figure: sum(count for kind, count in kinds.items() if in_figure(alike[kind], figure))
        for figure in (*Figure, *CirrStatus)
    }
    currencies = {row.currency for row in rows}
    currency = next(iter(currencies)) if len(currencies) == 1 else None
    median = (
        median_minor(
            row.salary_minor for row, (*_, salary) in zip(rows, keys, strict=True) if salary
        )
        if currency is not None
        else None
    )
    base = sizes[Figure.BASE]
    return CohortFigures(
        enrolled=sizes[Figure.ENROLLED],
        graduated=sizes[Figure.GRADUATED],
        counts={status: sizes[status] for status in CirrStatus},
        graduation_rate=Rate(sizes[Figure.GRADUATED], sizes[Figure.ENROLLED]),
        employed_in_field_rate=Rate(sizes[Figure.EMPLOYED_IN_FIELD], base),
        full_time_rate=Rate(sizes[Figure.FULL_TIME], base),
        currency=currency,
        median_salary_minor=median,
        salaries_counted=sizes[Figure.SALARY],
        salaries_left_out=sizes[Figure.SALARY_LEFT_OUT],
        provisional=any(row.provisional for row in rows),
        sizes=sizes,
    )
