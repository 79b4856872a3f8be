"""A claim's life when the facts change after it opened, and the provider's record winning.

Each test plays one way the happy path was broken, as finance, the scheduler and the provider
would meet it: the real Stripe SDK against localstripe (through the fault proxy), the real
executor, the sweep and the reconciliation.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.errors import Conflict, Invalid
from app.guarantee.terms import OutcomeStatus
from app.models import AuditEvent
from refunds import claims, notes
from refunds.executor import execute_refunds
from refunds.gateway import TransientGatewayError
from refunds.models import ClaimApproval, ClaimTransition, RecoveryItem, Refund, RefundClaim
from refunds.reconcile import reconcile
from refunds.states import ClaimState, RefundState
from refunds.sweep import sweep
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    JobOutcomeFactory,
    TuitionPaymentFactory,
)
from tests.refunds.conftest import AS_OF, QUALIFIED_ON, provider_refunds
from tests.stripe_harness import paid_payment_intent

S = ClaimState
ADA, GRACE = "finance:ada", "finance:grace"
THRESHOLD = 500_000
CARD_DECLINED = {
    "type": "card_error",
    "code": "expired_or_canceled_card",
    "message": "The card was canceled (injected by the test proxy).",
}


class BlindAfterAnError:
    """The real gateway, except that right after a refused create the provider cannot be
    listed once: the executor fails the refund, as it would with the provider briefly down."""

    def __init__(self, real):
        self.real = real
        self.blind = False

    def create_refund(self, **kwargs):
        try:
            return self.real.create_refund(**kwargs)
        except Exception:
            self.blind = True
            raise

    def list_refunds(self, payment_intent_id):
        if self.blind:
            self.blind = False
            raise TransientGatewayError("the provider is not answering (test)")
        return self.real.list_refunds(payment_intent_id)

    def get_refund(self, refund_id):
        return self.real.get_refund(refund_id)

    def get_payment(self, payment_intent_id):
        return self.real.get_payment(payment_intent_id)


@pytest.fixture
def owed_graduate(session, localstripe_client):
    """``make(amounts, currency, recorded=None)``: an owed graduate who paid through Stripe."""

    def make(amounts=(200_000,), *, recorded=None, currency="eur", **enrollment):
        graduation = GraduationFactory(
            qualified_on=QUALIFIED_ON,
            enrollment=EnrollmentFactory(signed_on=date(2024, 1, 10), **enrollment),
        )
        for index, amount in enumerate(amounts):
            TuitionPaymentFactory(
                enrollment=graduation.enrollment,
                amount_minor=amount if recorded is None else recorded[index],
                stripe_payment_intent_id=paid_payment_intent(localstripe_client, amount, currency),
            )
        return graduation

    return make


def flag(session, graduation) -> RefundClaim:
    sweep(session, AS_OF)
    session.commit()
    return session.scalar(select(RefundClaim).where(RefundClaim.graduation_id == graduation.id))


def approve(session, claim, actor, provider, threshold=THRESHOLD):
    result = claims.approve(
        session,
        claim.id,
        actor=actor,
        reason="window closed, no job",
        dual_approval_threshold_minor=threshold,
        provider=provider,
    )
    session.commit()
    return result


def state_of(session, claim) -> ClaimState:
    session.expire_all()
    return session.get(RefundClaim, claim.id).state


def held_at_provider(session, localstripe_client, claim) -> list:
    """Every live refund the provider holds on the claim's payments."""
    session.expire_all()
    held = []
    for refund in session.scalars(select(Refund).where(Refund.claim_id == claim.id)):
        held += [
            r
            for r in provider_refunds(localstripe_client, refund.payment.stripe_payment_intent_id)
            if r.status not in ("failed", "canceled")
        ]
    return held


# --- 1. a retry after a lost answer adopts the refund instead of paying it again ------------


