"""Table-driven tests of the guarantee rule: deadlines, qualifying jobs, status."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from app.guarantee.rules import (
    GuaranteeState,
    guarantee_deadline,
    guarantee_status,
    job_qualifies,
    job_shortfalls,
    paused_days,
    window_start,
)
from app.guarantee.terms import (
    EmploymentType,
    JobFacts,
    OutcomeStatus,
    PolicyTerms,
    WindowStart,
)

Q = WindowStart.QUALIFICATION_DATE
DAY_AFTER = WindowStart.DAY_AFTER_QUALIFICATION
MONDAY = WindowStart.FIRST_MONDAY_AFTER_QUALIFICATION


@pytest.mark.parametrize(
    ("qualified_on", "months", "starts", "expected"),
    [
        (date(2025, 8, 31), 6, Q, date(2026, 2, 28)),  # month end clips to February
        (date(2023, 8, 31), 6, Q, date(2024, 2, 29)),  # ... to the 29th in a leap year
        (date(2025, 3, 31), 6, Q, date(2025, 9, 30)),  # 31 March + 6 = 30 September
        (date(2025, 1, 15), 6, Q, date(2025, 7, 15)),
        (date(2025, 1, 31), 1, Q, date(2025, 2, 28)),
        (date(2024, 2, 29), 12, Q, date(2025, 2, 28)),
        (date(2025, 6, 30), 36, Q, date(2028, 6, 30)),
        (date(2025, 10, 1), 3, Q, date(2026, 1, 1)),  # a "90 day" window in months
        (date(2025, 8, 30), 6, DAY_AFTER, date(2026, 2, 28)),  # starts 31 Aug
        (date(2025, 8, 31), 6, DAY_AFTER, date(2026, 3, 1)),  # starts 1 Sep
        (date(2025, 12, 31), 6, DAY_AFTER, date(2026, 7, 1)),  # crosses the year
        (date(2025, 11, 19), 6, MONDAY, date(2026, 5, 24)),  # Wed -> Mon 24 Nov
        (date(2025, 11, 24), 6, MONDAY, date(2026, 6, 1)),  # a Monday -> the next one
        (date(2025, 8, 31), 6, MONDAY, date(2026, 3, 1)),  # Sun 31 Aug -> Mon 1 Sep
    ],
)
def test_guarantee_deadline(qualified_on, months, starts, expected):
    assert guarantee_deadline(qualified_on, months, starts) == expected


def test_guarantee_deadline_extends_by_paused_days():
    assert guarantee_deadline(date(2025, 8, 31), 6, Q, paused_days=10) == date(2026, 3, 10)


def test_guarantee_deadline_refuses_a_window_of_no_months():
    with pytest.raises(ValueError):
        guarantee_deadline(date(2025, 1, 1), 0)


@pytest.mark.parametrize("weekday_offset", range(7))
def test_window_start_first_monday_is_always_a_later_monday(weekday_offset):
    qualified_on = date(2025, 11, 17 + weekday_offset)  # 17 Nov 2025 is a Monday
    start = window_start(qualified_on, MONDAY)
    assert start.weekday() == 0
    assert 1 <= (start - qualified_on).days <= 7


DEADLINE = date(2026, 2, 28)
TERMS = PolicyTerms()


def job(**changes) -> JobFacts:
    base = JobFacts(
        employment_type=EmploymentType.FULL_TIME_PERMANENT,
        in_field=True,
        start_date=date(2025, 12, 1),
        status=OutcomeStatus.CONFIRMED,
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("facts", "terms", "qualifies"),
    [
        (job(), TERMS, True),
        (job(status=OutcomeStatus.REPORTED), TERMS, True),
        (job(status=OutcomeStatus.DISPUTED), TERMS, False),
        (job(start_date=DEADLINE), TERMS, True),  # starting on the deadline counts
        (job(start_date=date(2026, 3, 1)), TERMS, False),  # a day after does not
        (job(in_field=False), TERMS, False),
        (job(in_field=False), replace(TERMS, requires_in_field=False), True),
        (job(employment_type=EmploymentType.FIXED_TERM_CONTRACT, contract_months=6), TERMS, True),
        (job(employment_type=EmploymentType.FIXED_TERM_CONTRACT, contract_months=5), TERMS, False),
        (job(employment_type=EmploymentType.FIXED_TERM_CONTRACT), TERMS, False),  # length unknown
        (job(employment_type=EmploymentType.INTERNSHIP, contract_months=12), TERMS, False),
        (job(employment_type=EmploymentType.FREELANCE, contract_months=12), TERMS, False),
        (job(employment_type=EmploymentType.PART_TIME, contract_months=12), TERMS, False),
        (job(employment_type=EmploymentType.APPRENTICESHIP, contract_months=24), TERMS, False),
        (
            job(employment_type=EmploymentType.APPRENTICESHIP, contract_months=24),
            replace(
                TERMS, qualifying_types=TERMS.qualifying_types | {EmploymentType.APPRENTICESHIP}
            ),
            True,
        ),
        (
            job(annual_salary_minor=4_000_000, salary_currency="EUR"),
            replace(TERMS, min_annual_salary_minor=4_000_000),
            True,
        ),
        (
            job(annual_salary_minor=3_999_999, salary_currency="EUR"),
            replace(TERMS, min_annual_salary_minor=4_000_000),
            False,
        ),
        (job(), replace(TERMS, min_annual_salary_minor=4_000_000), False),  # salary unknown
        (
            job(annual_salary_minor=9_000_000, salary_currency="USD"),
            replace(TERMS, min_annual_salary_minor=4_000_000),
            False,
        ),
    ],
)
def test_job_qualifies(facts, terms, qualifies):
    assert job_qualifies(facts, terms, DEADLINE) is qualifies
    assert (job_shortfalls(facts, terms, DEADLINE) == []) is qualifies


def test_job_shortfalls_names_every_reason():
    reasons = job_shortfalls(
        job(employment_type=EmploymentType.INTERNSHIP, in_field=False, start_date=date(2026, 3, 1)),
        TERMS,
        DEADLINE,
    )
    assert len(reasons) == 4  # type, field, unknown length, late start
    assert any("internship" in reason for reason in reasons)


QUALIFIED = date(2025, 8, 31)  # deadline 28 Feb 2026, claim deadline 29 Apr 2026


@pytest.mark.parametrize(
    ("start_date", "qualifies"),
    [
        (QUALIFIED - timedelta(days=1), False),  # held during the studies
        (QUALIFIED, True),
        (QUALIFIED + timedelta(days=1), True),
    ],
)
def test_a_job_started_before_qualifying_is_not_a_placement(start_date, qualifies):
    facts = job(start_date=start_date)

    reasons = job_shortfalls(facts, TERMS, DEADLINE, QUALIFIED)

    assert (reasons == []) is qualifies
    assert job_qualifies(facts, TERMS, DEADLINE, QUALIFIED) is qualifies
    if not qualifies:
        assert reasons == ["the job started before the graduate qualified (2025-08-31)"]
    status = guarantee_status(
        opted_in=True, qualified_on=QUALIFIED, terms=TERMS, jobs=[facts], as_of=date(2026, 3, 1)
    )
    assert (status.state is GuaranteeState.PLACED) is qualifies


def test_a_job_between_qualifying_and_a_later_window_start_counts():
    terms = replace(TERMS, window_starts=WindowStart.FIRST_MONDAY_AFTER_QUALIFICATION)
    wednesday = date(2025, 9, 3)

    status = guarantee_status(
        opted_in=True,
        qualified_on=wednesday,
        terms=terms,
        jobs=[job(start_date=date(2025, 9, 5))],  # Friday, before the first Monday
        as_of=date(2026, 4, 1),
    )

    assert status.state is GuaranteeState.PLACED


@pytest.mark.parametrize(
    ("opted_in", "jobs", "as_of", "state", "days_left"),
    [
        (False, [], date(2026, 3, 1), GuaranteeState.NOT_COVERED, None),
        (True, [], date(2025, 8, 31), GuaranteeState.IN_WINDOW, 181),
        (True, [], date(2026, 2, 28), GuaranteeState.IN_WINDOW, 0),
        (True, [], date(2026, 3, 1), GuaranteeState.OWED_REFUND, None),
        (True, [], date(2026, 4, 29), GuaranteeState.OWED_REFUND, None),
        (True, [], date(2026, 4, 30), GuaranteeState.PAST_CLAIM_DEADLINE, None),
        (True, [job()], date(2025, 12, 2), GuaranteeState.PLACED, 88),
        # An accepted offer starting inside the window places the graduate before it starts.
        (True, [job(start_date=date(2026, 2, 1))], date(2025, 10, 1), GuaranteeState.PLACED, 150),
        (
            True,
            [job(status=OutcomeStatus.DISPUTED)],
            date(2026, 3, 1),
            GuaranteeState.OWED_REFUND,
            None,
        ),
        (
            True,
            [job(start_date=date(2026, 3, 1))],
            date(2026, 3, 2),
            GuaranteeState.OWED_REFUND,
            None,
        ),
        (True, [job(in_field=False), job()], date(2026, 3, 2), GuaranteeState.PLACED, None),
    ],
)
def test_guarantee_status(opted_in, jobs, as_of, state, days_left):
    status = guarantee_status(
        opted_in=opted_in, qualified_on=QUALIFIED, terms=TERMS, jobs=jobs, as_of=as_of
    )
    assert status.state is state
    assert status.days_left == days_left
    assert status.deadline == date(2026, 2, 28)
    assert status.claim_deadline == date(2026, 4, 29)


def test_guarantee_status_points_at_the_first_qualifying_job():
    status = guarantee_status(
        opted_in=True,
        qualified_on=QUALIFIED,
        terms=TERMS,
        jobs=[job(in_field=False), job(), job()],
        as_of=date(2026, 1, 1),
    )
    assert status.qualifying_job == 1


@pytest.mark.parametrize(
    ("pauses", "limit", "expected"),
    [
        ([], 90, 0),
        ([(date(2025, 10, 1), date(2025, 10, 1))], 90, 1),  # a one-day pause: both ends count
        ([(date(2025, 10, 1), date(2025, 10, 31))], 90, 31),
        # Across the end of February in a leap year: 28 Feb, 29 Feb, 1 Mar.
        ([(date(2024, 2, 28), date(2024, 3, 1))], 90, 3),
        ([(date(2025, 2, 28), date(2025, 3, 1))], 90, 2),
        (
            [(date(2025, 10, 1), date(2025, 10, 10)), (date(2025, 12, 1), date(2025, 12, 5))],
            90,
            15,
        ),
        ([(date(2025, 10, 1), date(2025, 12, 29))], 90, 90),  # exactly the limit
        ([(date(2025, 10, 1), date(2025, 12, 30))], 90, 90),  # one day beyond it
        (
            [(date(2025, 9, 1), date(2025, 10, 31)), (date(2025, 12, 1), date(2026, 1, 31))],
            90,
            90,  # 61 + 62 days, of which 90 count
        ),
        ([(date(2025, 10, 1), date(2025, 10, 31))], 0, 0),  # the policy allows no pause
    ],
)
def test_paused_days(pauses, limit, expected):
    assert paused_days(pauses, limit) == expected


def test_paused_days_refuses_a_pause_that_ends_before_it_starts():
    with pytest.raises(ValueError):
        paused_days([(date(2025, 10, 2), date(2025, 10, 1))], 90)


def test_paused_days_refuses_a_negative_limit():
    with pytest.raises(ValueError):
        paused_days([], -1)


@pytest.mark.parametrize(
    ("opted_in", "excluded", "jobs", "as_of", "state"),
    [
        (True, True, [], date(2025, 9, 1), GuaranteeState.EXCLUDED),  # in the window
        (True, True, [], date(2026, 3, 1), GuaranteeState.EXCLUDED),  # would be owed a refund
        (True, True, [], date(2026, 5, 1), GuaranteeState.EXCLUDED),  # past the claim deadline
        (True, True, [job()], date(2026, 3, 1), GuaranteeState.EXCLUDED),  # with a job too
        (False, True, [], date(2026, 3, 1), GuaranteeState.NOT_COVERED),  # never covered
        (True, False, [], date(2026, 3, 1), GuaranteeState.OWED_REFUND),
    ],
)
def test_guarantee_status_of_an_excluded_graduate(opted_in, excluded, jobs, as_of, state):
    status = guarantee_status(
        opted_in=opted_in,
        qualified_on=QUALIFIED,
        terms=TERMS,
        jobs=jobs,
        as_of=as_of,
        excluded=excluded,
    )
    assert status.state is state
    assert status.deadline == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("paused", "jobs", "as_of", "state", "deadline", "days_left"),
    [
        # 31 Aug + 6 months = 28 Feb; ten paused days move it to 10 March.
        (10, [], date(2026, 3, 1), GuaranteeState.IN_WINDOW, date(2026, 3, 10), 9),
        (10, [], date(2026, 3, 10), GuaranteeState.IN_WINDOW, date(2026, 3, 10), 0),
        (10, [], date(2026, 3, 11), GuaranteeState.OWED_REFUND, date(2026, 3, 10), None),
        # A job starting after the original deadline but inside the extended window counts.
        (
            10,
            [job(start_date=date(2026, 3, 10))],
            date(2026, 4, 1),
            GuaranteeState.PLACED,
            date(2026, 3, 10),
            None,
        ),
        (
            10,
            [job(start_date=date(2026, 3, 11))],
            date(2026, 4, 1),
            GuaranteeState.OWED_REFUND,
            date(2026, 3, 10),
            None,
        ),
        # The claim deadline moves with the window: 10 March + 60 days = 9 May.
        (10, [], date(2026, 5, 9), GuaranteeState.OWED_REFUND, date(2026, 3, 10), None),
        (10, [], date(2026, 5, 10), GuaranteeState.PAST_CLAIM_DEADLINE, date(2026, 3, 10), None),
    ],
)
def test_guarantee_status_with_paused_days(paused, jobs, as_of, state, deadline, days_left):
    status = guarantee_status(
        opted_in=True,
        qualified_on=QUALIFIED,
        terms=TERMS,
        jobs=jobs,
        as_of=as_of,
        paused_days=paused,
    )
    assert (status.state, status.deadline, status.days_left) == (state, deadline, days_left)
