"""Whole journeys through the real pages in Chromium: a graduate, an employer, two finance users.

Each test seeds a database of its own, drives the live server as people would (typing into
labelled fields, clicking named buttons), and leaves a screenshot of every page it saw in
``tests/artifacts/<test name>/``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from playwright.sync_api import expect
from sqlalchemy import select

from app.guarantee.rules import guarantee_deadline
from app.models import AuditEvent, Graduation, Role
from app.models.base import utc_now
from app.pages.formatting import day, money
from refunds.executor import execute_refunds
from refunds.models import Refund, RefundClaim
from refunds.states import ClaimState, RefundState
from refunds.stripe_gateway import StripeGateway
from refunds.sweep import sweep
from tests.browser.conftest import Window
from tests.factories import (
    AuditedRefundClaimFactory,
    EmployerFactory,
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    ProgrammeFactory,
    StudentFactory,
    TuitionPaymentFactory,
    UserFactory,
)
from tests.stripe_harness import paid_payment_intent

PHONE = {"width": 390, "height": 844}
_LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Graduate:
    """A seeded graduate with an account, as plain values (the seeding session is closed)."""

    email: str
    name: str
    programme: str
    graduation_id: int
    deadline: date


def seed_graduate(name: str, programme: str, qualified_on: date) -> tuple[Graduate, Graduation]:
    """A graduate of ``programme`` who qualified on ``qualified_on``, with an account."""
    policy = GuaranteePolicyFactory(programme=ProgrammeFactory(name=programme))
    enrollment = EnrollmentFactory(policy=policy, student=StudentFactory(name=name))
    graduation = GraduationFactory(enrollment=enrollment, qualified_on=qualified_on)
    user = UserFactory(role=Role.GRADUATE, student=enrollment.student, name=name)
    deadline = guarantee_deadline(qualified_on, policy.window_months, policy.window_starts)
    return Graduate(user.email, name, programme, graduation.id, deadline), graduation


def wait_for_mail(mail_server, count: int = 1, within: float = 5.0) -> list:
    """The messages the SMTP server received, once there are ``count`` of them."""
    deadline = time.monotonic() + within
    while len(mail_server.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    messages = mail_server.messages
    assert len(messages) == count, f"expected {count} messages, got {len(messages)}"
    return messages


def report_job(
    window: Window,
    *,
    title: str,
    start_date: date,
    listed_employer: str | None = None,
    new_employer: tuple[str, str] | None = None,
) -> None:
    """Report a permanent job from /me: at an employer from the list, or a new (name, email)."""
    page = window.page
    page.get_by_role("link", name="Report a job or an offer").click()
    expect(page.get_by_role("heading", name="Report a job or an offer")).to_be_visible()
    window.shot("report-form")
    if listed_employer is not None:
        page.get_by_label("Your employer").select_option(label=listed_employer)
    else:
        name, email = new_employer
        page.get_by_label("New employer's name").fill(name)
        page.get_by_label("Hiring contact's email").fill(email)
    page.get_by_label("Job title").fill(title)
    page.get_by_label("Type of contract").select_option(label="Full time permanent")
    page.get_by_role("group", name="Is the job in the field you studied?").get_by_label(
        "Yes"
    ).check()
    page.get_by_label("First day of work").fill(start_date.isoformat())
    page.get_by_label("Annual salary before tax").fill("42000")
    window.shot("report-form-filled")
    page.get_by_role("button", name="Report this job").click()
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_text("Your job is recorded. We have emailed")).to_be_visible()
    window.shot("job-reported")


def test_graduate_signs_in_sees_their_deadline_and_status_and_reports_a_job_that_is_listed(
    live_server, open_window, mail_server
):
    today = utc_now().date()
    with live_server.seeding():
        graduate, _ = seed_graduate("Ada Okafor", "Data Science", today - timedelta(days=10))
    window = open_window()
    page = window.page

    window.sign_in(graduate.email, "signed-in")

    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_role("heading", name="My job guarantee")).to_be_visible()
    guarantee = page.get_by_role("region", name=graduate.programme)
    expect(guarantee).to_contain_text("searching")
    expect(guarantee).to_contain_text(day(graduate.deadline))
    expect(guarantee).to_contain_text(f"{(graduate.deadline - today).days} days")
    expect(guarantee).to_contain_text("None yet. Report every job or offer you accept.")

    start = today + timedelta(days=14)
    report_job(
        window,
        new_employer=("Acme Analytics", "hiring@acme.example"),
        title="Data scientist",
        start_date=start,
    )

    job = guarantee.get_by_role("row").filter(has_text="Data scientist")
    expect(job).to_contain_text("Acme Analytics")
    expect(job).to_contain_text(day(start))
    expect(job).to_contain_text("qualifies")
    expect(job).to_contain_text("waiting for the employer")
    expect(guarantee).to_contain_text("placed")
    expect(guarantee).to_contain_text("You have a qualifying job, so the guarantee is fulfilled.")
    [message] = wait_for_mail(mail_server)
    assert message["To"] == "hiring@acme.example"


def test_employer_confirms_by_emailed_link_with_corrected_start_date_and_graduate_sees_it(
    live_server, open_window, mail_server
):
    today = utc_now().date()
    with live_server.seeding():
        graduate, graduation = seed_graduate(
            "Bola Mensah", "Cloud Engineering", today - timedelta(days=20)
        )
        northwind = EmployerFactory(name="Northwind Labs", contact_email="people@northwind.example")
        # A graduate chooses from the employers of their own earlier jobs: an out-of-field one.
        JobOutcomeFactory(
            graduation=graduation,
            employer=northwind,
            title="Support technician",
            in_field=False,
            start_date=today - timedelta(days=15),
        )
    reported_start, corrected_start = today + timedelta(days=10), today + timedelta(days=24)
    graduate_window = open_window()
    graduate_window.sign_in(graduate.email, "graduate-signed-in")
    report_job(
        graduate_window,
        listed_employer="Northwind Labs",
        title="Platform engineer",
        start_date=reported_start,
    )
    graduate_window.sign_out("graduate-signed-out")

    [message] = wait_for_mail(mail_server)
    assert message["To"] == "people@northwind.example"
    [link] = _LINK.findall(message.get_body(preferencelist=("plain",)).get_content())
    assert link.startswith(f"{live_server.url}/confirm/")

    employer_window = open_window()  # the employer's own browser: no account, no session
    employer = employer_window.page
    response = employer_window.visit(link, "employer-opens-link")
    assert response.status == 200
    expect(employer.get_by_role("heading", name="Did you hire Bola Mensah?")).to_be_visible()
    expect(employer.get_by_text("Platform engineer")).to_be_visible()
    expect(employer.get_by_text(day(reported_start))).to_be_visible()
    employer.get_by_label("Yes, we hired them").check()
    employer.get_by_label("Correct first day of work").fill(corrected_start.isoformat())
    employer_window.shot("employer-answer-filled")
    employer.get_by_role("button", name="Send answer").click()
    expect(employer.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(employer.get_by_text("Your confirmation of the hire is recorded.")).to_be_visible()
    employer_window.shot("employer-thanked")
    used_again = employer_window.visit(link, "employer-link-used-again")
    assert used_again.status == 410
    expect(employer.get_by_text("This link was used already")).to_be_visible()

    graduate_window.sign_in(graduate.email, "graduate-signed-in-again")
    job = graduate_window.page.get_by_role("row").filter(has_text="Platform engineer")
    expect(job).to_contain_text("confirmed")
    expect(job).to_contain_text(f"Start date corrected to {day(corrected_start)}.")
    expect(job.get_by_role("cell", name=day(corrected_start), exact=True)).to_be_visible()
    expect(job).not_to_contain_text(day(reported_start))


def test_two_finance_users_approve_a_large_claim_and_see_it_refunded_once_per_payment(
    live_server, open_window, localstripe_url, localstripe_client, stripe_client_factory
):
    today = utc_now().date()
    amounts = (150_000, 90_000)
    with live_server.seeding() as session:
        graduate, graduation = seed_graduate(
            "Chen Wei", "Product Design", today - relativedelta(months=7)
        )
        intents = []
        for amount in amounts:
            intents.append(paid_payment_intent(localstripe_client, amount, "eur"))
            TuitionPaymentFactory(
                enrollment=graduation.enrollment,
                amount_minor=amount,
                stripe_payment_intent_id=intents[-1],
            )
        first = UserFactory(role=Role.FINANCE, name="Farah Haddad", email="farah@school.example")
        second = UserFactory(role=Role.FINANCE, name="Goran Petrov", email="goran@school.example")
        finance_emails = first.email, second.email
        assert sweep(session, today).flagged == 1
    with live_server.sessionmaker() as session:
        claim_id = session.scalar(
            select(RefundClaim.id).where(RefundClaim.graduation_id == graduate.graduation_id)
        )
    total = money(sum(amounts), "EUR")
    window = open_window()
    page = window.page
    heading = page.get_by_role("heading", level=1)

    window.sign_in(finance_emails[0], "first-approver-signed-in")
    expect(page).to_have_url(re.compile(r"/finance$"))
    page.get_by_role("link", name=f"Open the claim of {graduate.name}").click()
    expect(heading).to_contain_text(f"Claim of {graduate.name}")
    expect(heading).to_contain_text("flagged")
    expect(page.get_by_role("region", name="Summary")).to_contain_text(total)
    window.shot("claim-opened")
    approve = page.get_by_role("form", name="Approve")
    approve.get_by_label(re.compile(r"^Internal note")).fill("Window closed, no qualifying job.")
    page.get_by_role("button", name="Approve the refund").click()
    expect(page.get_by_text("Your approval is recorded.")).to_be_visible()
    expect(heading).to_contain_text("awaiting second approval")
    expect(page.get_by_role("button", name="Approve the refund")).to_have_count(0)
    window.shot("first-approval-recorded")
    window.sign_out("first-approver-signed-out")

    window.sign_in(finance_emails[1], "second-approver-signed-in")
    page.get_by_role("link", name=f"Open the claim of {graduate.name}").click()
    expect(heading).to_contain_text("awaiting second approval")
    window.shot("claim-awaiting-second-approval")
    page.get_by_role("button", name="Approve the refund").click()
    expect(page.get_by_text("Approved. The refunds are written")).to_be_visible()
    expect(heading).to_contain_text("approved")
    expect(heading).not_to_contain_text("awaiting")
    window.shot("second-approval-recorded")

    gateway = StripeGateway(stripe_client_factory(localstripe_url))
    result = execute_refunds(live_server.sessionmaker, gateway)
    assert (result.sent, result.errors) == (len(amounts), [])

    window.visit(f"/finance/claims/{claim_id}", "claim-refunded")
    expect(heading).to_contain_text("refunded")
    refunds = page.get_by_role("table", name="Refunds at the payment provider")
    expect(refunds.get_by_role("row").filter(has_text="succeeded")).to_have_count(len(amounts))
    for intent, amount in zip(intents, amounts, strict=True):
        at_provider = list(
            localstripe_client.v1.refunds.list(params={"payment_intent": intent}).auto_paging_iter()
        )
        assert [(r.amount, r.status) for r in at_provider] == [(amount, "succeeded")]
        expect(refunds.get_by_role("row").filter(has_text=intent)).to_contain_text(
            at_provider[0].id
        )
    with live_server.sessionmaker() as session:
        assert session.get(RefundClaim, claim_id).state is ClaimState.REFUNDED
        states = session.scalars(select(Refund.state).where(Refund.claim_id == claim_id))
        assert set(states) == {RefundState.SUCCEEDED}


def test_graduate_opening_another_graduates_guarantee_or_claim_is_refused_and_sees_nothing_of_it(
    live_server, open_window
):
    today = utc_now().date()
    with live_server.seeding():
        owner, owner_graduation = seed_graduate(
            "Dana Ivers", "Cyber Security", today - relativedelta(months=7)
        )
        owner_claim_id = AuditedRefundClaimFactory(graduation=owner_graduation).id
        intruder, _ = seed_graduate("Emil Novak", "Web Development", today - timedelta(days=30))
    owner_details = (owner.name, owner.email, owner.programme, day(owner.deadline))
    window = open_window()
    page = window.page
    window.sign_in(intruder.email, "intruder-signed-in")
    expect(page.get_by_role("region", name=intruder.programme)).to_be_visible()

    api = window.visit(
        f"/api/v1/graduations/{owner.graduation_id}/guarantee", "owners-guarantee-refused"
    )
    assert api.status == 403
    assert api.json() == {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "you may not do this",
        "instance": f"/api/v1/graduations/{owner.graduation_id}/guarantee",
        "code": 403,
    }
    shown = [page.content()]

    claim_page = window.visit(f"/finance/claims/{owner_claim_id}", "owners-claim-refused")
    assert claim_page.status == 403
    expect(page.get_by_role("heading", name="You can't see this page")).to_be_visible()
    shown.append(page.content())
    for content in shown:
        assert [detail for detail in owner_details if detail in content] == []

    with live_server.sessionmaker() as session:
        refused = session.scalars(
            select(AuditEvent.target).where(
                AuditEvent.action == "access.refused",
                AuditEvent.actor == f"graduate:{intruder.email}",
            )
        ).all()
    assert sorted(refused) == sorted(
        [f"graduation:{owner.graduation_id}", f"/finance/claims/{owner_claim_id}"]
    )


def test_graduate_page_fits_a_phone_without_horizontal_scrolling(live_server, open_window):
    today = utc_now().date()
    with live_server.seeding():
        graduate, graduation = seed_graduate(
            "Fatima Al-Sayed", "Machine Learning Operations", today - timedelta(days=40)
        )
        JobOutcomeFactory(
            graduation=graduation,
            employer=EmployerFactory(name="Internationale Datenverarbeitungsgesellschaft"),
            title="Senior machine learning infrastructure engineer",
            start_date=today + timedelta(days=5),
            annual_salary_minor=5_400_000,
            salary_currency="EUR",
        )
    window = open_window(viewport=PHONE, is_mobile=True, has_touch=True)
    page = window.page

    window.sign_in(graduate.email, "signed-in-on-a-phone")

    expect(page.get_by_role("region", name=graduate.programme)).to_contain_text(
        "Senior machine learning infrastructure engineer"
    )
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert inner_width == PHONE["width"]
    assert scroll_width <= inner_width, f"/me is {scroll_width}px wide on a {inner_width}px phone"
