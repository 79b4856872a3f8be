"""Finance's liability forecast: the refunds the coming months may bring, and the open claims.

A graduate counts in the month their guarantee window closes (extended by their paused days, up
to the policy's limit) when, judged today by the pure rule (``guarantee_status``), they are
covered, not excluded, still in their window and without a qualifying job: if nothing changes,
they will be owed ``refundable_for`` their enrollment. Nothing here
computes a deadline or an amount itself, and no figure ever adds two currencies together.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.guarantee.rules import GuaranteeState, guarantee_status, paused_days
from app.guarantee.terms import JobFacts
from app.models import (
    Enrollment,
    ExcludedOutcome,
    Graduation,
    GuaranteePolicy,
    JobOutcome,
    SearchPause,
)
from app.services.guarantee import refundable_for
from refunds.models import RefundClaim
from refunds.states import ClaimState

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
    """
    months = forecast_months(as_of, horizon)
    end = months[-1] + relativedelta(months=1)
    claimed = set(
        session.scalars(
            select(RefundClaim.enrollment_id).where(RefundClaim.state.in_(OPEN_CLAIM_STATES))
        )
    )
    graduations = session.scalars(
        select(Graduation)
        .join(Graduation.enrollment)
        .where(Enrollment.guarantee_opt_in.is_(True))
        .options(
            selectinload(Graduation.enrollment).options(
                selectinload(Enrollment.payments),
                selectinload(Enrollment.programme),
                selectinload(Enrollment.policy).selectinload(GuaranteePolicy.programme),
            )
        )
        .order_by(Graduation.id)
    ).all()
    jobs = _jobs_of_covered_graduates(session)
    pauses = _pauses_of_covered_graduates(session)
    excluded = set(session.scalars(select(ExcludedOutcome.graduation_id)))

    graduates: dict[tuple[date, str], int] = defaultdict(int)
    amounts: dict[tuple[date, str], int] = defaultdict(int)
    for graduation in graduations:
        enrollment = graduation.enrollment
        if enrollment.id in claimed:
            continue
        terms = enrollment.policy.terms()
        status = guarantee_status(
            opted_in=enrollment.guarantee_opt_in,
            qualified_on=graduation.qualified_on,
            terms=terms,
            jobs=jobs.get(graduation.id, []),
            as_of=as_of,
            paused_days=paused_days(pauses.get(graduation.id, []), terms.max_pause_days),
            excluded=graduation.id in excluded,
            eligibility=enrollment.eligibility(),
        )
        if status.state is not GuaranteeState.IN_WINDOW or status.deadline >= end:
            continue
        refundable = refundable_for(enrollment)
        key = (status.deadline.replace(day=1), refundable.currency)
        graduates[key] += 1
        amounts[key] += refundable.amount_minor

    currencies = sorted({currency for _month, currency in graduates})
    rows = [
        MonthRow(month, currency, graduates[month, currency], amounts[month, currency])
        for month in months
        for currency in currencies
    ]
    return Forecast(as_of, months, rows, open_claims_by_state(session))


def _jobs_of_covered_graduates(session: Session) -> dict[int, list[JobFacts]]:
    jobs: dict[int, list[JobFacts]] = defaultdict(list)
    outcomes = session.scalars(
        select(JobOutcome)
        .join(Graduation, Graduation.id == JobOutcome.graduation_id)
        .join(Enrollment, Enrollment.id == Graduation.enrollment_id)
        .where(Enrollment.guarantee_opt_in.is_(True))
        # The order ``evaluate_guarantee`` judges them in.
        .order_by(JobOutcome.start_date, JobOutcome.id)
    )
    for outcome in outcomes:
        jobs[outcome.graduation_id].append(outcome.facts())
    return jobs


def _pauses_of_covered_graduates(session: Session) -> dict[int, list[tuple[date, date]]]:
    pauses: dict[int, list[tuple[date, date]]] = defaultdict(list)
    rows = session.execute(
        select(SearchPause.graduation_id, SearchPause.starts_on, SearchPause.ends_on)
        .join(Graduation, Graduation.id == SearchPause.graduation_id)
        .join(Enrollment, Enrollment.id == Graduation.enrollment_id)
        .where(Enrollment.guarantee_opt_in.is_(True))
    )
    for graduation_id, starts_on, ends_on in rows:
        pauses[graduation_id].append((starts_on, ends_on))
    return pauses


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
