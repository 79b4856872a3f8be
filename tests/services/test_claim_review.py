"""The review after the sweep: flagged claims judged against the search obligations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.guarantee.sentences import Sentence
from app.guarantee.terms import EmploymentType, OfferDecision, SearchActivityKind
from app.models import AuditEvent, PolicyQualifyingType
from app.services.claim_review import VOID_NOTE, review_flagged_claims
from refunds import claims
from refunds.models import ClaimTransition, RefundClaim
from refunds.notes import OBLIGATIONS_NOT_MET, VOID, recognised
from refunds.states import ClaimState
from refunds.sweep import sweep
from tests.factories import (
    GraduationFactory,
    GuaranteePolicyFactory,
    SchoolRequestFactory,
    SearchActivityFactory,
    TuitionPaymentFactory,
)

QUALIFIED_ON = date(2025, 1, 6)  # a Monday; window to 6 Jul 2025: 26 weeks
DEADLINE = date(2025, 7, 6)
AS_OF = date(2025, 7, 10)


def permanent_only():
    return [PolicyQualifyingType(employment_type=EmploymentType.FULL_TIME_PERMANENT)]


def graduate(**policy):
    enrollment_policy = GuaranteePolicyFactory(**policy)
    graduation = GraduationFactory(
        enrollment__policy=enrollment_policy,
        enrollment__signed_on=date(2024, 1, 10),
        qualified_on=QUALIFIED_ON,
    )
    TuitionPaymentFactory(enrollment=graduation.enrollment)
    return graduation


def apply_every_week(graduation, per_week: int = 2, short_weeks=frozenset()) -> None:
    """``per_week`` applications each week of the window; one fewer in ``short_weeks``."""
    for number in range(1, 27):
        day = QUALIFIED_ON + timedelta(days=7 * (number - 1))
        for _ in range(per_week - (number in short_weeks)):
            SearchActivityFactory(graduation=graduation, occurred_on=day)


def offer(graduation, employment_type=EmploymentType.FULL_TIME_PERMANENT, **fields):
    return SearchActivityFactory(
        graduation=graduation,
        kind=SearchActivityKind.OFFER,
        occurred_on=date(2025, 3, 3),
        employer_name="Acme",
        position="Analyst",
        employment_type=employment_type,
        in_field=True,
        contract_months=None if employment_type is EmploymentType.FULL_TIME_PERMANENT else 3,
        decision=OfferDecision.DECLINED,
        decided_on=date(2025, 3, 5),
        **fields,
    )


def claim_of(session, graduation) -> RefundClaim:
    return session.scalar(select(RefundClaim).where(RefundClaim.graduation_id == graduation.id))


def last_transition(session, claim) -> ClaimTransition:
    return session.scalar(
        select(ClaimTransition)
        .where(ClaimTransition.claim_id == claim.id)
        .order_by(ClaimTransition.id.desc())
        .limit(1)
    )


def sweep_and_review(session):
    sweep(session, AS_OF)
    return review_flagged_claims(session, AS_OF)


def test_a_compliant_claim_stays_flagged(session):
    graduation = graduate(weekly_applications=2, answer_within_days=3)
    apply_every_week(graduation)
    SchoolRequestFactory(
        graduation=graduation,
        asked_at=datetime(2025, 3, 1, 9, tzinfo=UTC),
        answer="yes",
        answered_at=datetime(2025, 3, 2, 9, tzinfo=UTC),
    )

    result = sweep_and_review(session)

    claim = claim_of(session, graduation)
    assert claim.state is ClaimState.FLAGGED
    assert (result.checked, result.rejected, result.in_review) == (1, [], [])
    assert last_transition(session, claim).to_state is ClaimState.FLAGGED


def test_a_policy_without_obligations_leaves_an_empty_log_flagged(session):
    graduation = graduate()

    sweep_and_review(session)

    assert claim_of(session, graduation).state is ClaimState.FLAGGED


def test_missed_obligations_send_the_claim_to_review_with_every_reason(session):
    graduation = graduate(weekly_applications=2, answer_within_days=3)
    apply_every_week(graduation, short_weeks={26})
    SchoolRequestFactory(graduation=graduation, asked_at=datetime(2025, 3, 1, 9, tzinfo=UTC))

    result = sweep_and_review(session)

    claim = claim_of(session, graduation)
    assert claim.state is ClaimState.IN_REVIEW
    assert result.in_review == [claim.id]
    reason = last_transition(session, claim).reason
    assert reason.startswith("search obligations not met: ")
    assert recognised(reason).message == OBLIGATIONS_NOT_MET  # a page says it in French,
    assert isinstance(recognised(reason).values["reasons"], Sentence)  # each reason too
    assert "week 26 (30 Jun 2025 to 06 Jul 2025): 1 of 2 applications" in reason
    assert "question asked 01 Mar 2025 not answered" in reason
    assert last_transition(session, claim).actor == "system:sweep"
    assert (
        session.scalar(
            select(AuditEvent.detail).where(
                AuditEvent.action == "claim.in_review", AuditEvent.target == f"claim:{claim.id}"
            )
        )
        == reason
    )


def test_a_declined_qualifying_offer_voids_the_claim_when_the_policy_says_so(session):
    graduation = graduate(declined_offer_voids=True, qualifying_types=permanent_only())
    offer(graduation)

    result = sweep_and_review(session)

    claim = claim_of(session, graduation)
    assert claim.state is ClaimState.REJECTED
    assert result.rejected == [claim.id]
    assert last_transition(session, claim).reason == (
        "void: declined a qualifying offer from Acme on 05 Mar 2025; the policy voids the claim"
    )
    assert recognised(last_transition(session, claim).reason).message == VOID
    # The graduate is told why, in words for them, and that they can appeal.
    assert last_transition(session, claim).graduate_note == VOID_NOTE
    # Appealable as any rejection: a finance person puts it back under review.
    claims.start_review(session, claim.id, actor="user:7", reason="the offer was withdrawn")
    assert claim.state is ClaimState.IN_REVIEW


def test_a_declined_qualifying_offer_under_a_non_voiding_policy_goes_to_review(session):
    graduation = graduate(declined_offer_voids=False, qualifying_types=permanent_only())
    offer(graduation)

    sweep_and_review(session)

    claim = claim_of(session, graduation)
    assert claim.state is ClaimState.IN_REVIEW
    assert "declined a qualifying offer from Acme on 05 Mar 2025 (the policy does not void" in (
        last_transition(session, claim).reason
    )


def test_a_declined_offer_that_would_not_qualify_voids_nothing(session):
    graduation = graduate(declined_offer_voids=True, qualifying_types=permanent_only())
    offer(graduation, EmploymentType.INTERNSHIP)

    sweep_and_review(session)

    assert claim_of(session, graduation).state is ClaimState.FLAGGED


def test_having_stopped_looking_is_a_reason_to_review(session):
    graduation = graduate()
    graduation.stopped_seeking_on = date(2025, 4, 1)

    sweep_and_review(session)

    claim = claim_of(session, graduation)
    assert claim.state is ClaimState.IN_REVIEW
    reason = last_transition(session, claim).reason
    assert "said they stopped looking for work on 01 Apr 2025" in reason


def test_running_the_review_twice_changes_nothing_more(session):
    compliant = graduate(weekly_applications=1)
    apply_every_week(compliant, per_week=1)
    behind = graduate(weekly_applications=1)
    void = graduate(declined_offer_voids=True)
    offer(void)
    first = sweep_and_review(session)
    transitions = session.scalar(select(func.count()).select_from(ClaimTransition))
    audits = session.scalar(select(func.count()).select_from(AuditEvent))

    second = review_flagged_claims(session, AS_OF)

    assert first.checked == 3 and second.checked == 0
    assert session.scalar(select(func.count()).select_from(ClaimTransition)) == transitions
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == audits
    assert claim_of(session, compliant).state is ClaimState.FLAGGED
    assert claim_of(session, behind).state is ClaimState.IN_REVIEW
    assert claim_of(session, void).state is ClaimState.REJECTED


@pytest.mark.parametrize("state", [ClaimState.IN_REVIEW, ClaimState.WITHDRAWN])
def test_claims_finance_already_moved_are_left_alone(session, state):
    graduation = graduate(declined_offer_voids=True)
    offer(graduation)
    sweep(session, AS_OF)
    claim = claim_of(session, graduation)
    claims.transition(session, claim, state, actor="user:1", reason="looked at it first")

    result = review_flagged_claims(session, AS_OF)

    assert result.checked == 0
    assert claim.state is state
