"""Finance's liability forecast page and its CSV."""

from __future__ import annotations

from datetime import date

import pytest

from app.models import Role
from refunds.states import ClaimState
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    ProgrammeFactory,
    RefundClaimFactory,
    TuitionPaymentFactory,
    UserFactory,
)

AS_OF = "2026-03-10"


@pytest.fixture
def graduates(session):
    """Windows closing in April 2026 (€5,000.00) and June 2026 (£2,500.50), and a claim."""
    for currency, qualified_on, amount in (
        ("EUR", date(2025, 10, 20), 500_000),
        ("GBP", date(2025, 12, 1), 250_050),
    ):
        policy = GuaranteePolicyFactory(programme=ProgrammeFactory(currency=currency))
        enrollment = EnrollmentFactory(policy=policy)
        TuitionPaymentFactory(enrollment=enrollment, amount_minor=amount)
        GraduationFactory(enrollment=enrollment, qualified_on=qualified_on)
    RefundClaimFactory(state=ClaimState.FAILED, amount_minor=123_400)


def test_forecast_page_shows_formatted_amounts_and_an_svg_chart_per_currency(
    client, sign_in, graduates
):
    sign_in(UserFactory(role=Role.FINANCE))

    response = client.get(f"/finance/forecast?as_of={AS_OF}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "€5,000.00" in page
    assert "£2,500.50" in page
    assert page.count("<svg") == 2
    assert '<title id="chart-eur-title">Refunds forecast in EUR' in page
    assert "<title>April 2026: €5,000.00, 1 graduate</title>" in page
    assert ">Jun 2026</text>" in page
    assert "€1,234.00" in page  # the failed claim
    assert "<script" not in page
    assert 'href="/finance/forecast"' in page  # the menu entry


def test_forecast_page_with_a_bad_date_shows_today_and_says_why(client, sign_in):
    sign_in(UserFactory(role=Role.FINANCE))

    response = client.get("/finance/forecast?as_of=soon")

    assert response.status_code == 400
    assert "is not a date" in response.get_data(as_text=True)


def test_forecast_csv_has_one_row_per_month_and_currency(client, sign_in, graduates):
    sign_in(UserFactory(role=Role.FINANCE))

    response = client.get(f"/finance/forecast.csv?as_of={AS_OF}")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="liability-forecast-2026-03-10.csv"'
    )
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel then reads it as UTF-8
    lines = text.removeprefix("\ufeff").splitlines()
    assert lines[0] == "month,currency,graduates,amount_minor,amount"
    assert len(lines) == 1 + 12 * 2
    assert lines[1:5] == [
        "2026-03,EUR,0,0,0.00",
        "2026-03,GBP,0,0,0.00",
        "2026-04,EUR,1,500000,5000.00",
        "2026-04,GBP,0,0,0.00",
    ]
    assert "2026-06,GBP,1,250050,2500.50" in lines


def test_forecast_csv_with_a_bad_date_is_refused(client, sign_in):
    sign_in(UserFactory(role=Role.FINANCE))

    assert client.get("/finance/forecast.csv?as_of=2026-13-01").status_code == 400


@pytest.mark.parametrize("path", ["/finance/forecast", "/finance/forecast.csv"])
def test_forecast_is_refused_to_a_registrar(client, sign_in, path):
    sign_in(UserFactory(role=Role.REGISTRAR))

    assert client.get(path).status_code == 403


def test_forecast_page_reads_in_french_for_a_french_reader(client, sign_in, graduates):
    sign_in(UserFactory(role=Role.FINANCE, locale="fr_FR"))

    page = client.get(f"/finance/forecast?as_of={AS_OF}").get_data(as_text=True)

    assert "<h1>Prévision de provision</h1>" in page
    assert "Au 10 mars 2026\u00a0: les diplômés qui ont souscrit la garantie" in page
    assert "Périodes de garantie se terminant, par mois" in page
    assert "<title>avril 2026\u00a0: 5\u202f000,00\u00a0€, 1 diplômé</title>" in page
    assert ">juin 2026</th>" in page
    assert "Demandes ouvertes" in page
    assert "Liability forecast" not in page and "April 2026" not in page
