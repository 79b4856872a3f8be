"""The refund claim's state machine and what finance does to a claim (``refunds.claims``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.orm.exc import StaleDataError

from app.guarantee.terms import OutcomeStatus
from app.models import AuditEvent, JobOutcome, TuitionPayment
from app.models.base import utc_now
from app.services.errors import Conflict, Invalid
from refunds import claims
from refunds.amounts import split_refund
from refunds.models import ClaimApproval, ClaimTransition, Refund, RefundClaim
from refunds.states import TRANSITIONS, ClaimState, RefundState
from tests.factories import (
    AuditedRefundClaimFactory,
    JobOutcomeFactory,
    RefundFactory,
    TuitionPaymentFactory,
)

S = ClaimState
THRESHOLD = 500_000
#: Payments of a claim above the threshold.
LARGE = (300_000, 300_000)
ADA, GRACE, LIN, MAX, NOOR = (f"finance:{name}" for name in ("ada", "grace", "lin", "max", "noor"))

ALLOWED_MOVES = [(source, target) for source in S for target in sorted(TRANSITIONS[source])]
REFUSED_MOVES = [
    (source, target) for source in S for target in S if target not in TRANSITIONS[source]
]


def move_id(move) -> str:
    return f"{move[0].value}->{move[1].value}" if isinstance(move, tuple) else str(move)


def claim_with_payments(
    payments=(200_000, 200_000), *, amount: int | None = None, state: ClaimState = S.FLAGGED
) -> RefundClaim:
    """A claim in ``state`` for ``amount`` (all that was paid by default) over ``payments``.

    The amount is what the records make refundable: a smaller ``amount`` is the policy's cap,
    so approval, which derives the amount again, finds the same figure.
    """
    claim = AuditedRefundClaimFactory(
        state=state, amount_minor=sum(payments) if amount is None else amount
    )
    if amount is not None and amount < sum(payments):
        claim.enrollment.scholarship_minor = sum(payments) - amount
    for payment in payments:
        TuitionPaymentFactory(enrollment=claim.enrollment, amount_minor=payment)
    return claim


def placed(claim: RefundClaim) -> JobOutcome:
    """The fact that makes the claim's graduate not owed: a confirmed job inside the window."""
    return JobOutcomeFactory(
        graduation=claim.graduation,
        start_date=claim.graduation.qualified_on + timedelta(days=30),
        status=OutcomeStatus.CONFIRMED,
    )


def reload(session, claim: RefundClaim) -> RefundClaim:
    """The claim as the database holds it now."""
    session.expire_all()
    return session.get(RefundClaim, claim.id)


def trail(session, claim: RefundClaim) -> list[ClaimTransition]:
    return list(
        session.scalars(
            select(ClaimTransition)
            .where(ClaimTransition.claim_id == claim.id)
            .order_by(ClaimTransition.id)
        )
    )


def states_in_trail(session, claim: RefundClaim) -> list[ClaimState]:
    return [row.to_state for row in trail(session, claim)]


def approvers(session, claim: RefundClaim) -> list[str]:
    return list(
        session.scalars(
            select(ClaimApproval.actor)
            .where(ClaimApproval.claim_id == claim.id)
            .order_by(ClaimApproval.id)
        )
    )


def refunds_of(session, claim: RefundClaim) -> list[Refund]:
    return list(
        session.scalars(select(Refund).where(Refund.claim_id == claim.id).order_by(Refund.id))
    )


def snapshot(session, claim: RefundClaim) -> tuple:
    """Everything a refused action must leave as it was."""
    claim = reload(session, claim)
    return (
        claim.state,
        claim.version,
        [(row.id, row.to_state) for row in trail(session, claim)],
        approvers(session, claim),
        [
            (refund.id, refund.state, refund.idempotency_key, refund.manual_reference)
            for refund in refunds_of(session, claim)
        ],
    )


