"""Finance's liability forecast: the refunds the coming months may bring, and the open claims.

A graduate counts in the month their guarantee window closes (extended by their paused days, up
to the policy's limit) when, judged today by the rule (``guarantee_status``), they are covered,
not excluded, still in their window and without a qualifying job: if nothing changes, they will
be owed ``refundable_for`` their enrollment. The selection and the amounts are the rule's, in
SQL (``refunds.sweep``, as the sweep selects), proved equal to the pure functions by a property
test; no figure ever adds two currencies together.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from refunds.models import RefundClaim
from refunds.states import ClaimState
from refunds.sweep import earliest_open_qualification, in_window_closing_before

#: How many months the forecast covers, the current one included.
HORIZON_MONTHS = 12

S = ClaimState

#: Claims the school may still have to pay, in the order finance reads them. Rejected claims are
#: left out (an appeal reopens them), as are the ones paid or closed.
OPEN_CLAIM_STATES = (
    S.FLAGGED,
    S.IN_REVIEW,
    S.AWAITING_SECOND_APPROVAL,
    S.APPROVED,
    S.PAYING,
    S.FAILED,
)


@dataclass(frozen=True)
class MonthRow:
    """The graduates whose window closes in ``month`` in one currency, and what they would get."""

    #: The first day of the month.
    month: date
    currency: str
    graduates: int
    amount_minor: int


@dataclass(frozen=True)
class OpenClaimsRow:
    """The open claims in one state and currency."""

    state: ClaimState
    currency: str
    claims: int
    amount_minor: int


@dataclass(frozen=True)
class CurrencyTotal:
    """A sum in one currency: how many graduates (or claims), and how much."""

    currency: str
    count: int
    amount_minor: int


@dataclass(frozen=True)
class Forecast:
    """The liability forecast made on ``as_of``."""

    as_of: date
    #: The first day of each month covered, from the month of ``as_of`` on.
    months: list[date]
    #: One row per month and currency, months in order, zero rows included, for every currency
    #: in which some graduate's window closes within the horizon.
    rows: list[MonthRow]
    open_claims: list[OpenClaimsRow]

    @property
    def currencies(self) -> list[str]:
        """The currencies of the month rows, alphabetically."""
        return sorted({row.currency for row in self.rows})

    def rows_in(self, currency: str) -> list[MonthRow]:
        """The month rows of one currency, in month order."""
        return [row for row in self.rows if row.currency == currency]

    def totals(self) -> list[CurrencyTotal]:
        """Per currency, the graduates and amount over the whole horizon."""
        return [
            CurrencyTotal(
                currency,
                sum(row.graduates for row in self.rows_in(currency)),
                sum(row.amount_minor for row in self.rows_in(currency)),
            )
            for currency in self.currencies
        ]

    def open_claim_totals(self) -> list[CurrencyTotal]:
        """Per currency, the open claims of every state together."""
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in self.open_claims:
            totals[row.currency][0] += row.claims
            totals[row.currency][1] += row.amount_minor
        return [
            CurrencyTotal(currency, count, amount)
            for currency, (count, amount) in sorted(totals.items())
        ]


def forecast_months(as_of: date, horizon: int = HORIZON_MONTHS) -> list[date]:
    """The first day of each of the ``horizon`` months starting with the month of ``as_of``."""
    first = as_of.replace(day=1)
    return [first + relativedelta(months=offset) for offset in range(horizon)]


def liability_forecast(session: Session, as_of: date, horizon: int = HORIZON_MONTHS) -> Forecast:
    """The refunds owed if no graduate still searching finds a job, by month, plus open claims.

    Windows that closed before ``as_of`` are not forecast: those graduates are the sweep's (and
    then the open claims'). A graduate whose enrollment already has an open claim is counted
    there only, never twice.

    Set-based: one statement selects the graduates in their window whose deadline falls in the
    horizon (``refunds.sweep.in_window_closing_before``, the rule in SQL, proved equal to it by
    a property test) and sums them per deadline and currency; only those few hundred sums come
    back. Only the graduations qualified recently enough to be in a window are read, so the
    time and memory depend on the horizon, not on the years of history.
    """
    months = forecast_months(as_of, horizon)
    end = months[-1] + relativedelta(months=1)
    since = earliest_open_qualification(session, as_of)
    graduates: dict[tuple[date, str], int] = defaultdict(int)
    amounts: dict[tuple[date, str], int] = defaultdict(int)
    if since is not None:
        closing = in_window_closing_before(as_of, end, since, look_up_enrollments=True)
        searching = closing.subquery("searching")
        claimed = exists().where(
            RefundClaim.enrollment_id == searching.c.enrollment_id,
            RefundClaim.state.in_(OPEN_CLAIM_STATES),
        )
        per_day = session.execute(
            select(
                searching.c.deadline,
                searching.c.currency,
                func.count(),
                func.sum(searching.c.amount_minor),
            )
            .where(~claimed)
            .group_by(searching.c.deadline, searching.c.currency)
        )
        for deadline, currency, count, amount in per_day:
            key = (deadline.replace(day=1), currency)
            graduates[key] += count
            amounts[key] += int(amount)

    currencies = sorted({currency for _month, currency in graduates})
    rows = [
        MonthRow(month, currency, graduates[month, currency], amounts[month, currency])
        for month in months
        for currency in currencies
    ]
    return Forecast(as_of, months, rows, open_claims_by_state(session))


def open_claims_by_state(session: Session) -> list[OpenClaimsRow]:
    """The open claims per state and currency: how many, and the amounts claimed."""
    found = {
        (state, currency): (count, amount)
        for state, currency, count, amount in session.execute(
            select(
                RefundClaim.state,
                RefundClaim.currency,
                func.count(),
                func.coalesce(func.sum(RefundClaim.amount_minor), 0),
            )
            .where(RefundClaim.state.in_(OPEN_CLAIM_STATES))
            .group_by(RefundClaim.state, RefundClaim.currency)
        )
    }
    return [
        OpenClaimsRow(state, currency, count, int(amount))
        for state in OPEN_CLAIM_STATES
        for (found_state, currency), (count, amount) in sorted(found.items())
        if found_state is state
    ]
