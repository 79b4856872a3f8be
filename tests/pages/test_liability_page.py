"""Finance's expected liability page, its CSV and the API: the same figures everywhere."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from app.models import Role
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    ProgrammeFactory,
    TuitionPaymentFactory,
    UserFactory,
)

AS_OF = "2026-03-10"


@pytest.fixture
def school(session):
    """A programme whose 2025 graduates half found a job on day 20 (recorded the same day), and
    two graduates in their window closing in April and June 2026 (EUR 5,000.00 each)."""
    policy = GuaranteePolicyFactory(programme=ProgrammeFactory(currency="EUR", name="Data Science"))
    for n in range(40):
        qualified_on = date(2025, 1, 6) + timedelta(days=n)
        graduation = GraduationFactory(
            enrollment=EnrollmentFactory(policy=policy), qualified_on=qualified_on
        )
        if n % 2:
            start = qualified_on + timedelta(days=20)
            JobOutcomeFactory(
                graduation=graduation,
                start_date=start,
                created_at=datetime(start.year, start.month, start.day, 12, tzinfo=UTC),
            )
    for qualified_on in (date(2025, 10, 20), date(2025, 12, 1)):
        enrollment = EnrollmentFactory(policy=policy)
        TuitionPaymentFactory(enrollment=enrollment, amount_minor=500_000)
        GraduationFactory(enrollment=enrollment, qualified_on=qualified_on)
    return policy


def test_expected_liability_page_shows_expected_interval_worst_case_and_curve(
    client, sign_in, school
):
    sign_in(UserFactory(role=Role.FINANCE))

    response = client.get(f"/finance/liability?as_of={AS_OF}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # Both graduates have searched past day 20, when every placement came: no one else is
    # expected to find a job, so the expected figure is the worst case.
    assert page.count("<svg") == 2  # the month chart and the programme's curve
    assert "April 2026: expected €5,000.00 (€5,000.00 to €5,000.00), worst case €5,000.00" in page
    assert "<strong>Data Science</strong>: 42 graduates, 20 placed" in page
    assert 'href="/finance/liability"' in page  # the menu entry
    assert "<script" not in page


def test_expected_liability_csv_and_api_give_the_same_figures(client, sign_in, school):
    sign_in(UserFactory(role=Role.FINANCE))

    text = client.get(f"/finance/liability.csv?as_of={AS_OF}").get_data().decode("utf-8-sig")
    api = client.get(f"/api/v1/liability?as_of={AS_OF}").get_json()

    rows = list(csv.DictReader(io.StringIO(text)))
    forecast = [row for row in rows if row["kind"] == "forecast"]
    assert [row["month"] for row in forecast][:4] == ["2026-03", "2026-04", "2026-05", "2026-06"]
    assert [(m["month"], m["expected_minor"]) for m in api["months"]] == [
        (row["month"], int(row["expected_minor"])) for row in forecast
    ]
    april = next(m for m in api["months"] if m["month"] == "2026-04")
    assert april == {
        "month": "2026-04",
        "currency": "EUR",
        "graduates": 1,
        "worst_case_minor": 500_000,
        "expected_minor": 500_000,
        "expected_lower_minor": 500_000,
        "expected_upper_minor": 500_000,
    }
    assert len(api["backtest"]) == len([row for row in rows if row["kind"] == "backtest"])
    [curve] = [c for c in api["curves"] if c["programme_id"] == school.programme_id]
    assert (curve["graduates"], curve["placed"], curve["median_days"]) == (42, 20, None)
    assert curve["days"] == [20]
    assert curve["still_searching"] == [pytest.approx(22 / 42)]


def test_expected_liability_with_a_bad_day_is_refused_with_the_reason(client, sign_in):
    sign_in(UserFactory(role=Role.FINANCE))

    page = client.get("/finance/liability?as_of=2026-02-30")
    assert page.status_code == 400
    assert "is not a date" in page.get_data(as_text=True)
    assert client.get("/finance/liability.csv?as_of=soon").status_code == 400
    api = client.get("/api/v1/liability?as_of=soon")
    assert api.status_code == 422
    assert "as_of" in api.get_json()["errors"]["query"]
    # Days whose horizon or backtest would leave the calendar.
    for day in ("0001-01-01", "9999-12-31"):
        assert client.get(f"/finance/liability?as_of={day}").status_code == 400
        assert client.get(f"/finance/liability.csv?as_of={day}").status_code == 400
        assert client.get(f"/api/v1/liability?as_of={day}").status_code == 422


def test_expected_liability_page_reads_in_french_for_a_french_reader(client, sign_in, school):
    sign_in(UserFactory(role=Role.FINANCE, locale="fr_FR"))

    page = client.get(f"/finance/liability?as_of={AS_OF}").get_data(as_text=True)

    assert "<h1>Provision attendue</h1>" in page
    assert "avec un intervalle à 95\u00a0%," in page
    five_thousand = "5\u202f000,00\u00a0€"
    assert (
        f"avril 2026\u00a0: attendu {five_thousand} (de {five_thousand} à {five_thousand}),"
        f" pire cas {five_thousand}"
    ) in page
    assert "<strong>Data Science</strong>\u00a0: 42 diplômés, 20 en emploi" in page
    assert "Courbes d’insertion" in page
    assert "<h1>Expected liability</h1>" not in page
