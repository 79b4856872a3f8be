"""People let themselves in, in Chromium: a graduate invited from a CSV import chooses a password
from the emailed link; a finance user sets up the second factor and signs in with it.

Every new page is screenshotted at 390 px (a phone) and 1280 px, and at 390 px the page must not
scroll sideways.
"""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import expect

from app.models import Role
from tests.browser.conftest import Window
from tests.factories import TEST_PASSWORD, UserFactory

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
_LINK = re.compile(r"https?://\S+")
NEW_PASSWORD = "copper-meadow-signal-77"


def both_widths(window: Window, step: str) -> None:
    """Screenshot the page at phone and desktop width; at the phone's it fits without scrolling
    sideways."""
    page = window.page
    page.set_viewport_size(PHONE)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide at {PHONE['width']}px"
    window.shot(f"{step}-390")
    page.set_viewport_size(DESKTOP)
    window.shot(f"{step}-1280")


def wait_for_mail_to(mail_server, address: str, within: float = 5.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for message in mail_server.messages:
            if message["To"] == address:
                return message
        time.sleep(0.05)
    raise AssertionError(f"no email to {address} within {within} s")


def test_a_graduate_invited_from_a_csv_import_sets_a_password_and_signs_in(
    live_server, open_window, mail_server, tmp_path
):
    with live_server.seeding():
        registrar = UserFactory(role=Role.REGISTRAR, name="Rita Registrar")
    csv = tmp_path / "students.csv"
    csv.write_text("name,email,country\nLéa Dubois,lea.dubois@example.org,FR\n")

    office = open_window(viewport=DESKTOP)
    office.sign_in(registrar.email, "registrar-signed-in")
    office.page.get_by_role("link", name="Import", exact=True).click()
    office.page.get_by_label("What the file holds").select_option("students")
    office.page.get_by_label("CSV file").set_input_files(str(csv))
    office.page.get_by_role("button", name="Check and import").click()
    invite = office.page.get_by_role("button", name="Invite 1 student")
    expect(invite).to_be_visible()
    both_widths(office, "import-written-invite")
    invite.click()
    expect(office.page.get_by_text("1 student invited; 1 email sent.")).to_be_visible()
    office.shot("students-invited")

    message = wait_for_mail_to(mail_server, "lea.dubois@example.org")
    body = message.get_body(preferencelist=("plain",)).get_content()
    [link] = _LINK.findall(body)
    assert link.startswith(live_server.url + "/set-password/")

    lea = open_window(viewport=PHONE, is_mobile=True, has_touch=True)
    lea.visit(link, "set-password")
    expect(lea.page.get_by_role("heading", name="Choose your password")).to_be_visible()
    both_widths(lea, "set-password")
    lea.page.set_viewport_size(PHONE)
    lea.page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    lea.page.get_by_label("The new password again").fill(NEW_PASSWORD)
    lea.page.get_by_role("button", name="Save my password").click()
    expect(lea.page.get_by_text("Your password is set.")).to_be_visible()
    expect(lea.page.get_by_label("Email")).to_have_value("lea.dubois@example.org")
    lea.shot("password-set")
    lea.page.get_by_label("Password").fill(NEW_PASSWORD)
    lea.page.get_by_role("button", name="Sign in").click()
    expect(lea.page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(lea.page.get_by_role("link", name="My guarantee")).to_be_visible()
    lea.shot("signed-in")

    # The link worked once: opened again, it says so in a page, not in JSON.
    again = lea.visit(link, "link-used")
    assert again.status == 410
    expect(lea.page.get_by_text("This link has been used already")).to_be_visible()
    both_widths(lea, "link-used")

    # Her own account page, and the forgot-password page, fit a phone too.
    lea.visit("/account", "account")
    expect(lea.page.get_by_role("heading", name="Your account")).to_be_visible()
    both_widths(lea, "account")
    lea.sign_out("signed-out")
    lea.page.get_by_role("link", name="Forgot your password?").click()
    expect(lea.page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    both_widths(lea, "forgot-password")


def test_a_finance_user_sets_up_the_second_factor_and_signs_in_with_it(live_server, open_window):
    with live_server.seeding():
        farah = UserFactory(
            role=Role.FINANCE,
            name="Farah Haddad",
            email="farah@school.example",
            totp_secret=None,
            totp_enabled_at=None,
        )

    window = open_window(viewport=DESKTOP)
    page = window.page
    window.visit("/sign-in", "sign-in-form")
    page.get_by_label("Email").fill(farah.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Before any page: set up the authenticator.
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    both_widths(window, "enrol")
    secret = page.get_by_label("Key (if you cannot scan)").input_value()
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn it on").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    assert page.locator("[data-recovery-codes] code").count() == 10
    both_widths(window, "recovery-codes")
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("link", name="Claims", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    window.shot("claims-queue")
    window.sign_out("signed-out")

    # The next sign-in asks for the code after the password.
    window.visit("/sign-in", "sign-in-again-form")
    page.get_by_label("Email").fill(farah.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your code")).to_be_visible()
    both_widths(window, "code")
    window.give_code(secret, "code")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("link", name="Claims", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    window.shot("signed-in-with-the-code")

    window.visit("/account", "account")
    expect(page.get_by_text("On: signing in takes a code")).to_be_visible()
    both_widths(window, "account")