def approve(session, claim, actor, *, threshold=THRESHOLD, provider=None, **kwargs):
    return claims.approve(
        session,
        claim.id,
        actor=actor,
        reason="window closed, no job",
        dual_approval_threshold_minor=threshold,
        provider=provider,
        **kwargs,
    )


# --- transition(): the table is the law ------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), ALLOWED_MOVES, ids=move_id)
def test_transition_in_the_table_moves_the_claim_writes_one_audit_row_and_bumps_version(
    session, current, target
):
    claim = AuditedRefundClaimFactory(state=current)
    before = utc_now()

    record = claims.transition(session, claim, target, actor=ADA, reason="because the table says")

    claim = reload(session, claim)
    assert claim.state is target
    assert claim.version == 2
    first, written = trail(session, claim)
    assert written.id == record.id
    assert (written.claim_id, written.from_state, written.to_state) == (claim.id, current, target)
    assert (written.actor, written.reason) == (ADA, "because the table says")
    assert written.at.utcoffset() == timedelta(0)
    assert before <= written.at <= utc_now()
    assert first.to_state is current


#: The moves the refund executor writes as rows (``transition_row``): none goes to review.
ROW_MOVES = [move for move in ALLOWED_MOVES if move[1] is not S.IN_REVIEW]


@pytest.mark.parametrize(("current", "target"), ROW_MOVES, ids=move_id)
def test_transition_row_writes_what_transition_writes(session, current, target):
    """The claim's state, version and time, its transition and the audit line: on PostgreSQL
    one statement writes the three."""
    claim = AuditedRefundClaimFactory(state=current)
    session.flush()
    before = utc_now()

    claims.transition_row(session, claim.id, current, target, actor=ADA, reason="sent")

    claim = reload(session, claim)
    assert (claim.state, claim.version) == (target, 2)
    assert before <= claim.updated_at <= utc_now()
    _, written = trail(session, claim)
    assert (written.claim_id, written.from_state, written.to_state) == (claim.id, current, target)
    assert (written.actor, written.reason, written.graduate_note) == (ADA, "sent", None)
    assert written.at == claim.updated_at
    audit = session.scalars(
        select(AuditEvent).where(AuditEvent.target == f"claim:{claim.id}").order_by(AuditEvent.id)
    ).all()[-1]
    assert (audit.actor, audit.action, audit.detail, audit.ip_address) == (
        ADA,
        f"claim.{target.value}",
        "sent",
        None,
    )
    assert audit.at == written.at


@pytest.mark.parametrize(("current", "target"), REFUSED_MOVES, ids=move_id)
def test_transition_not_in_the_table_is_refused_and_changes_nothing(session, current, target):
    claim = AuditedRefundClaimFactory(state=current)
    before = snapshot(session, claim)

    with pytest.raises(Conflict) as refusal:
        claims.transition(session, claim, target, actor=ADA, reason="no such move")

    assert refusal.value.field == "state"
    session.flush()
    assert snapshot(session, claim) == before
    assert reload(session, claim).version == 1


# --- the audit rows are append-only in the database ------------------------------------------


@pytest.fixture
def audited_claim(session) -> RefundClaim:
    """A flagged claim with one transition row and one approval row."""
    claim = AuditedRefundClaimFactory()
    session.add(ClaimApproval(claim_id=claim.id, actor=ADA, reason="first look"))
    session.flush()
    return claim


AUDIT_TABLES = [ClaimTransition.__table__, ClaimApproval.__table__]


def expected_refusal(session) -> type[DBAPIError]:
    # SQLite's RAISE(ABORT) is a constraint failure; PL/pgSQL's RAISE EXCEPTION is P0001.
    return IntegrityError if session.get_bind().dialect.name == "sqlite" else ProgrammingError


