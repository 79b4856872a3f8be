"""The expected refund liability: search times, placement curves, the forecast and its backtest."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from app.guarantee.cirr import HalfYear
from app.guarantee.survival import (
    MIN_AT_RISK,
    POOLED,
    BacktestRow,
    ClosedHistory,
    SearchRecord,
    backtest,
    backtest_error,
    backtest_errors,
    close_searches,
    expected_liability,
    kaplan_meier,
    search_times,
)
from bench.forecast_bench import daily_placement_chance, generated_history, true_still_searching

TODAY = date(2026, 7, 15)


def record(
    start, *, deadline=None, job_on=None, known=None, programme=1, currency="EUR", amount=1000
):
    return SearchRecord(
        programme_id=programme,
        currency=currency,
        refundable_minor=amount,
        window_start=start,
        deadline=deadline or start + relativedelta(months=6),
        job_on=job_on,
        job_known_on=known,
    )


@pytest.mark.parametrize(
    ("case", "as_of", "expected"),
    [
        # A job on record ends the search on its start.
        (record(date(2026, 1, 1), job_on=date(2026, 1, 31)), date(2026, 7, 1), (30, True)),
        # Still searching: censored on the forecast day.
        (record(date(2026, 1, 1)), date(2026, 2, 1), (31, False)),
        # The window closed without a job: censored on the deadline, not later.
        (record(date(2025, 1, 1)), date(2026, 7, 1), (181, False)),
        # A job after the deadline does not end the search.
        (record(date(2025, 1, 1), job_on=date(2025, 8, 1)), date(2026, 7, 1), (181, False)),
        # A job put on record after the forecast day was not known then.
        (
            record(date(2026, 1, 1), job_on=date(2026, 1, 11), known=date(2026, 3, 1)),
            date(2026, 2, 1),
            (31, False),
        ),
        # A job that started before the window ends the search on day 0.
        (record(date(2026, 1, 5), job_on=date(2026, 1, 2)), date(2026, 2, 1), (0, True)),
    ],
)
def test_search_times_censor_at_the_deadline_and_the_forecast_day(case, as_of, expected):
    [(_record, days, placed)] = search_times([case], as_of)
    assert (days, placed) == expected


def test_search_times_leave_out_windows_not_started_yet():
    assert search_times([record(date(2026, 8, 1))], date(2026, 7, 1)) == []


def test_curve_recovers_the_known_placement_curve_within_its_interval():
    chance = daily_placement_chance()
    records = generated_history(4000, today=TODAY, reporting_lag_days=0)
    curve = expected_liability(records, TODAY, [TODAY.replace(day=1)], draws=0).curves[(1, None)]
    for day in (10, 30, 60, 90, 120, 150, 180):
        low, high = curve.interval_at(day)
        truth = true_still_searching(day, chance)
        assert low <= truth <= high, (day, low, truth, high)
        # An interval that says something: under ten percentage points wide.
        assert high - low < 0.1
    assert curve.median_days() == pytest.approx(105, abs=12)


def test_expected_liability_interval_holds_the_true_expectation_and_is_below_the_worst_case():
    chance = daily_placement_chance()
    records = generated_history(4000, today=TODAY, reporting_lag_days=0)
    months = [TODAY.replace(day=1) + relativedelta(months=n) for n in range(7)]
    result = expected_liability(records, TODAY, months, draws=200)
    truth = {}
    for r in records:
        if r.deadline < TODAY or (r.job_on is not None and r.job_on <= TODAY):
            continue
        searched = (TODAY - r.window_start).days
        owed = (1 - chance) ** ((r.deadline - r.window_start).days - searched)
        month = r.deadline.replace(day=1)
        truth[month] = truth.get(month, 0) + owed * r.refundable_minor
    total = sum(row.expected_minor for row in result.rows)
    assert total == pytest.approx(sum(truth.values()), rel=0.05)
    for row in result.rows:
        if not row.graduates:
            continue
        assert row.lower_minor <= truth[row.month] <= row.upper_minor, row
        assert row.lower_minor <= row.expected_minor <= row.upper_minor <= row.worst_case_minor
    # The graduates furthest from their deadline are the least likely to be owed.
    shares = [row.expected_minor / row.worst_case_minor for row in result.rows if row.graduates]
    assert shares == sorted(shares, reverse=True)


def test_without_history_the_expected_liability_is_the_worst_case():
    records = [record(date(2026, 7, 1), amount=5000), record(date(2026, 7, 2), amount=7000)]
    [row] = expected_liability(records, date(2026, 7, 3), [date(2027, 1, 1)], draws=20).rows
    assert (row.graduates, row.worst_case_minor, row.expected_minor) == (2, 12000, 12000)
    assert (row.lower_minor, row.upper_minor) == (12000, 12000)


def test_currencies_are_never_added_and_every_month_gets_a_row():
    records = [
        record(date(2026, 1, 10), amount=100, currency="EUR"),
        record(date(2026, 3, 10), amount=200, currency="GBP"),
    ]
    months = [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]
    rows = expected_liability(records, date(2026, 7, 1), months, draws=0).rows
    assert [(r.month, r.currency, r.graduates, r.worst_case_minor) for r in rows] == [
        (date(2026, 7, 1), "EUR", 1, 100),
        (date(2026, 7, 1), "GBP", 0, 0),
        (date(2026, 8, 1), "EUR", 0, 0),
        (date(2026, 8, 1), "GBP", 0, 0),
        (date(2026, 9, 1), "EUR", 0, 0),
        (date(2026, 9, 1), "GBP", 1, 200),
    ]


def test_a_graduate_with_an_accepted_offer_starting_later_is_not_forecast():
    offer = record(date(2026, 3, 1), job_on=date(2026, 8, 1), known=date(2026, 6, 1))
    searching = record(date(2026, 3, 2), currency="GBP")
    rows = expected_liability(
        [offer, searching], date(2026, 7, 1), [date(2026, 9, 1)], draws=0
    ).rows
    assert [(row.currency, row.graduates) for row in rows] == [("GBP", 1)]


def test_a_thin_cohort_borrows_its_programmes_curve_and_a_thin_programme_every_programmes():
    # Programme 1: a large 2025-H1 cohort in which nobody ever finds a job; programme 2: a
    # handful of graduates who all find one on day 1. Both have a graduate in the window.
    old = [record(date(2025, 1, 1) + timedelta(days=i % 90)) for i in range(MIN_AT_RISK + 5)]
    thin = [record(date(2025, 2, 1), job_on=date(2025, 2, 2), programme=2) for _ in range(5)]
    current = [
        record(date(2026, 5, 1), programme=1, amount=1000),
        record(date(2026, 5, 1), programme=2, amount=1000, currency="GBP"),
    ]
    result = expected_liability(
        old + thin + current, date(2026, 6, 1), [date(2026, 11, 1)], draws=0
    )
    by_currency = {row.currency: row.expected_minor for row in result.rows}
    # Programme 1's own history: nobody is placed, so the graduate is expected to be owed all.
    assert by_currency["EUR"] == 1000
    # Programme 2 is too thin: every programme's curve, where 5 of 40 found a job on day 1
    # (before this graduate's 31 days of searching), so again no one is expected to be placed.
    assert by_currency["GBP"] == 1000
    assert result.curves[(2, None)].placed == 5
    assert result.curves[POOLED].graduates == len(old) + len(thin) + 2


def test_a_cohort_with_enough_graduates_at_the_deadline_gets_its_own_curve():
    # 2025-H1: half found a job on day 10; 2025-H2: nobody did. A 2025-H2 graduate whose window
    # started late in that half is judged on their own cohort, not on the programme's mix.
    h1 = [record(date(2025, 1, 1), job_on=date(2025, 1, 11)) for _ in range(40)]
    h1 += [record(date(2025, 1, 1)) for _ in range(40)]
    h2 = [record(date(2025, 7, 1)) for _ in range(40)]
    late = record(date(2025, 12, 31), amount=1000)
    result = expected_liability(h1 + h2 + [late], date(2025, 12, 31), [date(2026, 6, 1)], draws=0)
    [row] = result.rows
    assert row.expected_minor == 1000
    assert HalfYear(2025, 2) == HalfYear.containing(late.window_start)


def test_backtest_uses_only_what_was_known_at_each_month_start():
    # Two graduates whose windows close in June 2026: one found a job on 10 May, recorded on
    # 20 June, the other none. On 1 June the forecast cannot know the job; both count in full
    # (no history of placements), and one of them was owed.
    records = [
        record(
            date(2025, 12, 15),
            job_on=date(2026, 5, 10),
            known=date(2026, 6, 20),
            amount=3000,
        ),
        record(date(2025, 12, 16), amount=4000),
    ]
    rows = backtest(records, date(2026, 7, 15), months=2, draws=0)
    assert rows == [
        BacktestRow(date(2026, 6, 1), "EUR", 2, 7000, 7000, 7000, 7000, 4000),
    ]
    assert backtest_error(rows) == pytest.approx(3000 / 4000)
    assert backtest_errors(rows) == {"EUR": pytest.approx(0.75)}


def test_backtest_error_is_undefined_when_nothing_was_owed():
    assert backtest_error([BacktestRow(date(2026, 6, 1), "EUR", 1, 10, 5, 0, 10, 0)]) is None
    assert backtest_error([]) is None


def test_backtest_on_the_known_curve_is_close_and_mostly_inside_its_intervals():
    rows = backtest(generated_history(6000, today=TODAY), TODAY, draws=100)
    assert len(rows) == 6
    error = backtest_error(rows)
    assert error is not None and error < 0.15
    # The worst case is far off: the expected figure is the better estimate of what was owed.
    worst = sum(abs(r.worst_case_minor - r.actual_minor) for r in rows)
    assert sum(abs(r.expected_minor - r.actual_minor) for r in rows) < worst / 2


def test_the_interval_is_the_same_every_time_for_the_same_day():
    records = generated_history(800, today=TODAY)
    months = [TODAY.replace(day=1) + relativedelta(months=n) for n in range(3)]
    first = expected_liability(records, TODAY, months, draws=30)
    assert expected_liability(records, TODAY, months, draws=30).rows == first.rows
    assert any(row.lower_minor < row.upper_minor for row in first.rows)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=60),
            st.booleans(),
            st.integers(min_value=1, max_value=5),
        ),
        min_size=1,
        max_size=60,
    ).filter(lambda rows: any(placed for _, placed, _ in rows))
)
def test_the_curve_is_statsmodels_kaplan_meier_estimate(rows):
    """``kaplan_meier`` computes what statsmodels' ``SurvfuncRight`` does with frequency
    weights: the same days, survival and standard errors."""
    from statsmodels.duration.survfunc import SurvfuncRight

    days = np.array([d for d, _, _ in rows], dtype=float)
    placed = np.array([p for _, p, _ in rows], dtype=float)
    weights = np.array([w for _, _, w in rows], dtype=float)
    times, survival, error = kaplan_meier(days, placed, weights)
    fitted = SurvfuncRight(days, placed, freq_weights=weights)
    np.testing.assert_array_equal(times, fitted.surv_times)
    np.testing.assert_allclose(survival, fitted.surv_prob, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(error, np.nan_to_num(fitted.surv_prob_se), rtol=1e-12)


@st.composite
def histories(draw):
    """A forecast day, and graduates whose windows started in the two years before it (some
    closing after it), of two programmes and currencies, with jobs before, in and after their
    windows, put on record the day they started, later (about a backtest's forecast days too)
    or before (as a record can say)."""
    as_of = draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
    records = []
    for _ in range(draw(st.integers(min_value=0, max_value=90))):
        start = as_of - timedelta(days=draw(st.integers(min_value=-20, max_value=730)))
        deadline = start + relativedelta(months=draw(st.sampled_from((1, 3, 6, 6, 12))))
        deadline += timedelta(days=draw(st.sampled_from((0, 0, 0, 9, 40))))
        job_on = known = None
        if draw(st.booleans()):
            job_on = start + timedelta(days=draw(st.integers(min_value=-10, max_value=400)))
            if draw(st.booleans()):
                known = job_on + timedelta(days=draw(st.integers(min_value=-5, max_value=300)))
            elif draw(st.booleans()):
                # About a month's first day before the forecast day: a backtest's forecast day.
                month = as_of.replace(day=1) - relativedelta(months=draw(st.integers(0, 3)))
                known = month + timedelta(days=draw(st.integers(min_value=-1, max_value=1)))
        programme = draw(st.sampled_from((1, 1, 2)))
        records.append(
            SearchRecord(
                programme_id=programme,
                currency="EUR" if programme == 1 else "GBP",
                refundable_minor=draw(st.integers(min_value=0, max_value=10**6)),
                window_start=start,
                deadline=deadline,
                job_on=job_on,
                job_known_on=known,
                open_claim=draw(st.booleans()) and draw(st.booleans()),
            )
        )
    return records, as_of


@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=40))
def test_searches_closed_before_the_first_forecast_day_counted_give_the_same_figures(
    history, backtest_months, earlier
):
    """The figures from the records still open on the first day forecast from, plus the others
    counted (``close_searches``, what the report reads), are those from every record."""
    records, as_of = history
    first = as_of.replace(day=1) - relativedelta(months=backtest_months)
    before = min(as_of, first) - timedelta(days=earlier)
    months = [as_of.replace(day=1) + relativedelta(months=n) for n in range(4)]
    kept, closed = close_searches(records, before)

    assert all(record.deadline >= before for record in kept)
    assert len(kept) + sum(s.graduates for s in closed.searches) == len(records)
    expected = expected_liability(records, as_of, months, draws=3)
    assert expected_liability(kept, as_of, months, draws=3, closed=closed) == expected
    assert backtest(kept, as_of, months=backtest_months, draws=3, closed=closed) == backtest(
        records, as_of, months=backtest_months, draws=3
    )


def test_searches_closed_after_the_forecast_day_cannot_forecast_it():
    closed = ClosedHistory(date(2026, 6, 1))
    with pytest.raises(ValueError):
        expected_liability([], date(2026, 5, 31), [date(2026, 6, 1)], closed=closed)
    with pytest.raises(ValueError):
        backtest([], date(2026, 7, 15), months=2, closed=closed)
    assert backtest([], date(2026, 12, 15), months=6, closed=closed) == []
