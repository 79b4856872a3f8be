"""A form sent after the idle timeout, in Chromium: the person is told it was not saved, signs
in again, and is back on the page of the form, filled in with what they had typed."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import update

from app.models import Role, UserSession
from app.models.base import utc_now
from tests.factories import TEST_PASSWORD, UserFactory


def test_a_form_sent_after_the_idle_timeout_is_back_on_its_page_filled_in_after_signing_in(
    live_server, open_window
):
    with live_server.seeding():
        registrar = UserFactory(role=Role.REGISTRAR)
    window = open_window()
    window.sign_in(registrar.email, "signed-in")
    page = window.page
    window.visit("/registrar/programmes", "programmes")
    page.get_by_label("Name").fill("Data Engineering")
    page.get_by_label("Currency").fill("EUR")
    with live_server.sessionmaker() as session:
        session.execute(update(UserSession).values(last_seen_at=utc_now() - timedelta(minutes=31)))
        session.commit()

    page.get_by_role("button", name="Record the programme").click()
    expect(page.get_by_text("Your session ended after 30 minutes without activity")).to_be_visible()
    window.shot("told-not-saved")
    # Signing in on the page it was sent to, whose ``next`` leads back to the form.
    page.get_by_label("Email").fill(registrar.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/registrar/programmes")
    expect(page.get_by_text("Not saved yet")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Data Engineering")
    expect(page.get_by_label("Currency")).to_have_value("EUR")
    window.shot("filled-in-again")