@pytest.mark.parametrize("table", AUDIT_TABLES, ids=lambda table: table.name)
def test_audit_row_update_is_refused_by_the_database(session, audited_claim, table):
    rows = select(table.c.id, table.c.actor, table.c.reason).where(
        table.c.claim_id == audited_claim.id
    )
    before = session.execute(rows).all()

    with pytest.raises(DBAPIError, match="append-only") as refusal, session.begin_nested():
        session.execute(
            update(table).where(table.c.claim_id == audited_claim.id).values(reason="rewritten")
        )

    assert isinstance(refusal.value, expected_refusal(session))
    assert session.execute(rows).all() == before


@pytest.mark.parametrize("table", AUDIT_TABLES, ids=lambda table: table.name)
def test_audit_row_delete_is_refused_by_the_database(session, audited_claim, table):
    count = select(func.count()).select_from(table).where(table.c.claim_id == audited_claim.id)

    with pytest.raises(DBAPIError, match="append-only") as refusal, session.begin_nested():
        session.execute(delete(table).where(table.c.claim_id == audited_claim.id))

    assert isinstance(refusal.value, expected_refusal(session))
    assert session.scalar(count) == 1


def test_audit_row_changed_through_the_orm_is_refused_at_flush(session, audited_claim):
    row = trail(session, audited_claim)[0]
    original = row.reason

    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        row.reason = "rewritten"
        session.flush()

    session.expire_all()
    assert trail(session, audited_claim)[0].reason == original


# --- approve ---------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [THRESHOLD - 1, THRESHOLD], ids=["below", "at"])
def test_approve_up_to_the_threshold_needs_one_approval_and_splits_refunds_over_payments(
    session, amount
):
    payments = (250_000, 200_000, 150_001)
    claim = claim_with_payments(payments, amount=amount)

    approve(session, claim, ADA)

    claim = reload(session, claim)
    assert claim.state is S.APPROVED
    assert states_in_trail(session, claim) == [S.FLAGGED, S.APPROVED]
    assert approvers(session, claim) == [ADA]
    paid = session.scalars(
        select(TuitionPayment)
        .where(TuitionPayment.enrollment_id == claim.enrollment_id)
        .order_by(TuitionPayment.paid_at, TuitionPayment.id)
    ).all()
    refunds = refunds_of(session, claim)
    assert [refund.payment_id for refund in refunds] == [payment.id for payment in paid]
    assert [refund.amount_minor for refund in refunds] == split_refund(amount, list(payments))
    assert sum(refund.amount_minor for refund in refunds) == amount
    assert all(refund.amount_minor <= refund.payment.amount_minor for refund in refunds)
    assert len({refund.idempotency_key for refund in refunds}) == len(refunds)
    assert {refund.state for refund in refunds} == {RefundState.PENDING}
    assert {refund.currency for refund in refunds} == {claim.currency}


def test_approve_above_the_threshold_first_approval_awaits_a_second_without_refunds(session):
    claim = claim_with_payments(LARGE, amount=THRESHOLD + 1)

    approve(session, claim, ADA)

    claim = reload(session, claim)
    assert claim.state is S.AWAITING_SECOND_APPROVAL
    assert trail(session, claim)[-1].actor == ADA
    assert approvers(session, claim) == [ADA]
    assert refunds_of(session, claim) == []


def test_approve_above_the_threshold_twice_by_the_same_person_is_refused_and_changes_nothing(
    session,
):
    claim = claim_with_payments(LARGE, amount=THRESHOLD + 1)
    approve(session, claim, ADA)
    before = snapshot(session, claim)

    with pytest.raises(Conflict, match="second person"):
        approve(session, claim, ADA)

    assert snapshot(session, claim) == before


def test_approve_above_the_threshold_by_a_second_person_approves_and_writes_refunds(session):
    claim = claim_with_payments((400_000, 200_000), amount=THRESHOLD + 1)
    approve(session, claim, ADA)

    approve(session, claim, GRACE)

    claim = reload(session, claim)
    assert claim.state is S.APPROVED
    assert states_in_trail(session, claim) == [S.FLAGGED, S.AWAITING_SECOND_APPROVAL, S.APPROVED]
    assert approvers(session, claim) == [ADA, GRACE]
    refunds = refunds_of(session, claim)
    assert [refund.amount_minor for refund in refunds] == split_refund(
        THRESHOLD + 1, [400_000, 200_000]
    )


