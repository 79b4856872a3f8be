"""The forecast's set-based SQL finds the graduates the pure rule finds in their window, with the
rule's deadlines and amounts: a property test over the sweep's populations of graduates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.guarantee.rules import GuaranteeState, guarantee_status
from app.services.forecast import OPEN_CLAIM_STATES, MonthRow, liability_forecast
from refunds.amounts import refundable_amount
from refunds.models import RefundClaim
from refunds.states import ClaimState
from tests.factories import EmployerFactory
from tests.refunds.test_sweep import GraduateSpec, _build, graduates

#: No claim, or a claim in a state the forecast leaves the graduate to (open) or not (closed).
CLAIM_STATES = st.sampled_from((None, None, None, *OPEN_CLAIM_STATES, ClaimState.WITHDRAWN))


@st.composite
def forecasts(draw) -> tuple[list[tuple[GraduateSpec, ClaimState | None]], date, int]:
    """Graduates with a claim state each, a forecast day around their deadlines (the day before,
    of and after one, and the first and last days of its month) and a horizon of 1 to 13
    months."""
    population = draw(st.lists(st.tuples(graduates(), CLAIM_STATES), min_size=2, max_size=6))
    edges = sorted(
        {
            day
            for spec, _state in population
            for deadline in (spec.deadline, spec.deadline_without_pauses)
            for day in (
                deadline - timedelta(days=1),
                deadline,
                deadline + timedelta(days=1),
                deadline.replace(day=1),
                deadline - relativedelta(months=draw(st.integers(min_value=0, max_value=13))),
            )
        }
    )
    as_of = draw(st.sampled_from(edges))
    horizon = draw(st.integers(min_value=1, max_value=13))
    return population, as_of, horizon


def _expected_rows(population, as_of: date, horizon: int, months: list[date]) -> list[MonthRow]:
    """The month rows by the pure rule, given what each enrollment records of its policy's
    eligibility terms (as the sweep's reference is): in the window on ``as_of``, the deadline
    before the horizon's end, no open claim; amounts by ``refundable_amount``."""
    end = as_of.replace(day=1) + relativedelta(months=horizon)
    graduates: dict[tuple[date, str], int] = defaultdict(int)
    amounts: dict[tuple[date, str], int] = defaultdict(int)
    for spec, state in population:
        status = guarantee_status(
            opted_in=spec.opted_in,
            qualified_on=spec.qualified_on,
            terms=spec.terms,
            jobs=spec.jobs,
            as_of=as_of,
            paused_days=spec.paused_days,
            excluded=spec.excluded,
            eligibility=spec.eligibility,
        )
        if status.state is not GuaranteeState.IN_WINDOW or status.deadline >= end:
            continue
        if state in OPEN_CLAIM_STATES:
            continue
        key = (status.deadline.replace(day=1), spec.terms.currency)
        graduates[key] += 1
        amounts[key] += refundable_amount(
            spec.payments,
            scholarship=spec.scholarship,
            cap=spec.terms.refund_cap_minor,
            deduct_scholarships=spec.terms.deduct_scholarships,
        )
    currencies = sorted({currency for _month, currency in graduates})
    return [
        MonthRow(month, currency, graduates[month, currency], amounts[month, currency])
        for month in months
        for currency in currencies
    ]


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(example=forecasts())
def test_liability_forecast_counts_exactly_the_graduates_the_rule_finds_in_their_window(
    session, example
):
    population, as_of, horizon = example
    # Each example works in a savepoint of its own, rolled back at the end.
    savepoint = session.begin_nested()
    try:
        employer = EmployerFactory.build()
        for spec, state in population:
            _graduation, records = _build(replace(spec, has_claim=state is not None), employer)
            for record in records:
                if isinstance(record, RefundClaim):
                    record.state = state
            session.add_all(records)
        session.flush()
        forecast = liability_forecast(session, as_of, horizon)
        assert forecast.rows == _expected_rows(population, as_of, horizon, forecast.months)
    finally:
        savepoint.rollback()
