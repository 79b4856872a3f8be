"""Table-driven tests of the CIRR outcome status and the cohort figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.guarantee.cirr import (
    CirrGraduate,
    CirrJob,
    CirrStatus,
    CohortRow,
    Figure,
    HalfYear,
    Rate,
    VerificationSource,
    cirr_status,
    cohort_day,
    cohort_figures,
    deciding_job,
    figure_label,
    half_year,
    in_figure,
    job_status,
    median_minor,
    parse_figure,
    status_date,
)
from app.guarantee.terms import (
    CirrIntent,
    EmploymentType,
    OutcomeSource,
    OutcomeStatus,
    WorkAuthorisation,
)

T = EmploymentType
W = WorkAuthorisation
S = CirrStatus
V = VerificationSource
QUALIFIED = date(2026, 3, 2)
DAY_180 = QUALIFIED + timedelta(days=180)  # 29 Aug 2026


def job(employment_type=T.FULL_TIME_PERMANENT, **changes) -> CirrJob:
    facts = dict(
        employment_type=employment_type,
        in_field=True,
        start_date=QUALIFIED + timedelta(days=30),
        source=OutcomeSource.GRADUATE,
    )
    return CirrJob(**{**facts, **changes})


def graduate(*jobs: CirrJob, **changes) -> CirrGraduate:
    return CirrGraduate(qualified_on=QUALIFIED, jobs=jobs, **changes)


# --- one job -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("the_job", "expected"),
    [
        (job(T.FULL_TIME_PERMANENT), S.FULL_TIME_EMPLOYEE),
        (job(T.FULL_TIME_PERMANENT, by_school=True), S.HIRED_BY_SCHOOL_IN_FIELD),
        (job(T.INTERNSHIP, contract_months=3), S.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR),
        (job(T.APPRENTICESHIP, contract_months=24), S.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR),
        (
            job(T.FIXED_TERM_CONTRACT, contract_months=6),
            S.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR,
        ),
        (job(T.FIXED_TERM_CONTRACT, contract_months=2), S.SHORT_TERM_PART_TIME_OR_FREELANCE),
        (job(T.FIXED_TERM_CONTRACT), S.SHORT_TERM_PART_TIME_OR_FREELANCE),  # length unknown
        (job(T.INTERNSHIP), S.SHORT_TERM_PART_TIME_OR_FREELANCE),  # length unknown
        (job(T.FREELANCE), S.SHORT_TERM_PART_TIME_OR_FREELANCE),
        (job(T.FREELANCE, contract_months=12), S.SHORT_TERM_PART_TIME_OR_FREELANCE),
        (job(T.PART_TIME), S.SHORT_TERM_PART_TIME_OR_FREELANCE),
        (job(T.INTERNSHIP, contract_months=6, by_school=True), S.HIRED_BY_SCHOOL_IN_FIELD),
        (job(T.FOUNDED_COMPANY), S.STARTED_COMPANY),
        (job(T.FOUNDED_COMPANY, in_field=False), S.HIRED_OUT_OF_FIELD),
        (
            job(T.FULL_TIME_PERMANENT, in_field=False, by_school=True),
            S.HIRED_BY_SCHOOL_OUT_OF_FIELD,
        ),
        (job(T.PART_TIME, in_field=False, by_school=True), S.HIRED_BY_SCHOOL_OUT_OF_FIELD),
        (job(T.FULL_TIME_PERMANENT, in_field=False), S.HIRED_OUT_OF_FIELD),
        (job(T.INTERNSHIP, in_field=False, contract_months=6), S.HIRED_OUT_OF_FIELD),
    ],
)
def test_job_status(the_job, expected):
    assert job_status(the_job) is expected


# --- a graduate --------------------------------------------------------------------------------

CONFIRMED = OutcomeStatus.CONFIRMED
DISPUTED = OutcomeStatus.DISPUTED


@pytest.mark.parametrize(
    ("the_graduate", "expected"),
    [
        # Jobs: the job's source verifies it, the employer once they confirmed it.
        (graduate(job()), (S.FULL_TIME_EMPLOYEE, V.GRADUATE)),
        (graduate(job(status=CONFIRMED)), (S.FULL_TIME_EMPLOYEE, V.EMPLOYER)),
        (graduate(job(source=OutcomeSource.RECRUITER)), (S.FULL_TIME_EMPLOYEE, V.RECRUITER)),
        (
            graduate(job(source=OutcomeSource.EMPLOYMENT_HISTORY_SERVICE)),
            (S.FULL_TIME_EMPLOYEE, V.EMPLOYMENT_HISTORY_SERVICE),
        ),
        (
            graduate(job(T.FREELANCE, source=OutcomeSource.REGISTRAR)),
            (S.SHORT_TERM_PART_TIME_OR_FREELANCE, V.REGISTRAR),
        ),
        # A job starting on day 180 counts; on day 181 it does not (the graduate still showed
        # up by reporting it before day 180).
        (graduate(job(start_date=DAY_180)), (S.FULL_TIME_EMPLOYEE, V.GRADUATE)),
        (
            graduate(job(start_date=DAY_180 + timedelta(days=1), reported_on=DAY_180)),
            (S.STILL_SEEKING, None),
        ),
        # ... reported only after day 180, with nothing else: nobody heard from them by then.
        (
            graduate(job(start_date=DAY_180 + timedelta(days=1), reported_on=date(2026, 11, 1))),
            (S.NON_REPORTING, V.REGISTRAR),
        ),
        # A disputed job does not count, but reporting it was a sign of life.
        (
            graduate(job(status=DISPUTED, reported_on=QUALIFIED + timedelta(days=40))),
            (S.STILL_SEEKING, None),
        ),
        # A disputed job reported late that "started" in the window: the earlier day counts.
        (
            graduate(job(status=DISPUTED, reported_on=date(2026, 11, 1))),
            (S.STILL_SEEKING, None),
        ),
        # Several jobs: the best status wins, whichever came first.
        (
            graduate(
                job(T.FREELANCE, start_date=QUALIFIED + timedelta(days=5)),
                job(T.INTERNSHIP, contract_months=6, start_date=QUALIFIED + timedelta(days=60)),
            ),
            (S.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR, V.GRADUATE),
        ),
        (
            graduate(
                job(in_field=False, source=OutcomeSource.REGISTRAR),
                job(T.PART_TIME, status=CONFIRMED),
            ),
            (S.SHORT_TERM_PART_TIME_OR_FREELANCE, V.EMPLOYER),
        ),
        (
            graduate(job(status=DISPUTED), job(T.FREELANCE)),
            (S.SHORT_TERM_PART_TIME_OR_FREELANCE, V.GRADUATE),
        ),
        # No counted job.
        (
            graduate(stopped_seeking_on=QUALIFIED + timedelta(days=90)),
            (S.NOT_SEEKING, V.GRADUATE),
        ),
        (
            graduate(stopped_seeking_on=DAY_180 + timedelta(days=1)),
            (S.NON_REPORTING, V.REGISTRAR),
        ),
        (
            graduate(
                stopped_seeking_on=DAY_180 + timedelta(days=1),
                contact_days=(QUALIFIED + timedelta(days=10),),
            ),
            (S.STILL_SEEKING, None),
        ),
        (graduate(contact_days=(DAY_180,)), (S.STILL_SEEKING, None)),
        (graduate(contact_days=(DAY_180 + timedelta(days=1),)), (S.NON_REPORTING, V.REGISTRAR)),
        (graduate(), (S.NON_REPORTING, V.REGISTRAR)),
        # A job beats "stopped seeking".
        (
            graduate(job(), stopped_seeking_on=QUALIFIED + timedelta(days=100)),
            (S.FULL_TIME_EMPLOYEE, V.GRADUATE),
        ),
        # Exclusions beat everything.
        (graduate(job(), intent=CirrIntent.FURTHER_STUDY), (S.EXCLUDED, V.REGISTRAR)),
        (graduate(intent=CirrIntent.OUT_OF_FIELD_JOB), (S.EXCLUDED, V.REGISTRAR)),
        (graduate(intent=CirrIntent.NOT_SEEKING_WORK), (S.EXCLUDED, V.REGISTRAR)),
        (graduate(job(), excluded_on=QUALIFIED + timedelta(days=20)), (S.EXCLUDED, V.REGISTRAR)),
        (graduate(excluded_on=DAY_180), (S.EXCLUDED, V.REGISTRAR)),
        # An exclusion that began after the status date does not take the graduate out.
        (graduate(excluded_on=DAY_180 + timedelta(days=20)), (S.NON_REPORTING, V.REGISTRAR)),
        # Not authorised to work in the country of study: out, job or not; unknown is not.
        (graduate(job(), study_work_authorisation=W.NO), (S.EXCLUDED, V.REGISTRAR)),
        (graduate(study_work_authorisation=W.NO), (S.EXCLUDED, V.REGISTRAR)),
        (graduate(job(), study_work_authorisation=W.UNKNOWN), (S.FULL_TIME_EMPLOYEE, V.GRADUATE)),
        (graduate(job(), study_work_authorisation=W.YES), (S.FULL_TIME_EMPLOYEE, V.GRADUATE)),
    ],
)
def test_cirr_status_on_day_180(the_graduate, expected):
    assert cirr_status(the_graduate, DAY_180) == expected


@pytest.mark.parametrize("as_of", [QUALIFIED, DAY_180, DAY_180 + timedelta(days=365)])
def test_no_work_authorisation_in_the_country_of_study_excludes_on_any_status_date(as_of):
    # A fact about the person, not an event with a day.
    not_authorised = graduate(job(start_date=QUALIFIED), study_work_authorisation=W.NO)

    assert cirr_status(not_authorised, as_of) == (S.EXCLUDED, V.REGISTRAR)
    assert deciding_job(not_authorised, as_of) is None


def test_only_still_seeking_has_no_verification_source():
    for the_graduate in (graduate(job()), graduate(), graduate(stopped_seeking_on=QUALIFIED)):
        status, source = cirr_status(the_graduate, DAY_180)
        assert status is not S.STILL_SEEKING and source is not None
    assert cirr_status(graduate(contact_days=(QUALIFIED,)), DAY_180) == (S.STILL_SEEKING, None)


def test_deciding_job_is_the_best_counted_one_then_the_earliest():
    freelance = job(T.FREELANCE, start_date=QUALIFIED + timedelta(days=1), key=1)
    first = job(start_date=QUALIFIED + timedelta(days=40), key=2)
    second = job(start_date=QUALIFIED + timedelta(days=20), key=3)
    late = job(start_date=DAY_180 + timedelta(days=1), key=4)

    assert deciding_job(graduate(freelance, first, second, late), DAY_180).key == 3
    assert deciding_job(graduate(late), DAY_180) is None
    assert deciding_job(graduate(first, intent=CirrIntent.FURTHER_STUDY), DAY_180) is None


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2027, 1, 1), (DAY_180, False)),
        (DAY_180, (DAY_180, False)),
        (DAY_180 - timedelta(days=1), (DAY_180 - timedelta(days=1), True)),
    ],
)
def test_status_date_is_day_180_or_today_if_earlier_and_then_provisional(today, expected):
    assert status_date(QUALIFIED, today) == expected


# --- half-years --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "half", "expected"),
    [
        (2026, 1, (date(2026, 1, 1), date(2026, 6, 30))),
        (2026, 2, (date(2026, 7, 1), date(2026, 12, 31))),
        (2024, 1, (date(2024, 1, 1), date(2024, 6, 30))),
    ],
)
def test_half_year(year, half, expected):
    assert half_year(year, half) == expected


def test_half_year_refuses_a_third_half():
    with pytest.raises(ValueError, match="two halves"):
        half_year(2026, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-H1", HalfYear(2026, 1)),
        ("2025-H2", HalfYear(2025, 2)),
        (" 2026-H2 ", HalfYear(2026, 2)),
    ],
)
def test_half_year_parse(text, expected):
    assert HalfYear.parse(text) == expected
    assert str(expected) == text.strip()


@pytest.mark.parametrize("text", ["2026", "2026-H3", "2026-H0", "26-H1", "2026-h1", "0000-H1", ""])
def test_half_year_parse_refuses_what_is_not_a_half_year_and_says_how_to_write_one(text):
    with pytest.raises(ValueError, match="for example 2026-H1"):
        HalfYear.parse(text)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 6, 30), HalfYear(2026, 1)),
        (date(2026, 7, 1), HalfYear(2026, 2)),
        (date(2026, 1, 1), HalfYear(2026, 1)),
        (date(2026, 12, 31), HalfYear(2026, 2)),
    ],
)
def test_half_year_containing(day, expected):
    assert HalfYear.containing(day) == expected
    assert day in expected
    assert day not in expected.previous()


def test_half_year_previous_crosses_the_year():
    assert HalfYear(2026, 1).previous() == HalfYear(2025, 2)
    assert HalfYear(2026, 2).previous() == HalfYear(2026, 1)


@pytest.mark.parametrize(
    ("expected_on", "qualified_on", "cohort"),
    [
        (date(2026, 6, 30), date(2026, 7, 15), date(2026, 6, 30)),  # expected day wins
        (None, date(2026, 7, 15), date(2026, 7, 15)),  # else the graduation
        (date(2026, 3, 1), None, date(2026, 3, 1)),  # not graduated (yet)
        (None, None, None),  # in no cohort
    ],
)
def test_cohort_day(expected_on, qualified_on, cohort):
    assert cohort_day(expected_on, qualified_on) == cohort


# --- the median --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([], None),
        ([4_000_000], 4_000_000),
        ([3, 1, 2], 2),
        ([1, 2, 3, 4], 2),  # mean of 2 and 3 is 2.5: half down
        ([5, 6], 5),
        ([4_000_000, 5_000_001], 4_500_000),  # 4,500,000.5 -> 4,500,000
        ([4_000_000, 5_000_000], 4_500_000),
        ([10, 10, 10, 99], 10),
    ],
)
def test_median_minor(amounts, expected):
    assert median_minor(amounts) == expected


# --- cohort figures ----------------------------------------------------------------------------


def row(status=None, *, graduated=True, salary=None, currency="EUR", salary_currency="EUR"):
    return CohortRow(
        currency=currency,
        graduated=graduated if status is None else True,
        status=status,
        salary_minor=salary,
        salary_currency=salary_currency if salary is not None else None,
    )


def test_cohort_figures_on_a_small_cohort():
    rows = [
        row(graduated=False),
        row(graduated=False),
        row(S.FULL_TIME_EMPLOYEE, salary=4_500_000),
        row(S.FULL_TIME_EMPLOYEE, salary=5_000_000, salary_currency="USD"),  # left out
        row(S.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR, salary=2_000_000),
        row(S.HIRED_BY_SCHOOL_IN_FIELD),  # no salary: left out
        row(S.SHORT_TERM_PART_TIME_OR_FREELANCE, salary=9_000_000),  # 1E: not in the median
        row(S.HIRED_OUT_OF_FIELD),
        row(S.STILL_SEEKING),
        row(S.EXCLUDED),
    ]

    figures = cohort_figures(rows)

    assert (figures.enrolled, figures.graduated, figures.excluded, figures.base) == (10, 8, 1, 7)
    assert figures.graduation_rate == Rate(8, 10)
    assert figures.employed_in_field_rate == Rate(5, 7)
    assert figures.full_time_rate == Rate(2, 7)
    assert figures.employed_in_field_rate.fraction == Fraction(5, 7)
    assert figures.median_salary_minor == 3_250_000
    assert (figures.salaries_counted, figures.salaries_left_out) == (2, 2)
    assert figures.currency == "EUR"
    assert figures.counts[S.FULL_TIME_EMPLOYEE] == 2
    assert figures.counts[S.NON_REPORTING] == 0


def test_cohort_figures_across_currencies_have_no_salary():
    figures = cohort_figures(
        [
            row(S.FULL_TIME_EMPLOYEE, salary=100, currency="EUR", salary_currency="EUR"),
            row(S.FULL_TIME_EMPLOYEE, salary=200, currency="GBP", salary_currency="GBP"),
        ]
    )
    assert figures.currency is None
    assert figures.median_salary_minor is None
    assert figures.salaries_counted == 2  # each in its own programme's currency


def test_cohort_figures_of_nobody_have_undefined_rates():
    figures = cohort_figures([])
    assert figures.graduation_rate == Rate(0, 0)
    assert figures.graduation_rate.fraction is None
    assert figures.median_salary_minor is None


def test_rates_leave_excluded_graduates_out_of_the_base():
    everyone_excluded = cohort_figures([row(S.EXCLUDED), row(S.EXCLUDED)])
    assert everyone_excluded.employed_in_field_rate == Rate(0, 0)
    assert everyone_excluded.graduation_rate == Rate(2, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1A", S.FULL_TIME_EMPLOYEE),
        ("4", S.NON_REPORTING),
        ("excluded", S.EXCLUDED),
        ("enrolled", Figure.ENROLLED),
        ("employed_in_field", Figure.EMPLOYED_IN_FIELD),
        ("salary", Figure.SALARY),
    ],
)
def test_parse_figure(text, expected):
    assert parse_figure(text) is expected
    assert figure_label(expected)


def test_parse_figure_names_the_figures_it_takes():
    with pytest.raises(ValueError, match="is not a figure of the report; one of: 1A"):
        parse_figure("placement")


# --- properties --------------------------------------------------------------------------------

rows_strategy = st.lists(
    st.builds(
        CohortRow,
        currency=st.just("EUR"),
        graduated=st.booleans(),
        status=st.none() | st.sampled_from(list(CirrStatus)),
        salary_minor=st.none() | st.integers(min_value=1, max_value=10**9),
        salary_currency=st.sampled_from(["EUR", "USD"]),
        provisional=st.booleans(),
    ).map(lambda r: replace(r, graduated=r.status is not None)),
    max_size=40,
)


@given(rows_strategy)
def test_status_counts_sum_to_the_graduates_and_rates_stay_between_0_and_1(rows):
    figures = cohort_figures(rows)

    assert sum(figures.counts.values()) == figures.graduated
    assert figures.graduated <= figures.enrolled == len(rows)
    for rate in (
        figures.graduation_rate,
        figures.employed_in_field_rate,
        figures.full_time_rate,
    ):
        assert 0 <= rate.numerator <= rate.denominator
    assert figures.full_time_rate.numerator <= figures.employed_in_field_rate.numerator
    assert figures.salaries_counted + figures.salaries_left_out == sum(
        figures.counts[status] for status in (S("1A"), S("1B"), S("1C"))
    )


@given(rows_strategy)
def test_every_figure_counts_exactly_the_rows_behind_it(rows):
    figures = cohort_figures(rows)

    for figure in (*Figure, *CirrStatus):
        assert figures.size(figure) == sum(1 for r in rows if in_figure(r, figure))


@given(st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=30))
def test_median_lies_between_the_smallest_and_largest(amounts):
    median = median_minor(amounts)
    assert min(amounts) <= median <= max(amounts)
    assert sum(a <= median for a in amounts) * 2 >= len(amounts)


job_strategy = st.builds(
    CirrJob,
    employment_type=st.sampled_from(list(EmploymentType)),
    in_field=st.booleans(),
    start_date=st.dates(min_value=QUALIFIED, max_value=QUALIFIED + timedelta(days=400)),
    source=st.sampled_from(list(OutcomeSource)),
    status=st.sampled_from(list(OutcomeStatus)),
    by_school=st.booleans(),
    contract_months=st.none() | st.integers(min_value=1, max_value=36),
)


@given(st.lists(job_strategy, max_size=5), st.sampled_from(list(CirrIntent)))
def test_a_status_is_employed_only_with_a_counted_job_and_the_order_does_not_matter(jobs, intent):
    the_graduate = graduate(*jobs, intent=intent)
    status, source = cirr_status(the_graduate, DAY_180)

    assert cirr_status(replace(the_graduate, jobs=tuple(reversed(jobs))), DAY_180)[0] is status
    counted = [j for j in jobs if j.start_date <= DAY_180 and j.status is not DISPUTED]
    if intent is not CirrIntent.IN_FIELD_JOB:
        assert status is S.EXCLUDED
    elif counted:
        assert status in {job_status(j) for j in counted}
    else:
        assert status in {S.STILL_SEEKING, S.NOT_SEEKING, S.NON_REPORTING}
    assert (source is None) == (status is S.STILL_SEEKING)
