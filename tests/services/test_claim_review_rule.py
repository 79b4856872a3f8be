"""The claim review's set-based pass decides exactly what judging every claim one by one by the
rule decides: a property test over search logs, questions, offers and policies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.guarantee.terms import EmploymentType, OfferDecision, SearchActivityKind
from app.models import AuditEvent, PolicyQualifyingType
from app.services.claim_review import CHECKED, obligation_reasons, review_flagged_claims
from app.services.search import record_at_close
from refunds.models import RefundClaim
from refunds.states import ClaimState
from tests.factories import (
    GraduationFactory,
    GuaranteePolicyFactory,
    RefundClaimFactory,
    SchoolRequestFactory,
    SearchActivityFactory,
)

QUALIFIED_ON = date(2025, 1, 6)
AS_OF = date(2025, 7, 10)

POLICIES = st.fixed_dictionaries(
    {
        "window_months": st.integers(min_value=1, max_value=3),
        "weekly_applications": st.sampled_from((0, 0, 0, 1, 2)),
        "coaching_every_weeks": st.sampled_from((None, None, None, 2)),
        "answer_within_days": st.sampled_from((None, None, 3)),
        "report_offers_within_days": st.sampled_from((None, None, 7)),
        "declined_offer_voids": st.booleans(),
    }
)

#: (kind, days after qualifying, days late in the log).
ENTRIES = st.tuples(
    st.sampled_from((SearchActivityKind.APPLICATION, SearchActivityKind.COACHING_CHECKIN)),
    st.integers(min_value=0, max_value=100),
    st.sampled_from((0, 0, 3)),
)

#: (type, days after qualifying, days late in the log, decision).
OFFERS = st.tuples(
    st.sampled_from((EmploymentType.FULL_TIME_PERMANENT, EmploymentType.INTERNSHIP)),
    st.integers(min_value=0, max_value=100),
    st.sampled_from((0, 2, 10)),
    st.sampled_from(tuple(OfferDecision)),
)

#: (days after qualifying asked, days to answer or None).
QUESTIONS = st.tuples(
    st.integers(min_value=0, max_value=100), st.none() | st.integers(min_value=0, max_value=6)
)


@st.composite
def claimants(draw):
    """A graduate's policy, search log, offers, questions and stop day, and the claim's
    deadline."""
    return {
        "policy": draw(POLICIES),
        "entries": draw(st.lists(ENTRIES, max_size=8)),
        "offers": draw(st.lists(OFFERS, max_size=2)),
        "questions": draw(st.lists(QUESTIONS, max_size=2)),
        "stopped": draw(st.none() | st.integers(min_value=0, max_value=120)),
        "deadline_days": draw(st.integers(min_value=28, max_value=100)),
    }


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _build(spec) -> list:
    policy = GuaranteePolicyFactory.build(
        qualifying_types=[PolicyQualifyingType(employment_type=EmploymentType.FULL_TIME_PERMANENT)],
        **spec["policy"],
    )
    stopped = spec["stopped"]
    graduation = GraduationFactory.build(
        enrollment__policy=policy,
        qualified_on=QUALIFIED_ON,
        stopped_seeking_on=None if stopped is None else QUALIFIED_ON + timedelta(days=stopped),
    )
    records = [graduation]
    for kind, days, late in spec["entries"]:
        day = QUALIFIED_ON + timedelta(days=days)
        records.append(
            SearchActivityFactory.build(
                graduation=graduation,
                kind=kind,
                occurred_on=day,
                created_at=_noon(day + timedelta(days=late)),
            )
        )
    for kind, days, late, decision in spec["offers"]:
        day = QUALIFIED_ON + timedelta(days=days)
        records.append(
            SearchActivityFactory.build(
                graduation=graduation,
                kind=SearchActivityKind.OFFER,
                occurred_on=day,
                created_at=_noon(day + timedelta(days=late)),
                employment_type=kind,
                in_field=True,
                contract_months=None if kind is EmploymentType.FULL_TIME_PERMANENT else 6,
                offer_starts_on=day + timedelta(days=14),
                decision=decision,
                decided_on=None if decision is OfferDecision.PENDING else day + timedelta(days=1),
            )
        )
    for days, answer_days in spec["questions"]:
        asked = _noon(QUALIFIED_ON + timedelta(days=days))
        answered = None if answer_days is None else asked + timedelta(days=answer_days)
        records.append(
            SchoolRequestFactory.build(
                graduation=graduation,
                asked_at=asked,
                answer=None if answered is None else "Yes",
                answered_at=answered,
            )
        )
    records.append(
        RefundClaimFactory.build(
            graduation=graduation,
            deadline=QUALIFIED_ON + timedelta(days=spec["deadline_days"]),
            flagged_on=AS_OF,
        )
    )
    return records


def _decision(void: str | None, reasons: list[str]) -> tuple[ClaimState, str]:
    """The state a claim judged alone ends in, and the outcome its check records."""
    if void:
        return ClaimState.REJECTED, "void"
    if reasons:
        return ClaimState.IN_REVIEW, f"{len(reasons)} reason(s) to review"
    return ClaimState.FLAGGED, "compliant"


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(population=st.lists(claimants(), min_size=1, max_size=5))
def test_review_decides_each_claim_as_the_rule_judging_it_alone_does(session, population):
    savepoint = session.begin_nested()
    try:
        for spec in population:
            session.add_all(_build(spec))
        session.flush()
        claims = session.scalars(select(RefundClaim).order_by(RefundClaim.id)).all()
        expected = {}
        for claim in claims:
            void, reasons = obligation_reasons(
                record_at_close(session, claim.graduation, claim.deadline)
            )
            expected[claim.id] = _decision(void, reasons)

        result = review_flagged_claims(session, AS_OF)

        checked = dict(
            session.execute(
                select(AuditEvent.target, AuditEvent.detail).where(AuditEvent.action == CHECKED)
            ).all()
        )
        decided = {
            claim_id: (state, checked[f"claim:{claim_id}"])
            for claim_id, state in session.execute(select(RefundClaim.id, RefundClaim.state))
        }
        assert decided == expected
        assert result.checked == len(claims) == len(checked)
        assert set(result.rejected) == {
            claim_id for claim_id, (state, _) in expected.items() if state is ClaimState.REJECTED
        }
        assert set(result.in_review) == {
            claim_id for claim_id, (state, _) in expected.items() if state is ClaimState.IN_REVIEW
        }
    finally:
        savepoint.rollback()
