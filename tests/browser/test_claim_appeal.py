"""A rejected graduate, in Chromium: finance rejects with a note for the graduate and an
internal one; on a phone (390 px) and a desktop (1280 px) the graduate reads the note meant for
them, never the internal one, and appeals from ``/me``; each step reaches them by email.
Screenshots of every page land in ``tests/artifacts/<test name>/``."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from app.models import Role
from tests.browser.test_journeys import PHONE, seed_graduate, wait_for_mail
from tests.factories import AuditedRefundClaimFactory, TuitionPaymentFactory, UserFactory

DESKTOP = {"width": 1280, "height": 900}
INTERNAL = "Employer said off the record that she turned up late to the interview"
FOR_GRADUATE = "Your log shows no applications in the last four weeks of your window."
APPEAL = "I was in hospital for three of those weeks; the letter from my doctor is attached."


def no_sideways_scroll(page, width: int) -> None:
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide at {width}px"


def test_a_rejected_graduate_reads_the_note_for_them_and_appeals_from_me(
    live_server, open_window, mail_server
):
    with live_server.seeding():
        graduate, graduation = seed_graduate(
            "Chiara Esposito", "Cloud Engineering", date(2025, 8, 31)
        )
        claim = AuditedRefundClaimFactory(
            graduation=graduation, enrollment=graduation.enrollment, amount_minor=90_000
        )
        TuitionPaymentFactory(enrollment=graduation.enrollment, amount_minor=90_000)
        finance = UserFactory(role=Role.FINANCE, name="Ada Lovelace")
        claim_id, finance_email = claim.id, finance.email

    # Finance rejects, at desktop width, writing one note for the graduate and one for staff.
    staff = open_window(viewport=DESKTOP)
    staff.sign_in(finance_email, "finance-signed-in")
    staff.visit(f"/finance/claims/{claim_id}", "claim")
    reject = staff.page.get_by_role("form", name="Reject")
    reject.get_by_label(re.compile(r"^Note for the graduate")).fill(FOR_GRADUATE)
    reject.get_by_label(re.compile(r"^Internal note")).fill(INTERNAL)
    staff.shot("reject-filled")
    reject.get_by_role("button", name="Reject the claim").click()
    expect(staff.page.get_by_text("Rejected. The graduate can appeal")).to_be_visible()
    staff.shot("rejected")
    [rejection] = wait_for_mail(mail_server, 1)
    assert rejection["Subject"] == "Your refund claim was rejected"

    # The graduate, on a phone: the note meant for them, never the internal note.
    phone = open_window(viewport=PHONE, is_mobile=True, has_touch=True)
    page = phone.page
    phone.sign_in(graduate.email, "graduate-signed-in-on-a-phone")
    expect(page.get_by_text(FOR_GRADUATE)).to_be_visible()
    expect(page.get_by_text(INTERNAL)).to_have_count(0)
    no_sideways_scroll(page, PHONE["width"])
    page.get_by_role("heading", name="Appeal the rejection").scroll_into_view_if_needed()
    phone.shot("rejection-and-appeal-form-390")

    # An empty appeal is refused, with the reason next to the field; a real one is sent.
    page.get_by_label("Why should the decision change?").fill("   ")
    page.get_by_role("button", name="Send my appeal").click()
    expect(page.get_by_text("Say why the decision should change.")).to_be_visible()
    phone.shot("empty-appeal-refused")
    page.get_by_label("Why should the decision change?").fill(APPEAL)
    page.get_by_role("button", name="Send my appeal").click()
    expect(page.get_by_text("Your appeal is sent.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Your appeal of .*: received"))).to_be_visible()
    expect(page.get_by_role("button", name="Send my appeal")).to_have_count(0)
    no_sideways_scroll(page, PHONE["width"])
    phone.shot("appeal-received-390")
    _, received = wait_for_mail(mail_server, 2)
    assert received["Subject"] == "We received your appeal"
    assert APPEAL in received.get_body(preferencelist=("plain",)).get_content()

    # The same page at desktop width.
    desktop = open_window(viewport=DESKTOP)
    desktop.sign_in(graduate.email, "graduate-signed-in-at-1280")
    expect(desktop.page.get_by_text(FOR_GRADUATE)).to_be_visible()
    expect(desktop.page.get_by_text(INTERNAL)).to_have_count(0)
    desktop.page.get_by_role("heading", name="Your refund claim").scroll_into_view_if_needed()
    desktop.shot("appeal-received-1280")

    # Finance sees the appeal, in the graduate's words, on the claim page.
    staff.visit(f"/finance/claims/{claim_id}", "claim-with-appeal")
    expect(staff.page.get_by_text(APPEAL)).to_be_visible()
