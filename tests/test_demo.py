"""The demo school shows a graduate in every guarantee state, whatever today is."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from app.demo import load_demo_accounts, load_demo_school
from app.guarantee.cirr import HalfYear
from app.guarantee.rules import GuaranteeState
from app.models import Enrollment, Graduation, MessageKind, Programme, RefundClaim, Student
from app.models.base import utc_now
from app.services.claim_review import review_flagged_claims
from app.services.guarantee import evaluate_guarantee
from app.services.outcomes_report import outcomes_report
from app.services.public_outcomes import public_report
from app.services.reminders import send_reminders
from app.services.search import compliance_for
from refunds.sweep import sweep


@pytest.mark.parametrize("today", [date(2026, 11, 22), date(2028, 2, 29), date(2027, 8, 31)])
def test_demo_school_has_a_graduate_in_every_state(session, today):
    load_demo_school(session, today)
    states = {
        evaluate_guarantee(session, graduation_id, today).status.state
        for graduation_id in session.scalars(select(Graduation.id))
    }
    assert states == set(GuaranteeState)


def test_demo_load_command_loads_once(runner, session):
    first = runner.invoke(args=["demo", "load"])
    second = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "demo school loaded" in first.output
    assert "was not loaded" in second.output
    assert session.scalar(select(func.count()).select_from(Programme)) == 2


# -- What the newcomer must see in the demo ----------------------------------------------


def _graduation_of(session, email: str) -> Graduation:
    return session.scalars(
        select(Graduation).join(Enrollment).join(Student).where(Student.email == email)
    ).one()


@pytest.mark.parametrize("today", [date(2026, 11, 22), date(2028, 2, 29), date(2027, 8, 31)])
def test_demo_amina_is_falling_behind_on_applications_after_a_paused_fortnight(session, today):
    load_demo_school(session, today)
    amina = _graduation_of(session, "amina.diallo@example.org")

    compliance = compliance_for(session, amina, today)
    view = evaluate_guarantee(session, amina.id, today)

    assert view.status.state is GuaranteeState.IN_WINDOW
    assert compliance.falling_behind
    assert not compliance.compliant
    assert any("2 of 5 applications" in reason for reason in compliance.shortfalls)
    assert [week.state.value for week in compliance.weeks[2:4]] == ["paused", "paused"]
    assert view.paused_days_counted == 14
    assert view.status.deadline == view.deadline_without_pauses + timedelta(days=14)


def test_demo_ines_parental_leave_extends_her_window_by_sixty_days(session):
    today = date(2026, 11, 22)
    load_demo_school(session, today)
    ines = _graduation_of(session, "ines.moreau@example.org")

    view = evaluate_guarantee(session, ines.id, today)

    assert view.paused_days_counted == 60
    assert view.status.deadline == date(2027, 2, 20)  # 22 Dec 2026 + 60 days
    assert view.status.state is GuaranteeState.IN_WINDOW
    assert compliance_for(session, ines, today).compliant


def test_demo_scheduler_start_warns_amina_and_reminds_jade_once(
    app, session, session_factory, mailbox
):
    today = date(2026, 11, 22)
    load_demo_school(session, today)
    with app.app_context():  # the app's keys seal the accounts' second-factor keys
        load_demo_accounts(session)
    sweep(session, today)
    review_flagged_claims(session, today)
    session.commit()

    with app.app_context():
        first = send_reminders(session_factory, app.config["SETTINGS"], today, utc_now())
        second = send_reminders(session_factory, app.config["SETTINGS"], today, utc_now())

    assert first.sent[MessageKind.FALLING_BEHIND] == 1
    assert first.sent[MessageKind.DEADLINE_APPROACHING] == 1
    # Finance hears of the sweep's claims in one digest that lists them all.
    assert first.sent[MessageKind.NEW_CLAIM] == 1
    claims = session.scalar(select(func.count()).select_from(RefundClaim))
    [digest] = [m for m in mailbox.messages if m["Subject"].endswith("new refund claims to review")]
    assert digest["Subject"] == f"{claims} new refund claims to review"
    assert second.due.total() == 0
    to_amina = [m for m in mailbox.messages if m["To"] == "amina.diallo@example.org"]
    assert [m["Subject"] for m in to_amina] == [
        "You are behind on your job search (week 9 of your window)"
    ]
    assert any(m["To"] == "jade.laurent@example.org" for m in mailbox.messages)


def test_demo_cohort_report_figures_as_checked_by_hand(session):
    """The figures of the closing note: 2025-H2 as of 22 Nov 2026, counted by hand from the
    demo's definition (see the closing note's table)."""
    today = date(2026, 11, 22)
    load_demo_school(session, today)

    report = outcomes_report(session, HalfYear(2025, 2), today)

    by_name = {programme.name: programme.figures for programme in report.programmes}
    ai, data = by_name["AI Engineer (Master's)"], by_name["Data Analyst"]
    counts = {name: {s.value: n for s, n in f.counts.items() if n} for name, f in by_name.items()}
    assert counts == {
        "AI Engineer (Master's)": {
            "1A": 2,
            "1B": 1,
            "1C": 1,
            "1E": 1,
            "2B": 1,
            "3A": 1,
            "4": 1,
            "excluded": 2,
        },
        "Data Analyst": {"1A": 1, "1B": 1, "3A": 1, "3B": 1, "4": 1},
    }
    assert (ai.enrolled, ai.graduated, ai.base) == (11, 10, 8)
    assert (ai.employed_in_field_rate.numerator, ai.employed_in_field_rate.denominator) == (5, 8)
    assert (ai.full_time_rate.numerator, ai.full_time_rate.denominator) == (2, 8)
    assert ai.median_salary_minor == 4_200_000  # 20,000 38,000 | 46,000 52,000
    assert (data.enrolled, data.graduated, data.base) == (5, 5, 5)
    assert (data.employed_in_field_rate.numerator, data.full_time_rate.numerator) == (2, 1)
    assert data.median_salary_minor == 3_100_000  # 24,000 | 38,000
    assert (report.totals.enrolled, report.totals.graduated) == (16, 15)
    assert report.totals.employed_in_field_rate.numerator == 7
    assert report.totals.employed_in_field_rate.denominator == 13


def test_demo_public_outcomes_hide_the_small_cohorts_figures(session):
    today = date(2026, 11, 22)
    load_demo_school(session, today)
    staff = outcomes_report(session, HalfYear(2025, 2), today)

    public = public_report(session, HalfYear(2025, 2), today, threshold=10)

    ai = next(p for p in public.programmes if p.name == "AI Engineer (Master's)")
    staff_ai = next(p for p in staff.programmes if p.name == "AI Engineer (Master's)").figures
    assert ai.figures.counts["1A"] is None  # 2 graduates
    shown = {name: value for name, value in ai.figures.counts.items() if value is not None}
    assert all(value == 0 or value >= 10 for value in shown.values())
    assert shown.get("enrolled", staff_ai.enrolled) == staff_ai.enrolled
    assert ai.median_salary_minor is None  # four salaries


@pytest.mark.parametrize("today", [date(2026, 11, 22), date(2028, 2, 29), date(2027, 8, 31)])
def test_demo_karim_and_lucy_are_not_covered_and_told_why_and_the_sweep_leaves_them(session, today):
    load_demo_school(session, today)
    karim = _graduation_of(session, "karim.benali@example.org")
    lucy = _graduation_of(session, "lucy.walsh@example.org")
    chloe = _graduation_of(session, "chloe.martin@example.org")  # same window, covered

    sweep(session, today)
    karim_view = evaluate_guarantee(session, karim.id, today)
    lucy_view = evaluate_guarantee(session, lucy.id, today)

    started = karim.enrollment.studies_started_on
    assert karim.qualified_on == started + relativedelta(months=13)
    assert karim_view.status.state is GuaranteeState.NOT_COVERED
    assert karim_view.status.not_covered_reasons == (
        f"qualified on {karim.qualified_on.isoformat()}, after the time limit of 12 months"
        f" from the start of studies ({started.isoformat()}; last day"
        f" {(started + relativedelta(months=12)).isoformat()})",
    )
    assert lucy_view.status.state is GuaranteeState.NOT_COVERED
    assert lucy_view.status.not_covered_reasons == (
        "not authorised to work in the search country (US)",
    )
    claimed = set(session.scalars(select(RefundClaim.graduation_id)))
    assert chloe.id in claimed
    assert not {karim.id, lucy.id} & claimed