def test_approve_zero_amount_claim_ends_refunded_without_refund_rows(session):
    claim = claim_with_payments((300_000,), amount=0)

    approve(session, claim, ADA)

    claim = reload(session, claim)
    assert claim.state is S.REFUNDED
    assert states_in_trail(session, claim) == [S.FLAGGED, S.APPROVED, S.PAYING, S.REFUNDED]
    assert claim.version == 4
    assert refunds_of(session, claim) == []


@pytest.mark.parametrize("state", sorted(set(S) - claims.DECIDABLE))
def test_approve_a_claim_that_is_not_up_for_decision_is_refused_without_an_approval_row(
    session, state
):
    claim = claim_with_payments(state=state)
    before = snapshot(session, claim)

    with pytest.raises(Conflict):
        approve(session, claim, ADA)

    assert snapshot(session, claim) == before


def test_approve_after_review_of_a_large_claim_needs_two_new_approvals(session):
    # The approvals given before a late job sent the claim back to review do not count.
    claim = claim_with_payments(LARGE, amount=THRESHOLD + 1)
    approve(session, claim, ADA)
    approve(session, claim, GRACE)
    claims.start_review(session, claim.id, actor=LIN, reason="a job was reported late")

    approve(session, claim, MAX)
    assert reload(session, claim).state is S.AWAITING_SECOND_APPROVAL

    approve(session, claim, NOOR)
    claim = reload(session, claim)
    assert claim.state is S.APPROVED
    assert {refund.state for refund in refunds_of(session, claim)} == {RefundState.PENDING}


def test_approve_after_a_first_approval_went_back_to_review_needs_two_new_approvals(session):
    claim = claim_with_payments(LARGE, amount=THRESHOLD + 1)
    approve(session, claim, ADA)
    claims.start_review(session, claim.id, actor=GRACE, reason="check the payments again")

    approve(session, claim, LIN)

    claim = reload(session, claim)
    assert claim.state is S.AWAITING_SECOND_APPROVAL
    assert refunds_of(session, claim) == []


def test_approve_derives_the_amount_from_what_was_paid_not_what_was_flagged(session):
    claim = claim_with_payments((300_000,), amount=300_001)

    approve(session, claim, ADA)

    claim = reload(session, claim)
    assert claim.amount_minor == 300_000
    assert [refund.amount_minor for refund in refunds_of(session, claim)] == [300_000]


# --- reject and appeal -----------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reject_without_a_reason_is_invalid_and_changes_nothing(session, reason):
    claim = claim_with_payments()
    before = snapshot(session, claim)

    with pytest.raises(Invalid) as refusal:
        claims.reject(session, claim.id, actor=ADA, reason=reason)

    assert refusal.value.errors.keys() == {"reason"}
    assert snapshot(session, claim) == before


def test_reject_records_who_and_why_in_the_trail(session):
    claim = claim_with_payments()

    claims.reject(session, claim.id, actor=ADA, reason="  she declined a qualifying offer ")

    claim = reload(session, claim)
    assert claim.state is S.REJECTED
    last = trail(session, claim)[-1]
    assert (last.from_state, last.actor, last.reason) == (
        S.FLAGGED,
        ADA,
        "she declined a qualifying offer",
    )


def test_appeal_heard_by_the_person_who_rejected_is_refused_and_changes_nothing(session):
    claim = claim_with_payments()
    claims.reject(session, claim.id, actor=ADA, reason="declined an offer")
    before = snapshot(session, claim)

    with pytest.raises(Conflict, match="second reviewer"):
        claims.start_review(session, claim.id, actor=ADA, reason="appeal")

    assert snapshot(session, claim) == before