def test_retry_after_a_refund_whose_success_was_answered_as_a_4xx_pays_once(
    session, session_factory, owed_graduate, gateway, stripe_proxy, localstripe_client
):
    claim = flag(session, owed_graduate((200_000,), scholarship_minor=100_000))
    approve(session, claim, ADA, gateway)
    stripe_proxy.respond("POST", "/v1/refunds", 402, error=CARD_DECLINED, forward=True)

    execute_refunds(session_factory, BlindAfterAnError(gateway))
    assert state_of(session, claim) is S.FAILED  # the service believes the card refused it

    claims.retry_failed(session, claim.id, actor=GRACE, reason="the card was renewed")
    session.commit()
    result = execute_refunds(session_factory, gateway)

    assert (result.adopted, result.sent) == (1, 0)
    assert state_of(session, claim) is S.REFUNDED
    [held] = held_at_provider(session, localstripe_client, claim)
    assert held.amount == 100_000  # the partial refund owed, once


# --- 2. approval rounds: nobody is locked out by an earlier round ---------------------------


def test_approvals_of_an_earlier_round_do_not_count_and_anyone_may_approve_again(
    session, owed_graduate, gateway
):
    claim = flag(session, owed_graduate((300_000, 400_000)))
    approve(session, claim, ADA, gateway)
    assert state_of(session, claim) is S.AWAITING_SECOND_APPROVAL
    job = JobOutcomeFactory(graduation=claim.graduation, start_date=QUALIFIED_ON + timedelta(60))
    claims.review_after_job_report(session, claim.graduation_id, outcome_id=job.id, actor="x")
    job.status = OutcomeStatus.DISPUTED  # the employer denied it: owed after all
    session.commit()

    approve(session, claim, GRACE, gateway)  # the first approval of the new round
    assert state_of(session, claim) is S.AWAITING_SECOND_APPROVAL
    approve(session, claim, ADA, gateway)  # Ada approved in round 1; round 2 is new

    assert state_of(session, claim) is S.APPROVED
    rounds = session.execute(
        select(ClaimApproval.round, ClaimApproval.actor)
        .where(ClaimApproval.claim_id == claim.id)
        .order_by(ClaimApproval.id)
    ).all()
    assert rounds == [(1, ADA), (2, GRACE), (2, ADA)]


def test_a_first_approval_kept_without_an_amount_starts_the_approvals_again_saying_so(
    session, owed_graduate, gateway
):
    claim = flag(session, owed_graduate((300_000, 400_000)))
    # An approval recorded before approvals kept the amount they approved.
    session.add(
        ClaimApproval(claim_id=claim.id, round=claim.approval_round, actor=ADA, reason="looked")
    )
    claims.transition(session, claim, S.AWAITING_SECOND_APPROVAL, actor=ADA, reason="first")
    session.commit()

    approve(session, claim, GRACE, gateway)

    # Grace's approval is the first of a new round, after the note of why.
    assert state_of(session, claim) is S.AWAITING_SECOND_APPROVAL
    moves = session.execute(
        select(ClaimTransition.to_state, ClaimTransition.reason)
        .where(ClaimTransition.claim_id == claim.id)
        .order_by(ClaimTransition.id)
    ).all()
    note = (
        f"the refundable amount is now 7,000.00 EUR; {ADA} approved without an amount:"
        " the approvals start again"
    )
    assert (S.IN_REVIEW, note) in moves
    assert moves[-1].to_state is S.AWAITING_SECOND_APPROVAL
    assert notes.recognised(note) is not None


def test_the_same_person_twice_in_one_round_is_refused(session, owed_graduate, gateway):
    claim = flag(session, owed_graduate((300_000, 400_000)))
    approve(session, claim, ADA, gateway)

    with pytest.raises(Conflict, match="already in this round"):
        approve(session, claim, ADA, gateway)


# --- 3. a withdrawn claim whose reason falls away reopens -----------------------------------


