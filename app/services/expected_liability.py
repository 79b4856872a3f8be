"""The expected refund liability: the school's history loaded for ``app.guarantee.survival``.

One set-based query loads every covered graduate's search (window, deadline, refundable amount,
first qualifying job and the day it was on record), however many graduations there are; the
estimation, the interval and the backtest are the pure functions of ``app.guarantee.survival``.
The worst case beside it is ``app.services.forecast``'s, and so are the open claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.guarantee.survival import (
    BACKTEST_MONTHS,
    BOOTSTRAP_DRAWS,
    BacktestRow,
    ExpectedLiability,
    SearchRecord,
    backtest,
    backtest_errors,
    expected_liability,
)
from app.models import Enrollment, GuaranteePolicy, JobOutcome, Programme
from app.services.forecast import (
    HORIZON_MONTHS,
    OPEN_CLAIM_STATES,
    OpenClaimsRow,
    forecast_months,
    open_claims_by_state,
)
from refunds.models import RefundClaim

# The sweep's SQL twins of the window rule (``app.guarantee.rules``), which its property test
# proves agree with the rule: the forecast selects by the very same expressions.
from refunds.sweep import _refundable, _windows, _WindowStart, qualifying_job_in

#: The days a liability can be forecast on: the backtest and the horizon stay within the calendar.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class LiabilityReport:
    """What finance reads: the expected liability beside the worst case, the backtest, the open
    claims and the programmes' names (for the curves)."""

    expected: ExpectedLiability
    backtest: list[BacktestRow]
    backtest_errors: dict[str, float | None]
    open_claims: list[OpenClaimsRow]
    programme_names: dict[int, str]


def search_records(session: Session, graduation_ids=None) -> list[SearchRecord]:
    """Every covered graduate's search, in one statement: opted in, not excluded, with their
    window (pauses included), refundable amount, first qualifying job and the day a qualifying
    job was first on record, and whether an open claim counts them already. ``graduation_ids``
    (a list or a SELECT of ids) narrows it to those graduations."""
    windows = _windows()
    first_job = (
        select(func.min(JobOutcome.start_date))
        .where(qualifying_job_in(windows))
        .scalar_subquery()
        .label("job_on")
    )
    first_recorded = (
        select(func.min(JobOutcome.created_at))
        .where(qualifying_job_in(windows))
        .scalar_subquery()
        .label("job_recorded_at")
    )
    open_claim = (
        select(RefundClaim.id)
        .where(
            RefundClaim.enrollment_id == windows.c.enrollment_id,
            RefundClaim.state.in_(OPEN_CLAIM_STATES),
        )
        .exists()
    )
    statement = (
        select(
            windows.c.graduation_id,
            Enrollment.programme_id,
            windows.c.currency,
            _refundable(windows).label("amount_minor"),
            _WindowStart(windows.c.qualified_on, GuaranteePolicy.window_starts).label("starts"),
            windows.c.deadline,
            first_job,
            first_recorded,
            open_claim.label("open_claim"),
        )
        .join(Enrollment, Enrollment.id == windows.c.enrollment_id)
        .join(GuaranteePolicy, GuaranteePolicy.id == windows.c.policy_id)
        .order_by(windows.c.graduation_id)
    )
    if graduation_ids is not None:
        statement = statement.where(windows.c.graduation_id.in_(graduation_ids))
    return [
        SearchRecord(
            programme_id=programme_id,
            currency=currency,
            refundable_minor=int(amount),
            window_start=_day(starts),
            deadline=_day(deadline),
            job_on=_day(job_on) if job_on is not None else None,
            job_known_on=recorded.date() if recorded is not None else None,
            open_claim=bool(claimed),
            key=graduation_id,
        )
        for (
            graduation_id,
            programme_id,
            currency,
            amount,
            starts,
            deadline,
            job_on,
            recorded,
            claimed,
        ) in session.execute(statement)
    ]


def _day(value) -> date:
    # SQLite's date functions answer text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def liability_report(
    session: Session,
    as_of: date,
    *,
    horizon: int = HORIZON_MONTHS,
    draws: int = BOOTSTRAP_DRAWS,
    backtest_months: int = BACKTEST_MONTHS,
) -> LiabilityReport:
    """The expected liability per month and currency on ``as_of`` (with its interval and the
    worst case), the backtest of the months before, and the open claims."""
    records = search_records(session)
    expected = expected_liability(records, as_of, forecast_months(as_of, horizon), draws=draws)
    rows = backtest(records, as_of, months=backtest_months, draws=draws)
    names = dict(session.execute(select(Programme.id, Programme.name)).all())
    return LiabilityReport(
        expected, rows, backtest_errors(rows), open_claims_by_state(session), names
    )
