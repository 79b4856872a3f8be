"""The expected refund liability: the school's history loaded for ``app.guarantee.survival``.

The report reads the searches still open on the first day it forecasts from (the backtest's
first month) as records, one row each (window, deadline, refundable amount, first qualifying
job and the day it was on record), of the graduations qualified late enough to have one; and
the years of searches closed before that day counted in the database, per programme, half-year
and search (``app.guarantee.survival.close_searches``, which a property test holds the query
equal to). What it holds in memory depends on the horizon, not on the years of history. The
estimation, the interval and the backtest are the pure functions of ``app.guarantee.survival``.
The worst case beside it is ``app.services.forecast``'s, and so are the open claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from dateutil.relativedelta import relativedelta
from sqlalchemy import and_, case, extract, func, literal, select
from sqlalchemy.orm import Session

from app.guarantee.cirr import HalfYear
from app.guarantee.survival import (
    BACKTEST_MONTHS,
    BOOTSTRAP_DRAWS,
    BacktestRow,
    ClosedHistory,
    ClosedSearches,
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
from refunds.sweep import (
    _refundable,
    _windows,
    _WindowStart,
    days_from_to,
    earliest_open_qualification,
    qualifying_job_in,
    utc_day,
)

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


def _searches(graduation_ids=None, qualified_since: date | None = None):
    """SELECT of every covered graduate's search: opted in, not excluded, with their window
    (pauses included), refundable amount, first qualifying job and the day a qualifying job was
    first on record, and whether an open claim counts them already; of ``graduation_ids`` (a
    list or a SELECT of ids), or of the graduations qualified since ``qualified_since``, when
    given."""
    windows = _windows(qualified_since=qualified_since)
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
    )
    if graduation_ids is not None:
        statement = statement.where(windows.c.graduation_id.in_(graduation_ids))
    return statement


def search_records(session: Session, graduation_ids=None) -> list[SearchRecord]:
    """Every covered graduate's search, in one statement (``_searches``); ``graduation_ids``
    (a list or a SELECT of ids) narrows it to those graduations."""
    statement = _searches(graduation_ids)
    return _records(session.execute(statement.order_by(statement.selected_columns.graduation_id)))


def _records(rows) -> list[SearchRecord]:
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
        ) in rows
    ]


def search_history(session: Session, before: date) -> tuple[list[SearchRecord], ClosedHistory]:
    """The searches a forecast from ``before`` or later needs, in two statements: the records
    whose deadline is on or after ``before`` (of the graduations qualified late enough to have
    one), and the others counted, as ``app.guarantee.survival.close_searches`` counts them."""
    since = earliest_open_qualification(session, before)
    if since is None:
        return [], ClosedHistory(before)
    still_open = _searches(qualified_since=since)
    columns = still_open.selected_columns
    records = _records(
        session.execute(
            still_open.where(columns.deadline >= before).order_by(columns.graduation_id)
        )
    )
    return records, ClosedHistory(before, _closed_searches(session, before))


def _closed_searches(session: Session, before: date) -> tuple[ClosedSearches, ...]:
    """``close_searches``'s counts of the searches closed before ``before``, in one statement."""
    # Materialised: each search's first qualifying job is looked up once, however many of the
    # expressions below read it (PostgreSQL would otherwise inline the subquery and look it up
    # for each).
    searches = _searches().cte("searches").prefix_with("MATERIALIZED", dialect="postgresql")
    c = searches.c
    placed = and_(c.job_on.is_not(None), c.job_on <= c.deadline)
    known_on = utc_day(c.job_recorded_at)
    late = case((and_(placed, known_on > before), known_on))
    days_to_deadline = case(
        (and_(placed, known_on <= before), None), else_=days_from_to(c.starts, c.deadline)
    )
    job_days = days_from_to(c.starts, c.job_on)
    half_year = extract("year", c.starts) * 2 + case((extract("month", c.starts) > 6, 1), else_=0)
    keys = (
        c.programme_id,
        half_year.label("half_year"),
        days_to_deadline.label("days_to_deadline"),
        case((placed, case((job_days < 0, literal(0)), else_=job_days))).label("job_days"),
        late.label("job_known_on"),
    )
    # Grouped by the columns of a subquery, so that no expression is written twice.
    closed = select(*keys).where(c.deadline < before).subquery("closed")
    statement = select(*closed.c, func.count()).group_by(*closed.c)
    return tuple(
        ClosedSearches(
            programme_id=programme_id,
            half_year=_half_year(int(code)),
            days_to_deadline=int(to_deadline) if to_deadline is not None else None,
            job_days=int(job_days) if job_days is not None else None,
            job_known_on=_day(known_on) if known_on is not None else None,
            graduates=graduates,
        )
        for programme_id, code, to_deadline, job_days, known_on, graduates in session.execute(
            statement
        )
    )


@cache
def _half_year(code: int) -> HalfYear:
    # The half-year written year * 2 + half - 1.
    return HalfYear(code // 2, code % 2 + 1)


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
    first_forecast = min(as_of, as_of.replace(day=1) - relativedelta(months=backtest_months))
    records, closed = search_history(session, first_forecast)
    expected = expected_liability(
        records, as_of, forecast_months(as_of, horizon), draws=draws, closed=closed
    )
    rows = backtest(records, as_of, months=backtest_months, draws=draws, closed=closed)
    names = dict(session.execute(select(Programme.id, Programme.name)).all())
    return LiabilityReport(
        expected, rows, backtest_errors(rows), open_claims_by_state(session), names
    )
