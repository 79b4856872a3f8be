"""Every page fits a phone: on the demo school, each role's pages (found by following links
from its home, as the crawl test does) are opened at 390 and 1280 px wide, screenshotted into
``tests/artifacts/<who>-<page>-<width>.png``, and at 390 px the page itself never scrolls
sideways (``document.documentElement.scrollWidth <= 390``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.demo import DemoAccount, load_demo_accounts, load_demo_school
from app.guarantee.terms import OutcomeStatus
from app.models import HireConfirmation, JobOutcome
from app.models.base import utc_now
from app.services.claim_review import review_flagged_claims
from app.services.confirmations import link_token, request_confirmation
from refunds.sweep import sweep
from tests.browser.conftest import ARTIFACTS
from tests.crawl import crawl
from tests.signing_in import sign_in_demo

PHONE, DESKTOP = 390, 1280

#: Whose pages are opened: each demo account's role, by the email it signs in with.
ROLES = {
    "graduate": "amina.diallo@example.org",
    "employer": "hr@acme.example",
    "finance": "ada.finance@school.example",
    "registrar": "registrar@school.example",
    "admin": "admin@school.example",
}


def _demo_school(live_server) -> tuple[dict[str, DemoAccount], str]:
    """The demo school after the start-up sweep: each demo account by its email, and the link
    an employer is emailed to confirm a hire."""
    today = utc_now().date()
    with live_server.seeding() as session:
        load_demo_school(session, today)
        accounts = {account.email: account for account in load_demo_accounts(session)}
    with live_server.app.app_context(), live_server.sessionmaker() as session:
        sweep(session, today)
        review_flagged_claims(session, today)
        pending = session.scalars(
            select(HireConfirmation.id).where(HireConfirmation.answered_at.is_(None))
        ).first()
        if pending is None:
            outcome = session.scalars(
                select(JobOutcome).where(
                    JobOutcome.status == OutcomeStatus.REPORTED,
                    JobOutcome.employer_id.is_not(None),
                )
            ).first()
            pending = request_confirmation(session, outcome).id
        session.commit()
    with live_server.app.test_request_context():
        return accounts, f"/confirm/{link_token(pending)}"


def _pages(app, account: DemoAccount | None, start: list[str]) -> list[str]:
    """One address of each HTML page ``account`` reaches from ``start`` (the crawl's)."""
    client = app.test_client()
    if account:
        assert sign_in_demo(client, account).status_code == 302
    pages, endpoints = [], set()
    for visit in crawl(client, start):
        html = visit.status == 200 and visit.content_type == "text/html"
        if html and visit.endpoint not in endpoints:
            endpoints.add(visit.endpoint)
            pages.append(visit.url)
    return pages


def _name(who: str, url: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{who} {url}".lower()).strip("-")[:120]


#: What the sign-in form says, in each language the pages are read in.
SIGN_IN_WORDS = {
    "en-GB": ("Email", "Password", "Sign in", "Sign out", "Code from your app, or a recovery code"),
    "fr-FR": (
        "Adresse e-mail",
        "Mot de passe",
        "Se connecter",
        "Se déconnecter",
        "Code de votre application, ou code de secours",
    ),
}


def _sign_in(page, account: DemoAccount, language: str) -> None:
    """Sign in through the form, and for finance and admins with their authenticator's code
    (the next step's: the crawl's own sign-in used this step's)."""
    email, password, sign_in, sign_out, code_label = SIGN_IN_WORDS[language]
    page.goto("/sign-in")
    page.get_by_label(email).fill(account.email)
    page.get_by_label(password).fill(account.password)
    page.get_by_role("button", name=sign_in).click()
    signed_in = page.get_by_role("button", name=sign_out)
    if account.totp_secret:
        totp = pyotp.TOTP(account.totp_secret)
        code = totp.generate_otp(totp.timecode(datetime.now(UTC)) + 1)
        page.get_by_label(code_label).fill(code)
        page.get_by_role("button", name=sign_in).click()
    expect(signed_in).to_be_visible()


@pytest.mark.parametrize("language", ["en-GB", "fr-FR"])
@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_every_page_of_every_role_fits_the_screen_without_sideways_scrolling(
    live_server, browser, width, language
):
    """In each language: French words are longer, and a long option widens its form."""
    accounts, link = _demo_school(live_server)
    people = {role: (accounts[email], ["/"]) for role, email in ROLES.items()}
    people["employer's link"] = (None, [link])
    people["anonymous"] = (None, ["/", "/outcomes", "/sign-in"])
    widths, too_wide = [], []
    for who, (account, start) in people.items():
        urls = _pages(live_server.app, account, start)
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": 900}, locale=language
        )
        try:
            page = context.new_page()
            if account:
                _sign_in(page, account, language)
            for url in urls:
                response = page.goto(url)
                assert response is not None and response.ok, f"{who}: {url} did not open"
                scroll_width = page.evaluate("document.documentElement.scrollWidth")
                height = page.evaluate("document.documentElement.scrollHeight")
                widths.append(f"{width}\t{scroll_width}\t{height}\t{who}\t{url}")
                page.screenshot(
                    path=ARTIFACTS / f"{language}-{_name(who, url)}-{width}.png", full_page=True
                )
                if scroll_width > width:
                    too_wide.append(f"{who}: {url} is {scroll_width} px wide")
        finally:
            context.close()
    (ARTIFACTS / f"widths-{language}-{width}.tsv").write_text("\n".join(widths) + "\n")

    assert len(widths) > 30, "the crawl found too few pages to check"
    if width == PHONE:
        assert not too_wide, "\n".join(too_wide)