def test_appeal_heard_by_another_person_puts_the_rejected_claim_in_review(session):
    claim = claim_with_payments()
    claims.reject(session, claim.id, actor=ADA, reason="declined an offer")

    claims.start_review(session, claim.id, actor=GRACE, reason="appeal: the offer was unpaid")

    claim = reload(session, claim)
    assert claim.state is S.IN_REVIEW
    assert states_in_trail(session, claim) == [S.FLAGGED, S.REJECTED, S.IN_REVIEW]
    assert trail(session, claim)[-1].actor == GRACE


# --- withdraw, and approving again after a review --------------------------------------------


def test_withdraw_an_approved_claim_cancels_its_unsent_refunds(session):
    claim = claim_with_payments()
    approve(session, claim, ADA)
    placed(claim)

    claims.withdraw(session, claim.id, actor=GRACE, reason="a qualifying job was confirmed")

    claim = reload(session, claim)
    assert claim.state is S.WITHDRAWN
    refunds = refunds_of(session, claim)
    assert len(refunds) == 2
    assert {refund.state for refund in refunds} == {RefundState.CANCELED}
    assert all("withdrawn" in refund.last_error for refund in refunds)


def test_withdraw_without_a_reason_is_invalid_and_changes_nothing(session):
    claim = claim_with_payments()
    approve(session, claim, ADA)
    before = snapshot(session, claim)

    with pytest.raises(Invalid):
        claims.withdraw(session, claim.id, actor=GRACE, reason=" ")

    assert snapshot(session, claim) == before


def test_approve_again_after_a_review_revives_the_canceled_refund_rows_with_new_keys(session):
    claim = claim_with_payments()
    approve(session, claim, ADA)
    first = {refund.id: refund.idempotency_key for refund in refunds_of(session, claim)}
    claims.start_review(session, claim.id, actor=GRACE, reason="a job was reported")
    assert {refund.state for refund in refunds_of(session, claim)} == {RefundState.CANCELED}

    approve(session, claim, LIN)

    claim = reload(session, claim)
    assert claim.state is S.APPROVED
    refunds = refunds_of(session, claim)
    assert [refund.id for refund in refunds] == list(first)
    assert {refund.state for refund in refunds} == {RefundState.PENDING}
    for refund in refunds:
        assert refund.idempotency_key != first[refund.id]
        assert refund.idempotency_key.endswith("-try-2")
        assert refund.attempts == 0


# --- optimistic concurrency ------------------------------------------------------------------


def test_decision_on_a_stale_version_is_refused_and_changes_nothing(session):
    claim = claim_with_payments()
    claims.start_review(session, claim.id, actor=ADA, reason="looking", expected_version=1)
    before = snapshot(session, claim)

    with pytest.raises(Conflict) as refusal:
        claims.reject(session, claim.id, actor=GRACE, reason="no", expected_version=1)

    assert refusal.value.field == "version"
    assert snapshot(session, claim) == before


def test_two_sessions_transitioning_the_same_claim_the_second_flush_is_stale(
    session, session_factory
):
    claim_id = AuditedRefundClaimFactory().id
    first, second = session_factory(), session_factory()
    try:
        # Both read version 1, each in a transaction of its own (the test's transactions are
        # savepoints on one connection, so they must not overlap).
        mine = first.get(RefundClaim, claim_id)
        first.commit()
        theirs = second.get(RefundClaim, claim_id)
        second.commit()
        claims.transition(first, mine, S.IN_REVIEW, actor=ADA, reason="first to act")
        first.commit()

        with pytest.raises(StaleDataError):
            claims.transition(second, theirs, S.REJECTED, actor=GRACE, reason="second to act")
        second.rollback()
    finally:
        first.close()
        second.close()

    claim = reload(session, session.get(RefundClaim, claim_id))
    assert claim.state is S.IN_REVIEW
    assert claim.version == 2
    assert states_in_trail(session, claim) == [S.FLAGGED, S.IN_REVIEW]


