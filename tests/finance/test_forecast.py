"""The liability forecast: which graduates count in which month, and the open claims."""

from __future__ import annotations

from datetime import date

import pytest

from app.guarantee.terms import EmploymentType
from app.services.forecast import (
    CurrencyTotal,
    MonthRow,
    OpenClaimsRow,
    forecast_months,
    liability_forecast,
)
from app.services.guarantee import evaluate_guarantee
from refunds.states import ClaimState
from tests.factories import (
    EnrollmentFactory,
    ExcludedOutcomeFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    ProgrammeFactory,
    RefundClaimFactory,
    SearchPauseFactory,
    TuitionPaymentFactory,
)

S = ClaimState
AS_OF = date(2026, 3, 10)


def graduate(policy, qualified_on, payments, *, scholarship=0, opted_in=True):
    """A graduation under ``policy`` whose enrollment paid ``payments``."""
    enrollment = EnrollmentFactory(
        policy=policy, guarantee_opt_in=opted_in, scholarship_minor=scholarship
    )
    for amount in payments:
        TuitionPaymentFactory(enrollment=enrollment, amount_minor=amount)
    return GraduationFactory(enrollment=enrollment, qualified_on=qualified_on)


@pytest.fixture
def population(session):
    """Graduates in euros (six-month window) and pounds (twelve months, capped at £5,000)."""
    euros = GuaranteePolicyFactory(programme=ProgrammeFactory(currency="EUR"))
    pounds = GuaranteePolicyFactory(
        programme=ProgrammeFactory(currency="GBP"),
        window_months=12,
        refund_cap_minor=500_000,
        deduct_scholarships=False,
    )
    people = {
        # March 2026, three graduates: 500,000 (scholarship deducted) + 400,000 + 100,000.
        "march_scholarship": graduate(
            euros, date(2025, 9, 15), [300_000, 300_000], scholarship=100_000
        ),
        "march_late": graduate(euros, date(2025, 9, 30), [400_000]),
        # The window closes on the forecast day itself: still open, still counted.
        "march_closing_today": graduate(euros, date(2025, 9, 10), [100_000]),
        # May 2026: a job that does not qualify (out of field) leaves the graduate searching.
        "may_out_of_field": graduate(euros, date(2025, 11, 30), [600_000]),
        # Not counted: placed, not opted in, window already closed, an open claim already.
        "placed": graduate(euros, date(2025, 11, 15), [600_000]),
        "not_opted_in": graduate(euros, date(2025, 10, 1), [600_000], opted_in=False),
        "past_deadline": graduate(euros, date(2025, 9, 5), [600_000]),
        "claimed": graduate(euros, date(2025, 12, 1), [450_000]),
        # June 2026 in pounds: the scholarship is not deducted under this policy.
        "june_pounds": graduate(pounds, date(2025, 6, 20), [250_000], scholarship=50_000),
        # February 2027, the last month: 700,000 paid, capped at 500,000.
        "february_capped": graduate(
            pounds, date(2026, 2, 28), [400_000, 300_000], scholarship=50_000
        ),
        # Closes on 1 March 2027, one day past the horizon.
        "beyond_horizon": graduate(pounds, date(2026, 3, 1), [400_000]),
    }
    JobOutcomeFactory(
        graduation=people["may_out_of_field"], in_field=False, start_date=date(2026, 1, 5)
    )
    JobOutcomeFactory(
        graduation=people["placed"],
        employment_type=EmploymentType.FULL_TIME_PERMANENT,
        start_date=date(2026, 1, 5),
    )
    RefundClaimFactory(
        graduation=people["claimed"],
        enrollment=people["claimed"].enrollment,
        state=S.IN_REVIEW,
        amount_minor=450_000,
        deadline=date(2026, 6, 1),
    )
    return people


def claim(state, amount_minor, currency="EUR"):
    programme = ProgrammeFactory(currency=currency)
    enrollment = EnrollmentFactory(policy=GuaranteePolicyFactory(programme=programme))
    return RefundClaimFactory(
        graduation=GraduationFactory(enrollment=enrollment),
        state=state,
        amount_minor=amount_minor,
    )


def test_forecast_months_start_with_the_month_of_the_day_and_run_twelve():
    assert forecast_months(date(2026, 12, 31)) == [
        date(2026, 12, 1),
        *(date(2027, month, 1) for month in range(1, 12)),
    ]