def test_a_claim_withdrawn_for_a_job_the_employer_then_denied_is_flagged_again(
    session, owed_graduate
):
    claim = flag(session, owed_graduate((200_000,)))
    job = JobOutcomeFactory(
        graduation=claim.graduation,
        start_date=QUALIFIED_ON + timedelta(30),
        status=OutcomeStatus.CONFIRMED,
    )
    claims.withdraw(session, claim.id, actor=ADA, reason="a job turned up")
    session.commit()

    job.status = OutcomeStatus.DISPUTED  # the employer says they never hired them
    session.commit()
    result = sweep(session, AS_OF + timedelta(days=1))

    assert result.reopened == 1
    assert state_of(session, claim) is S.IN_REVIEW


def test_withdrawing_a_claim_the_records_say_is_owed_is_refused(session, owed_graduate):
    claim = flag(session, owed_graduate((200_000,)))

    with pytest.raises(Conflict, match="owed a refund"):
        claims.withdraw(session, claim.id, actor=ADA, reason="flagged by mistake")
    session.rollback()
    assert state_of(session, claim) is S.FLAGGED


# --- 4. the amount is derived at approval, not frozen at flagging ----------------------------


def test_a_payment_recorded_after_flagging_is_refunded_in_full(
    session, session_factory, owed_graduate, gateway, localstripe_client
):
    graduation = owed_graduate((100_000, 100_000, 100_000))
    claim = flag(session, graduation)
    assert claim.amount_minor == 300_000
    late = TuitionPaymentFactory(
        enrollment=graduation.enrollment,
        amount_minor=100_000,
        stripe_payment_intent_id=paid_payment_intent(localstripe_client, 100_000),
    )
    session.commit()

    approve(session, claim, ADA, gateway)
    execute_refunds(session_factory, gateway)

    session.expire_all()
    claim = session.get(RefundClaim, claim.id)
    assert claim.amount_minor == 400_000
    assert (
        sorted(r.amount for r in held_at_provider(session, localstripe_client, claim))
        == [100_000] * 4
    )  # every payer gets all of theirs back, the late one included
    assert any(refund.payment_id == late.id for refund in claim.refunds)
    assert session.scalar(
        select(AuditEvent.detail).where(AuditEvent.action == "claim.amount_derived")
    )


# --- 7. a job reported after the refund was paid -----------------------------------------------


def test_a_job_reported_after_payment_opens_a_recovery_item_and_claws_nothing_back(
    session, session_factory, owed_graduate, gateway, localstripe_client
):
    claim = flag(session, owed_graduate((200_000,)))
    approve(session, claim, ADA, gateway)
    execute_refunds(session_factory, gateway)
    assert state_of(session, claim) is S.REFUNDED

    job = JobOutcomeFactory(graduation=claim.graduation, start_date=QUALIFIED_ON + timedelta(40))
    claims.review_after_job_report(session, claim.graduation_id, outcome_id=job.id, actor="g:1")
    claims.review_after_job_report(session, claim.graduation_id, outcome_id=job.id, actor="g:1")
    session.commit()

    [item] = session.scalars(select(RecoveryItem).where(RecoveryItem.claim_id == claim.id))
    assert item.job_outcome_id == job.id and item.resolved_at is None
    assert state_of(session, claim) is S.REFUNDED
    assert len(held_at_provider(session, localstripe_client, claim)) == 1
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "claim.recovery_opened"))
    claims.resolve_recovery_item(session, item.id, actor=GRACE, resolution="graduate repaid")
    with pytest.raises(Conflict):
        claims.resolve_recovery_item(session, item.id, actor=GRACE, resolution="again")


# --- 8. a payment that does not match its PaymentIntent ----------------------------------------


@pytest.mark.parametrize(
    ("charged", "recorded", "currency", "problem"),
    [
        (50_000, 100_000, "eur", "charged 500.00 EUR"),
        (100_000, 100_000, "usd", "charged in USD"),
    ],
    ids=["amount", "currency"],
)
def test_a_payment_unlike_its_payment_intent_blocks_approval_with_the_reason(
    session, owed_graduate, gateway, charged, recorded, currency, problem
):
    claim = flag(session, owed_graduate((charged,), recorded=(recorded,), currency=currency))

    with pytest.raises(Invalid) as refusal:
        approve(session, claim, ADA, gateway)
    session.rollback()

    assert problem in refusal.value.errors["payments"][0]
    assert state_of(session, claim) is S.FLAGGED
    assert session.scalars(select(ClaimApproval)).all() == []