# --- settle_manually and retry_failed --------------------------------------------------------


@pytest.fixture
def failed_claim(session) -> RefundClaim:
    """A claim whose first refund failed at the provider while the second succeeded."""
    claim = AuditedRefundClaimFactory(state=S.PAYING)
    RefundFactory(
        claim=claim,
        state=RefundState.FAILED,
        attempts=2,
        provider_refund_id="re_failed",
        last_error="expired_or_canceled_card",
    )
    RefundFactory(claim=claim, state=RefundState.SUCCEEDED, attempts=1, provider_refund_id="re_ok")
    claims.settle_from_refunds(session, claim, actor="system:webhook")
    assert claim.state is S.FAILED
    return claim


def test_settle_manually_marks_failed_refunds_with_the_transfer_reference(session, failed_claim):
    claims.settle_manually(
        session,
        failed_claim.id,
        provider=None,
        actor=ADA,
        transfer_reference=" TRF-2026-0042 ",
        reason="card expired, paid by bank transfer",
    )

    claim = reload(session, failed_claim)
    assert claim.state is S.SETTLED_MANUALLY
    failed, succeeded = refunds_of(session, claim)
    assert (failed.state, failed.manual_reference) == (
        RefundState.SETTLED_MANUALLY,
        "TRF-2026-0042",
    )
    assert (succeeded.state, succeeded.manual_reference) == (RefundState.SUCCEEDED, None)
    last = trail(session, claim)[-1]
    assert (last.actor, last.from_state) == (ADA, S.FAILED)
    assert "TRF-2026-0042" in last.reason


@pytest.mark.parametrize("state", [S.PAYING, S.REFUNDED, S.APPROVED, S.FLAGGED])
def test_settle_manually_a_claim_that_has_not_failed_is_refused(session, state):
    claim = AuditedRefundClaimFactory(state=state)
    RefundFactory(claim=claim, state=RefundState.FAILED)
    before = snapshot(session, claim)

    with pytest.raises(Conflict) as refusal:
        claims.settle_manually(
            session, claim.id, actor=ADA, transfer_reference="TRF-1", reason="paid", provider=None
        )

    assert refusal.value.field == "state"
    assert snapshot(session, claim) == before


@pytest.mark.parametrize(
    ("transfer_reference", "reason", "field"),
    [
        ("", "paid by transfer", "transfer_reference"),
        ("   ", "paid by transfer", "transfer_reference"),
        ("TRF-1", "", "reason"),
        ("TRF-1", "  ", "reason"),
    ],
)
def test_settle_manually_without_reference_or_reason_is_invalid_and_touches_no_refund(
    session, failed_claim, transfer_reference, reason, field
):
    before = snapshot(session, failed_claim)

    with pytest.raises(Invalid) as refusal:
        claims.settle_manually(
            session,
            failed_claim.id,
            provider=None,
            actor=ADA,
            transfer_reference=transfer_reference,
            reason=reason,
        )

    assert refusal.value.errors.keys() == {field}
    # Nothing flushed or pending: the refused call left the session as it found it.
    assert not session.dirty
    assert snapshot(session, failed_claim) == before


def test_settle_manually_while_a_refund_is_in_flight_is_refused(session, failed_claim):
    RefundFactory(claim=failed_claim, state=RefundState.PROCESSING, attempts=1)

    with pytest.raises(Conflict, match="in flight"):
        claims.settle_manually(
            session,
            failed_claim.id,
            actor=ADA,
            transfer_reference="TRF-1",
            reason="paid",
            provider=None,
        )


