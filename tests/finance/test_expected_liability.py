"""The expected liability's data: one set-based query that agrees with the guarantee rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from app.guarantee.rules import GuaranteeState, guarantee_status
from app.guarantee.survival import close_searches
from app.guarantee.terms import EmploymentType, OutcomeStatus, WindowStart
from app.services.expected_liability import liability_report, search_history, search_records
from app.services.forecast import liability_forecast
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    ProgrammeFactory,
    SearchPauseFactory,
)
from tests.finance.test_forecast import AS_OF, population  # noqa: F401 - a fixture


def test_worst_case_is_the_forecasts_own_month_by_month(session, population):  # noqa: F811
    report = liability_report(session, AS_OF, draws=0, backtest_months=1)
    forecast = liability_forecast(session, AS_OF)

    assert [
        (row.month, row.currency, row.graduates, row.worst_case_minor)
        for row in report.expected.rows
    ] == [(row.month, row.currency, row.graduates, row.amount_minor) for row in forecast.rows]
    assert report.open_claims == forecast.open_claims
    # The one placement on record came on day 51 of a search: graduates who searched longer
    # than that are expected to be owed in full, the one who has searched 10 days less.
    expected = {
        (row.month, row.currency): (row.expected_minor, row.worst_case_minor)
        for row in report.expected.rows
    }
    assert expected[date(2026, 3, 1), "EUR"] == (1_000_000, 1_000_000)
    february, worst = expected[date(2027, 2, 1), "GBP"]
    assert 0 < february < worst == 500_000


def test_first_qualifying_job_is_the_one_the_rule_finds(session):
    policy = GuaranteePolicyFactory(
        programme=ProgrammeFactory(currency="EUR"), min_annual_salary_minor=3_000_000
    )
    qualified_on = date(2026, 1, 5)
    cases = {
        "none": [],
        "out_of_field": [dict(in_field=False, annual_salary_minor=4_000_000)],
        "below_floor": [dict(annual_salary_minor=2_000_000)],
        "no_salary": [dict()],
        "disputed": [dict(annual_salary_minor=4_000_000, status=OutcomeStatus.DISPUTED)],
        "before_qualifying": [dict(annual_salary_minor=4_000_000, start_date=date(2025, 12, 1))],
        "short_contract": [
            dict(
                annual_salary_minor=4_000_000,
                employment_type=EmploymentType.FIXED_TERM_CONTRACT,
                contract_months=2,
            )
        ],
        "second_counts": [
            dict(in_field=False, annual_salary_minor=4_000_000, start_date=date(2026, 2, 1)),
            dict(annual_salary_minor=4_000_000, start_date=date(2026, 3, 9)),
        ],
        "after_deadline": [dict(annual_salary_minor=4_000_000, start_date=date(2026, 9, 1))],
    }
    graduations, created = {}, {}
    for name, jobs in cases.items():
        graduation = GraduationFactory(
            enrollment=EnrollmentFactory(policy=policy), qualified_on=qualified_on
        )
        for job in jobs:
            if job.get("annual_salary_minor"):
                job = {"salary_currency": "EUR", **job}
            created.setdefault(name, []).append(
                JobOutcomeFactory(graduation=graduation, **{"start_date": date(2026, 2, 2), **job})
            )
        graduations[name] = graduation
    session.flush()

    records = search_records(session)
    assert len(records) == len(cases)
    terms = policy.terms()
    for name, record in zip(graduations, records, strict=True):
        jobs = sorted(created.get(name, []), key=lambda job: job.start_date)
        status = guarantee_status(
            opted_in=True,
            qualified_on=qualified_on,
            terms=terms,
            jobs=[job.facts() for job in jobs],
            as_of=date(2027, 1, 1),
        )
        placed = record.job_on is not None and record.job_on <= record.deadline
        assert placed == (status.state is GuaranteeState.PLACED), name
        if placed:
            assert record.job_on == jobs[status.qualifying_job].start_date, name
        assert record.deadline == status.deadline, name
    assert records[list(cases).index("after_deadline")].job_on == date(2026, 9, 1)


def test_a_job_counts_from_the_day_it_was_on_record(session):
    graduation = GraduationFactory(qualified_on=date(2026, 1, 5))
    JobOutcomeFactory(
        graduation=graduation,
        start_date=date(2026, 2, 2),
        created_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )
    session.flush()

    [record] = search_records(session)
    assert (record.job_on, record.job_known_on) == (date(2026, 2, 2), date(2026, 3, 1))


def test_loading_the_history_is_one_statement_however_many_graduates(session, connection):
    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(connection, "before_cursor_execute", listener)
        try:
            search_records(session)
        finally:
            event.remove(connection, "before_cursor_execute", listener)
        return len(seen)

    policy = GuaranteePolicyFactory()
    for _ in range(3):
        JobOutcomeFactory(graduation=GraduationFactory(enrollment=EnrollmentFactory(policy=policy)))
    session.flush()
    assert statements() == 1
    for _ in range(30):
        JobOutcomeFactory(graduation=GraduationFactory(enrollment=EnrollmentFactory(policy=policy)))
    session.flush()
    assert statements() == 1


GRADUATES = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=1),  # which policy
        st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),  # qualified on
        st.sampled_from((0, 0, 5, 40)),  # paused days
        st.lists(  # jobs: days after qualifying, in field, the day and hour it was on record
            st.tuples(
                st.integers(min_value=-20, max_value=420),
                st.booleans(),
                # Days after its start, or about the first day forecast from.
                st.tuples(st.just("start"), st.integers(min_value=-3, max_value=400))
                | st.tuples(st.just("before"), st.integers(min_value=-1, max_value=1)),
                st.sampled_from((0, 12, 23)),
            ),
            max_size=2,
        ),
    ),
    max_size=8,
)
POLICIES = st.tuples(
    st.sampled_from((1, 3, 6, 12)), st.sampled_from(WindowStart), st.sampled_from((0, 30))
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    graduates=GRADUATES,
    policies=st.tuples(POLICIES, POLICIES),
    before=st.dates(min_value=date(2024, 3, 1), max_value=date(2027, 6, 30)),
)
def test_history_reads_what_close_searches_keeps_and_counts(session, graduates, policies, before):
    """The report's two statements (``search_history``) give the records still open on
    ``before`` and the others counted exactly as ``close_searches`` does from every record."""
    savepoint = session.begin_nested()
    try:
        made = [
            GuaranteePolicyFactory(
                programme=ProgrammeFactory(currency=currency),
                window_months=months,
                window_starts=starts,
                max_pause_days=pause,
            )
            for currency, (months, starts, pause) in zip(("EUR", "GBP"), policies, strict=True)
        ]
        for which, qualified_on, paused, jobs in graduates:
            graduation = GraduationFactory(
                enrollment=EnrollmentFactory(policy=made[which]), qualified_on=qualified_on
            )
            if paused:
                SearchPauseFactory(
                    graduation=graduation,
                    starts_on=qualified_on + timedelta(days=10),
                    ends_on=qualified_on + timedelta(days=9 + paused),
                )
            for after, in_field, (since, days), hour in jobs:
                start = qualified_on + timedelta(days=after)
                recorded = (start if since == "start" else before) + timedelta(days=days)
                JobOutcomeFactory(
                    graduation=graduation,
                    start_date=start,
                    in_field=in_field,
                    created_at=datetime.combine(recorded, time(hour, 30), tzinfo=UTC),
                )
        session.flush()

        kept, closed = close_searches(search_records(session), before)
        records, counted = search_history(session, before)
        assert records == kept
        assert counted.before == before
        assert sorted(counted.searches, key=repr) == sorted(closed.searches, key=repr)
    finally:
        savepoint.rollback()


def test_history_keeps_the_day_a_job_was_on_record_only_when_after_the_first_forecast_day(
    session,
):
    """A job on record the first day forecast from (its last hour, UTC) is known on every day
    forecast; one on record the day after is not known on the first."""
    before = date(2026, 6, 1)
    for recorded in (datetime(2026, 6, 1, 23, 30, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)):
        JobOutcomeFactory(
            graduation=GraduationFactory(qualified_on=date(2025, 8, 4)),
            start_date=date(2025, 9, 1),
            created_at=recorded,
        )
    session.flush()

    records, closed = search_history(session, before)
    assert records == []
    assert {
        (s.days_to_deadline, s.job_days, s.job_known_on, s.graduates) for s in closed.searches
    } == {(None, 28, None, 1), (184, 28, date(2026, 6, 2), 1)}
    assert set(close_searches(search_records(session), before)[1].searches) == set(closed.searches)
