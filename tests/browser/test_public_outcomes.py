"""The public outcomes page in Chromium, signed out, on a phone and on a desktop screen."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.reports.test_public_outcomes import PERIOD, seed_cohort

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_public_outcomes_page_fits_a_phone_and_names_nobody(live_server, open_window):
    check_public_page(
        live_server, open_window, "phone", dict(viewport=PHONE, is_mobile=True, has_touch=True)
    )


def test_public_outcomes_page_fits_a_desktop_screen_and_names_nobody(live_server, open_window):
    check_public_page(live_server, open_window, "desktop", dict(viewport=DESKTOP))


def check_public_page(live_server, open_window, screen, options):
    """Seed the cohort, open the page signed out, screenshot it, and check it fits."""
    with live_server.seeding():
        seed_cohort()
    window = open_window(**options)
    page = window.page

    response = window.visit(f"/outcomes?period={PERIOD}", f"public-outcomes-{screen}")

    assert response.status == 200
    expect(page.get_by_role("heading", name=f"Graduate outcomes, {PERIOD}")).to_be_visible()
    expect(page.get_by_role("region", name="Data science")).to_contain_text("Enrolled")
    expect(page.get_by_role("region", name="All programmes")).to_be_visible()
    expect(page.get_by_text("not shown*").first).to_be_visible()
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert inner_width == options["viewport"]["width"]
    assert scroll_width <= inner_width, f"/outcomes is {scroll_width}px wide on {inner_width}px"
    assert "Student " not in page.content()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
