"""A graduate attaches their contract to a reported job from /me, on a phone."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect

from app.models.base import utc_now
from app.pages.formatting import day
from tests.browser.test_journeys import PHONE, seed_graduate
from tests.documents.conftest import PDF
from tests.factories import EmployerFactory, JobOutcomeFactory


def test_graduate_attaches_a_contract_to_their_job_from_a_phone(live_server, open_window):
    today = utc_now().date()
    with live_server.seeding():
        graduate, graduation = seed_graduate(
            "Oluwaseun Adebayo-Richardson", "Applied Artificial Intelligence", today
        )
        JobOutcomeFactory(
            graduation=graduation,
            employer=EmployerFactory(name="Internationale Datenverarbeitungsgesellschaft"),
            title="Senior machine learning infrastructure engineer",
            start_date=today + timedelta(days=5),
        )
    window = open_window(viewport=PHONE, is_mobile=True, has_touch=True)
    page = window.page
    window.sign_in(graduate.email, "signed-in-on-a-phone")
    documents = page.get_by_role("region", name="Your documents")
    expect(documents).to_contain_text("No documents yet.")

    documents.get_by_text("Attach a document").click()
    documents.get_by_label("What it is evidence of").select_option(
        label="Job: Senior machine learning infrastructure engineer"
        f" (Internationale Datenverarbeitungsgesellschaft), from {day(today + timedelta(days=5))}"
    )
    documents.get_by_label(re.compile("^File")).set_input_files(
        {"name": "Employment contract.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    window.shot("attach-form-filled")
    documents.get_by_role("button", name="Attach").click()

    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_text("Employment-contract.pdf is attached.")).to_be_visible()
    row = documents.get_by_role("row").filter(has_text="Employment-contract.pdf")
    expect(row).to_contain_text("Senior machine learning infrastructure engineer")
    expect(row).to_contain_text("graduate")
    window.shot("contract-attached")
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], f"/me is {scroll_width}px wide on a 390px phone"
    with page.expect_download() as download:
        row.get_by_role("link", name="Employment-contract.pdf").click()
    assert download.value.suggested_filename == "Employment-contract.pdf"
    assert Path(download.value.path()).read_bytes() == PDF
