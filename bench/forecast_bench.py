"""How far the expected refund liability is from what was owed, on a known placement curve.

Generates a school's covered graduates whose search for a qualifying job follows a known curve
(a constant daily chance of a placement, so the share still searching after ``d`` days is
``(1 - h) ** (d + 1)``), with jobs put on record a few days after they start, then runs the
backtest of ``app.guarantee.survival`` and prints ``forecast_backtest_error=<x>``: the sum of
|expected - owed| over the months backtested, over the sum owed.

Run with ``make bench`` (after the sweep benchmark) or ``.venv/bin/python -m
bench.forecast_bench``. ``BENCH_FORECAST_GRADUATES`` sets the size (default 6,000).
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from app.guarantee.survival import SearchRecord, backtest, backtest_error

#: The day the benchmark is run "on"; windows started over the two years before it.
TODAY = date(2026, 7, 15)
#: The known curve: after six months (183 days) this share of graduates is still searching.
STILL_SEARCHING_AFTER_SIX_MONTHS = 0.3
WINDOW_MONTHS = 6


def daily_placement_chance(still_searching: float = STILL_SEARCHING_AFTER_SIX_MONTHS) -> float:
    """The constant daily chance ``h`` for which ``(1 - h) ** 183`` is ``still_searching``."""
    return 1 - still_searching ** (1 / 183)


def true_still_searching(day: int, chance: float) -> float:
    """The known curve: the share still without a job after ``day`` days."""
    return (1 - chance) ** (day + 1)


def generated_history(
    graduates: int,
    *,
    today: date = TODAY,
    seed: int = 15,
    chance: float | None = None,
    refundable_minor: int = 500_000,
    currency: str = "EUR",
    programme_id: int = 1,
    reporting_lag_days: int = 14,
) -> list[SearchRecord]:
    """Covered graduates whose windows started uniformly over the two years before ``today``,
    each finding a qualifying job on a day drawn from the known curve (``None`` once past the
    horizon), put on record up to ``reporting_lag_days`` later; a job not on record by
    ``today`` is not in the records."""
    chance = daily_placement_chance() if chance is None else chance
    rng = random.Random(seed)
    records = []
    for _ in range(graduates):
        start = today - timedelta(days=rng.randrange(730))
        # Geometric: the first day the daily chance comes up (day 0 included).
        job_day = 0
        while rng.random() >= chance:
            job_day += 1
            if job_day > 400:
                break
        job_on = start + timedelta(days=job_day) if job_day <= 400 else None
        known = job_on + timedelta(days=rng.randrange(reporting_lag_days + 1)) if job_on else None
        if known is not None and known > today:
            # Not on record yet: the records are read on ``today``.
            job_on = known = None
        records.append(
            SearchRecord(
                programme_id=programme_id,
                currency=currency,
                refundable_minor=refundable_minor,
                window_start=start,
                deadline=start + relativedelta(months=WINDOW_MONTHS),
                job_on=job_on,
                job_known_on=known,
            )
        )
    return records


def main() -> None:
    size = int(os.environ.get("BENCH_FORECAST_GRADUATES", "6000"))
    rows = backtest(generated_history(size), TODAY)
    for row in rows:
        print(
            f"forecast {row.month:%Y-%m}: {row.graduates} graduates, expected"
            f" {row.expected_minor} [{row.lower_minor}, {row.upper_minor}],"
            f" worst {row.worst_case_minor}, owed {row.actual_minor}",
            flush=True,
        )
    error = backtest_error(rows)
    print(
        f"forecast_backtest_error={error:.4f}"
        if error is not None
        else "forecast_backtest_error=nan"
    )


if __name__ == "__main__":
    main()
