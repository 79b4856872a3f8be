"""The demo school in Chromium, as a newcomer running ``make run`` meets it: a graduate falling
behind and warned, a paused window extended, the outcomes report with its chart and drill-down,
and the finance forecast."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from app.demo import load_demo_accounts, load_demo_school
from app.guarantee.cirr import OUTCOME_DAYS, HalfYear
from app.models import Enrollment, Graduation, Student
from app.models.base import utc_now
from app.pages.formatting import day
from app.services.claim_review import review_flagged_claims
from app.services.guarantee import evaluate_guarantee
from app.services.reminders import send_reminders
from refunds.sweep import sweep


def test_newcomer_sees_amina_warned_ines_paused_the_outcomes_report_and_the_forecast(
    live_server, open_window, mail_server
):
    today = utc_now().date()
    app = live_server.app
    with live_server.seeding() as session:
        load_demo_school(session, today)
        printed = {account.email: account for account in load_demo_accounts(session)}
    passwords = {email: account.password for email, account in printed.items()}
    # What the scheduler does at start-up: the sweep, its review, then the reminders.
    with app.app_context(), live_server.sessionmaker() as session:
        sweep(session, today)
        review_flagged_claims(session, today)
        session.commit()
        send_reminders(live_server.sessionmaker, app.config["SETTINGS"], today, utc_now())
        ines = session.scalars(
            select(Graduation)
            .join(Enrollment)
            .join(Student)
            .where(Student.email == "ines.moreau@example.org")
        ).one()
        ines_view = evaluate_guarantee(session, ines.id, today)
        ines_enrollment = ines.enrollment_id

    # Amina: behind on applications, warned on her page and by email.
    amina = open_window()
    amina.sign_in(
        "amina.diallo@example.org", "amina-signed-in", passwords["amina.diallo@example.org"]
    )
    page = amina.page
    expect(page.get_by_text("You are behind.")).to_be_visible()
    expect(page.get_by_text("2 of 5 applications").first).to_be_visible()
    expect(page.get_by_text("Your deadline moved from")).to_contain_text("14 paused days")
    page.get_by_role("link", name="Messages sent to you").click()
    expect(page.get_by_text("You are behind on your job search").first).to_be_visible()
    amina.shot("amina-messages")
    assert any(m["To"] == "amina.diallo@example.org" for m in mail_server.messages)

    # The registrar: Inès's parental leave moved her deadline by sixty days.
    registrar = open_window()
    registrar.sign_in(
        "registrar@school.example", "registrar-signed-in", passwords["registrar@school.example"]
    )
    registrar.visit(f"/registrar/enrollments/{ines_enrollment}", "ines-enrollment")
    expect(registrar.page.get_by_text("60 paused days")).to_contain_text(
        f"moved from {day(ines_view.deadline_without_pauses)}"
    )

    # Finance: the outcomes report, its chart, a figure's graduates, and the forecast.
    finance = open_window()
    ada = printed["ada.finance@school.example"]
    finance.sign_in(ada.email, "finance-signed-in", ada.password, totp_secret=ada.totp_secret)
    page = finance.page
    page.get_by_role("link", name="Outcomes").click()
    period = HalfYear.containing(today - timedelta(days=OUTCOME_DAYS)).previous()
    expect(page.get_by_role("heading", name=f"Graduate outcomes, {period}")).to_be_visible()
    expect(page.locator("svg[role=img]").first).to_be_visible()
    finance.shot("outcomes-report")
    page.locator("a[href*='figure=1A']").first.click()
    expect(page).to_have_url(re.compile(r"/reports/outcomes/graduates\?"))
    expect(page.get_by_role("row").filter(has_text="Ivy Chen")).to_be_visible()
    finance.shot("outcomes-drill-down")
    page.get_by_role("link", name="Forecast").click()
    expect(page.locator("svg").first).to_be_visible()
    finance.shot("forecast")
