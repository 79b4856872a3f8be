"""The expected liability's data: one set-based query that agrees with the guarantee rule."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import event

from app.guarantee.rules import GuaranteeState, guarantee_status
from app.guarantee.terms import EmploymentType, OutcomeStatus
from app.services.expected_liability import liability_report, search_records
from app.services.forecast import liability_forecast
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    ProgrammeFactory,
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