def test_liability_forecast_counts_each_graduate_still_searching_in_the_month_their_window_closes(
    session, population
):
    forecast = liability_forecast(session, AS_OF)

    expected = {
        (date(2026, 3, 1), "EUR"): (3, 1_000_000),
        (date(2026, 5, 1), "EUR"): (1, 600_000),
        (date(2026, 6, 1), "GBP"): (1, 250_000),
        (date(2027, 2, 1), "GBP"): (1, 500_000),
    }
    assert forecast.months == forecast_months(AS_OF)
    assert forecast.currencies == ["EUR", "GBP"]
    assert forecast.rows == [
        MonthRow(month, currency, *expected.get((month, currency), (0, 0)))
        for month in forecast.months
        for currency in ("EUR", "GBP")
    ]
    assert forecast.totals() == [
        CurrencyTotal("EUR", 4, 1_600_000),
        CurrencyTotal("GBP", 2, 750_000),
    ]


def test_liability_forecast_amounts_are_the_guarantee_services_own(session, population):
    # Each counted graduate is in their window by evaluate_guarantee, for the same amount.
    for name, month, amount in (
        ("march_scholarship", date(2026, 3, 1), 500_000),
        ("may_out_of_field", date(2026, 5, 1), 600_000),
        ("february_capped", date(2027, 2, 1), 500_000),
    ):
        view = evaluate_guarantee(session, population[name].id, AS_OF)
        assert view.status.state == "in_window", name
        assert view.status.deadline.replace(day=1) == month, name
        assert view.refundable.amount_minor == amount, name
    placed = evaluate_guarantee(session, population["placed"].id, AS_OF)
    assert placed.status.state == "placed"


def test_liability_forecast_the_day_after_a_deadline_drops_that_graduate(session, population):
    forecast = liability_forecast(session, date(2026, 3, 11))

    march_euros = forecast.rows_in("EUR")[0]
    assert march_euros == MonthRow(date(2026, 3, 1), "EUR", 2, 900_000)


def test_liability_forecast_leaves_out_excluded_graduates(session, population):
    ExcludedOutcomeFactory(graduation=population["may_out_of_field"], occurred_on=date(2026, 2, 1))

    forecast = liability_forecast(session, AS_OF)

    may_euros = forecast.rows_in("EUR")[2]
    assert may_euros == MonthRow(date(2026, 5, 1), "EUR", 0, 0)
    assert forecast.totals()[0] == CurrencyTotal("EUR", 3, 1_000_000)


def test_liability_forecast_counts_a_paused_graduate_in_the_month_the_extended_window_closes(
    session,
):
    # 31 Jan + 6 months = 31 July; 20 paused days, of which the policy counts 14: 14 August.
    policy = GuaranteePolicyFactory(max_pause_days=14)
    paused = graduate(policy, date(2026, 1, 31), [300_000])
    SearchPauseFactory(graduation=paused, starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 20))
    # Closes on 10 March, the forecast day, without its pause; with it, on 20 March.
    still_open = graduate(policy, date(2025, 9, 10), [200_000])
    SearchPauseFactory(graduation=still_open, starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 10))

    forecast = liability_forecast(session, date(2026, 3, 11))

    assert [row for row in forecast.rows_in("EUR") if row.graduates] == [
        MonthRow(date(2026, 3, 1), "EUR", 1, 200_000),
        MonthRow(date(2026, 8, 1), "EUR", 1, 300_000),
    ]
    assert evaluate_guarantee(session, paused.id, AS_OF).status.deadline == date(2026, 8, 14)


def test_liability_forecast_lists_open_claims_by_state_and_currency(session, population):
    claim(S.FLAGGED, 600_000)
    claim(S.FLAGGED, 200_000)
    claim(S.FLAGGED, 300_000, "GBP")
    claim(S.APPROVED, 100_000)
    claim(S.FAILED, 300_000, "GBP")
    for closed in (S.REJECTED, S.WITHDRAWN, S.REFUNDED, S.SETTLED_MANUALLY):
        claim(closed, 999_000)

    forecast = liability_forecast(session, AS_OF)

    assert forecast.open_claims == [
        OpenClaimsRow(S.FLAGGED, "EUR", 2, 800_000),
        OpenClaimsRow(S.FLAGGED, "GBP", 1, 300_000),
        OpenClaimsRow(S.IN_REVIEW, "EUR", 1, 450_000),
        OpenClaimsRow(S.APPROVED, "EUR", 1, 100_000),
        OpenClaimsRow(S.FAILED, "GBP", 1, 300_000),
    ]
    assert forecast.open_claim_totals() == [
        CurrencyTotal("EUR", 4, 1_350_000),
        CurrencyTotal("GBP", 2, 600_000),
    ]


def test_liability_forecast_of_an_empty_school_has_no_rows(session):
    forecast = liability_forecast(session, AS_OF)

    assert forecast.rows == []
    assert forecast.open_claims == []
    assert forecast.totals() == []
