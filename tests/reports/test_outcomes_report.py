"""The outcomes report on a hand-built cohort: every figure pinned, and the graduates behind it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select

from app.guarantee.cirr import CirrStatus, Figure, HalfYear, Rate, VerificationSource, cohort_day
from app.models import Enrollment
from app.services.errors import NotFound
from app.services.outcomes_report import (
    default_period,
    outcomes_report,
    programme_exists,
    recent_periods,
)
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    ProgrammeFactory,
    SearchActivityFactory,
)
from tests.reports.conftest import DAY_180

S = CirrStatus
V = VerificationSource
H1 = HalfYear(2026, 1)
#: Every graduate of the cohort is past day 180.
TODAY = date(2026, 12, 1)


@pytest.fixture
def report(session, cohort):
    return outcomes_report(session, H1, TODAY)


def names(rows) -> set[str]:
    return {row.student_name for row in rows}


def test_the_cohort_is_the_enrollments_expected_in_the_half_year_or_else_graduated_in_it(
    report, cohort
):
    assert names(report.rows) == {
        *["Ada", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana"],
        *["Ivy", "Jon", "Kim", "Leo", "Mia", "Ned", "Oli", "Quinn", "Pia"],
    }
    assert [p.name for p in report.programmes] == ["Data science", "Web development"]


def test_the_cohort_query_agrees_with_the_pure_cohort_day_rule(session, report, cohort):
    everyone = session.scalars(select(Enrollment)).all()
    expected = {
        enrollment.id
        for enrollment in everyone
        if (
            day := cohort_day(
                enrollment.expected_graduation_on,
                enrollment.graduation.qualified_on if enrollment.graduation else None,
            )
        )
        is not None
        and day in H1
    }
    assert {row.enrollment_id for row in report.rows} == expected


STATUSES = {
    "Ada": (S.FULL_TIME_EMPLOYEE, V.EMPLOYER, "Data scientist"),
    "Ben": (S.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR, V.GRADUATE, "Data intern"),
    "Cleo": (S.SHORT_TERM_PART_TIME_OR_FREELANCE, V.GRADUATE, "Freelance analyst"),
    "Dan": (S.HIRED_BY_SCHOOL_IN_FIELD, V.REGISTRAR, "Teaching assistant"),
    "Eve": (S.HIRED_OUT_OF_FIELD, V.GRADUATE, "Barista"),
    "Finn": (S.STILL_SEEKING, None, None),
    "Gus": (S.NON_REPORTING, V.REGISTRAR, None),
    "Hana": (None, None, None),
    "Ivy": (S.NOT_SEEKING, V.GRADUATE, None),
    "Jon": (S.EXCLUDED, V.REGISTRAR, None),
    "Kim": (S.EXCLUDED, V.REGISTRAR, None),
    "Leo": (S.STILL_SEEKING, None, None),
    "Mia": (S.STILL_SEEKING, None, None),
    "Ned": (S.FULL_TIME_EMPLOYEE, V.RECRUITER, "Full-stack developer"),
    "Oli": (S.FULL_TIME_EMPLOYEE, V.EMPLOYMENT_HISTORY_SERVICE, "Back-end developer"),
    "Quinn": (S.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR, V.GRADUATE, "Contract developer"),
    "Pia": (None, None, None),
}


def test_each_graduate_has_a_status_its_verification_source_and_the_job_behind_it(report):
    found = {
        row.student_name: (row.status, row.source, row.job.title if row.job else None)
        for row in report.rows
    }
    assert found == STATUSES


def test_statuses_are_taken_on_day_180_and_are_final_once_past_it(report):
    ada = next(row for row in report.rows if row.student_name == "Ada")
    assert ada.status_date == DAY_180
    assert not ada.provisional
    assert not report.provisional


def test_data_science_figures(report):
    figures = report.programmes[0].figures

    assert (figures.enrolled, figures.graduated, figures.excluded, figures.base) == (8, 7, 0, 7)
    assert figures.graduation_rate == Rate(7, 8)
    # Ada, Ben (intern), Cleo (freelance), Dan (the school): employed in field...
    assert figures.employed_in_field_rate == Rate(4, 7)
    # ... but only Ada is a full-time hire.
    assert figures.full_time_rate == Rate(1, 7)
    # Ada €52,000, Ben €24,000, Dan €40,000; Cleo (1E) is not in the median.
    assert figures.currency == "EUR"
    assert figures.median_salary_minor == 4_000_000
    assert (figures.salaries_counted, figures.salaries_left_out) == (3, 0)
    assert figures.counts == {
        S("1A"): 1,
        S("1B"): 1,
        S("1C"): 1,
        S("1D"): 0,
        S("1E"): 1,
        S("2A"): 0,
        S("2B"): 1,
        S("3A"): 1,
        S("3B"): 0,
        S("4"): 1,
        S("excluded"): 0,
    }


def test_web_development_figures(report):
    figures = report.programmes[1].figures

    assert (figures.enrolled, figures.graduated, figures.excluded, figures.base) == (9, 8, 2, 6)
    assert figures.graduation_rate == Rate(8, 9)
    # Jon and Kim leave the base; Leo's day-181 job and Mia's disputed one do not count.
    assert figures.employed_in_field_rate == Rate(3, 6)
    assert figures.full_time_rate == Rate(2, 6)
    # Ned £45,000 and Quinn £30,001.01: the mean £37,500.505 rounds half down.
    assert figures.currency == "GBP"
    assert figures.median_salary_minor == 3_750_050
    # Oli's salary is in euros.
    assert (figures.salaries_counted, figures.salaries_left_out) == (2, 1)
    assert figures.counts == {
        S("1A"): 2,
        S("1B"): 1,
        S("1C"): 0,
        S("1D"): 0,
        S("1E"): 0,
        S("2A"): 0,
        S("2B"): 0,
        S("3A"): 2,
        S("3B"): 1,
        S("4"): 0,
        S("excluded"): 2,
    }


def test_totals_add_counts_and_rates_across_programmes_but_no_salary(report):
    totals = report.totals

    assert (totals.enrolled, totals.graduated, totals.excluded, totals.base) == (17, 15, 2, 13)
    assert totals.graduation_rate == Rate(15, 17)
    assert totals.employed_in_field_rate == Rate(7, 13)
    assert totals.full_time_rate == Rate(3, 13)
    assert totals.currency is None
    assert totals.median_salary_minor is None
    assert sum(totals.counts.values()) == totals.graduated


BEHIND = {
    ("ds", Figure.ENROLLED): "Ada Ben Cleo Dan Eve Finn Gus Hana",
    ("ds", Figure.GRADUATED): "Ada Ben Cleo Dan Eve Finn Gus",
    ("ds", Figure.BASE): "Ada Ben Cleo Dan Eve Finn Gus",
    ("ds", Figure.EMPLOYED_IN_FIELD): "Ada Ben Cleo Dan",
    ("ds", Figure.FULL_TIME): "Ada",
    ("ds", Figure.SALARY): "Ada Ben Dan",
    ("ds", Figure.SALARY_LEFT_OUT): "",
    ("ds", S("1E")): "Cleo",
    ("ds", S("2B")): "Eve",
    ("ds", S("4")): "Gus",
    ("ds", S("excluded")): "",
    ("web", Figure.ENROLLED): "Ivy Jon Kim Leo Mia Ned Oli Quinn Pia",
    ("web", Figure.BASE): "Ivy Leo Mia Ned Oli Quinn",
    ("web", Figure.EMPLOYED_IN_FIELD): "Ned Oli Quinn",
    ("web", Figure.FULL_TIME): "Ned Oli",
    ("web", Figure.SALARY): "Ned Quinn",
    ("web", Figure.SALARY_LEFT_OUT): "Oli",
    ("web", S("3A")): "Leo Mia",
    ("web", S("3B")): "Ivy",
    ("web", S("excluded")): "Jon Kim",
    (None, Figure.FULL_TIME): "Ada Ned Oli",
    (None, S("3A")): "Finn Leo Mia",
    (None, S("excluded")): "Jon Kim",
    (None, Figure.SALARY): "Ada Ben Dan Ned Quinn",
}


@pytest.mark.parametrize(("programme", "figure"), BEHIND)
def test_the_drill_down_lists_exactly_the_graduates_behind_each_figure(
    report, cohort, programme, figure
):
    programme_id = cohort["programmes"][programme].id if programme else None
    figures = report.programme(programme_id).figures if programme_id else report.totals

    rows = report.rows_behind(figure, programme_id)

    assert names(rows) == set(BEHIND[programme, figure].split())
    assert len(rows) == figures.size(figure)


def test_before_day_180_the_report_is_provisional_and_takes_statuses_as_of_today(session, cohort):
    today = date(2026, 5, 5)  # Ada's job started on 5 May; Ned's starts on 1 June

    report = outcomes_report(session, H1, today)

    assert report.provisional
    rows = {row.student_name: row for row in report.rows}
    assert rows["Ada"].status is S.FULL_TIME_EMPLOYEE
    assert rows["Ada"].status_date == today and rows["Ada"].provisional
    assert rows["Ned"].status is not S.FULL_TIME_EMPLOYEE
    assert rows["Ivy"].status is S.NON_REPORTING  # stops seeking on 30 May
    assert rows["Kim"].status is S.EXCLUDED


def test_a_half_year_with_nobody_gives_empty_figures(session, cohort):
    report = outcomes_report(session, HalfYear(2024, 2), TODAY)

    assert report.rows == [] and report.programmes == []
    assert report.totals.graduation_rate == Rate(0, 0)


def test_the_report_takes_the_same_few_queries_however_many_graduates(session, cohort, connection):
    def statements_for_report() -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(connection, "before_cursor_execute", listener)
        try:
            outcomes_report(session, H1, TODAY)
        finally:
            event.remove(connection, "before_cursor_execute", listener)
        return len(seen)

    before = statements_for_report()
    policy = GuaranteePolicyFactory(programme=ProgrammeFactory(currency="EUR"))
    for _ in range(40):
        graduation = GraduationFactory(
            enrollment=EnrollmentFactory(policy=policy, expected_graduation_on=date(2026, 2, 1)),
            qualified_on=date(2026, 2, 1),
        )
        JobOutcomeFactory(graduation=graduation, start_date=date(2026, 3, 1))
        SearchActivityFactory(graduation=graduation, occurred_on=date(2026, 2, 10))
    session.flush()
    session.expire_all()

    assert statements_for_report() == before <= 5


def test_default_period_is_the_latest_half_year_complete_180_days_after_it_ended(session, cohort):
    assert default_period(session, date(2026, 12, 27)) == H1
    # 2026-H1 is not final until 27 Dec 2026: until then, 2025-H2 (Yara) is.
    assert default_period(session, date(2026, 12, 26)) == HalfYear(2025, 2)


def test_default_period_without_a_complete_one_is_the_latest_ended_half_year_with_graduates(
    session, cohort
):
    # 2025-H1 is complete but has nobody; 2025-H2 (Yara) has ended, not yet for 180 days.
    assert default_period(session, date(2026, 6, 1)) == HalfYear(2025, 2)


def test_default_period_without_any_graduate_is_the_current_half_year(session):
    assert default_period(session, TODAY) == HalfYear(2026, 2)


def test_recent_periods_are_the_current_half_year_and_those_before():
    assert recent_periods(date(2026, 3, 1), 3) == [
        HalfYear(2026, 1),
        HalfYear(2025, 2),
        HalfYear(2025, 1),
    ]


def test_programme_exists_refuses_an_unknown_programme(session):
    with pytest.raises(NotFound):
        programme_exists(session, 987654)