# --- the provider's record wins (refunds made elsewhere, lost answers) -------------------------


def test_a_refund_made_from_the_providers_dashboard_is_left_out_of_the_amount(
    session, session_factory, owed_graduate, gateway, localstripe_client
):
    graduation = owed_graduate((200_000,))
    intent = graduation.enrollment.payments[0].stripe_payment_intent_id
    localstripe_client.v1.refunds.create(params={"payment_intent": intent, "amount": 50_000})
    claim = flag(session, graduation)

    approve(session, claim, ADA, gateway)
    execute_refunds(session_factory, gateway)

    session.expire_all()
    assert session.get(RefundClaim, claim.id).amount_minor == 150_000
    assert state_of(session, claim) is S.REFUNDED
    held = provider_refunds(localstripe_client, intent)
    assert sum(r.amount for r in held) == 200_000  # never more than was charged


def test_settling_by_bank_a_refund_the_card_already_got_is_refused_naming_it(
    session, session_factory, owed_graduate, gateway, stripe_proxy, localstripe_client
):
    claim = flag(session, owed_graduate((200_000,)))
    approve(session, claim, ADA, gateway)
    stripe_proxy.respond("POST", "/v1/refunds", 402, error=CARD_DECLINED, forward=True)
    execute_refunds(session_factory, BlindAfterAnError(gateway))
    assert state_of(session, claim) is S.FAILED
    [held] = held_at_provider(session, localstripe_client, claim)

    with pytest.raises(Conflict, match=held.id):
        claims.settle_manually(
            session,
            claim.id,
            actor=GRACE,
            transfer_reference="TRF-1",
            reason="card refused",
            provider=gateway,
        )

    assert state_of(session, claim) is S.REFUNDED
    assert session.scalar(select(Refund.state).where(Refund.claim_id == claim.id)) is (
        RefundState.SUCCEEDED
    )
    assert reconcile(session, gateway).unresolved == []


def test_a_refund_answered_with_a_card_error_but_made_is_adopted_by_the_executor(
    session, session_factory, owed_graduate, gateway, stripe_proxy, localstripe_client
):
    claim = flag(session, owed_graduate((200_000,)))
    approve(session, claim, ADA, gateway)
    stripe_proxy.respond("POST", "/v1/refunds", 402, error=CARD_DECLINED, forward=True)

    result = execute_refunds(session_factory, gateway)

    assert result.adopted == 1
    assert state_of(session, claim) is S.REFUNDED
    assert len(held_at_provider(session, localstripe_client, claim)) == 1


# --- one id from the approval to the provider ----------------------------------------------------


class SeesRequestIds:
    """The real gateway, noting the request id current when each refund is created."""

    def __init__(self, real):
        self.real, self.seen = real, []

    def create_refund(self, **kwargs):
        from app.observability import current_request_id

        self.seen.append(current_request_id.get())
        return self.real.create_refund(**kwargs)

    def list_refunds(self, payment_intent_id):
        return self.real.list_refunds(payment_intent_id)

    def get_refund(self, refund_id):
        return self.real.get_refund(refund_id)

    def get_payment(self, payment_intent_id):
        return self.real.get_payment(payment_intent_id)


def test_the_executor_sends_a_refund_under_the_id_of_the_request_that_approved_it(
    session, session_factory, owed_graduate, gateway
):
    from app.observability import request_id_of

    claim = flag(session, owed_graduate((100_000, 50_000)))
    with request_id_of("req-approve-7"):
        approve(session, claim, ADA, gateway)
    watching = SeesRequestIds(gateway)

    with request_id_of("job-executor-1"):
        execute_refunds(session_factory, watching)

    assert watching.seen == ["req-approve-7", "req-approve-7"]
    assert {r.request_id for r in session.scalars(select(Refund))} == {"req-approve-7"}