def test_retry_failed_sends_failed_refunds_again_with_a_new_idempotency_key(session, failed_claim):
    failed_before, succeeded_before = refunds_of(session, failed_claim)
    old_key = failed_before.idempotency_key

    claims.retry_failed(session, failed_claim.id, actor=ADA, reason="the graduate updated her card")

    claim = reload(session, failed_claim)
    assert claim.state is S.PAYING
    assert trail(session, claim)[-1].actor == ADA
    failed, succeeded = refunds_of(session, claim)
    assert failed.state is RefundState.PENDING
    assert failed.idempotency_key != old_key
    assert failed.idempotency_key.endswith("-try-2")
    assert (failed.attempts, failed.provider_refund_id) == (0, None)
    assert (succeeded.state, succeeded.idempotency_key) == (
        RefundState.SUCCEEDED,
        succeeded_before.idempotency_key,
    )


def test_retry_failed_without_a_reason_is_invalid_and_touches_no_refund(session, failed_claim):
    before = snapshot(session, failed_claim)

    with pytest.raises(Invalid):
        claims.retry_failed(session, failed_claim.id, actor=ADA, reason="")

    assert not session.dirty
    assert snapshot(session, failed_claim) == before


@pytest.mark.parametrize("state", [S.PAYING, S.REFUNDED, S.SETTLED_MANUALLY])
def test_retry_a_claim_that_has_not_failed_is_refused(session, state):
    claim = AuditedRefundClaimFactory(state=state)
    RefundFactory(claim=claim, state=RefundState.FAILED)
    before = snapshot(session, claim)

    with pytest.raises(Conflict):
        claims.retry_failed(session, claim.id, actor=ADA, reason="try again")

    assert snapshot(session, claim) == before


# --- settle_from_refunds ---------------------------------------------------------------------


def claim_with_refunds(state: ClaimState, *refund_states: RefundState) -> RefundClaim:
    claim = AuditedRefundClaimFactory(state=state)
    for refund_state in refund_states:
        RefundFactory(claim=claim, state=refund_state)
    return claim


def test_settle_from_refunds_all_succeeded_makes_a_paying_claim_refunded(session):
    claim = claim_with_refunds(S.PAYING, RefundState.SUCCEEDED, RefundState.SUCCEEDED)

    claims.settle_from_refunds(session, claim, actor="system:webhook")

    claim = reload(session, claim)
    assert claim.state is S.REFUNDED
    assert trail(session, claim)[-1].actor == "system:webhook"


def test_settle_from_refunds_ignores_canceled_refunds(session):
    claim = claim_with_refunds(S.PAYING, RefundState.SUCCEEDED, RefundState.CANCELED)

    claims.settle_from_refunds(session, claim, actor="system:webhook")

    assert reload(session, claim).state is S.REFUNDED


@pytest.mark.parametrize("state", [S.PAYING, S.REFUNDED])
def test_settle_from_refunds_any_failed_makes_the_claim_failed(session, state):
    claim = claim_with_refunds(state, RefundState.SUCCEEDED, RefundState.FAILED)
    failed = refunds_of(session, claim)[1]
    failed.last_error = "lost_or_stolen_card"

    claims.settle_from_refunds(session, claim, actor="system:webhook")

    claim = reload(session, claim)
    assert claim.state is S.FAILED
    last = trail(session, claim)[-1]
    assert last.from_state is state
    assert f"payment {failed.payment_id}" in last.reason
    assert "lost_or_stolen_card" in last.reason


@pytest.mark.parametrize(
    "refund_states",
    [
        (RefundState.SUCCEEDED, RefundState.PROCESSING),
        (RefundState.SUCCEEDED, RefundState.PENDING),
        (RefundState.SUBMITTING,),
    ],
    ids=["one-processing", "one-pending", "submitting"],
)
def test_settle_from_refunds_leaves_a_claim_paying_while_a_refund_is_unsettled(
    session, refund_states
):
    claim = claim_with_refunds(S.PAYING, *refund_states)

    claims.settle_from_refunds(session, claim, actor="system:webhook")

    claim = reload(session, claim)
    assert claim.state is S.PAYING
    assert claim.version == 1
