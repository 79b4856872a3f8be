"""What people (and the scheduler) do to a refund claim.

``transition`` is the one function that changes a claim's state: it checks the move against
``refunds.states.TRANSITIONS``, writes the audit row and bumps the claim's version, so two
people acting at once cannot both win. Every other function here goes through it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.models import TuitionPayment
from app.services.errors import Conflict, Invalid, NotFound
from refunds.amounts import split_refund
from refunds.models import ClaimApproval, ClaimTransition, Refund, RefundClaim
from refunds.states import (
    ClaimState,
    ImpossibleTransition,
    RefundState,
    check_transition,
)

S = ClaimState

#: States from which finance can approve, reject, or send back to review.
DECIDABLE = frozenset({S.FLAGGED, S.IN_REVIEW, S.AWAITING_SECOND_APPROVAL})


def transition(
    session: Session, claim: RefundClaim, target: ClaimState, *, actor: str, reason: str
) -> ClaimTransition:
    """Move ``claim`` to ``target``, recording who, when, from, to and why."""
    try:
        check_transition(claim.state, target)
    except ImpossibleTransition as error:
        raise Conflict(str(error), "state") from error
    record = ClaimTransition(
        claim_id=claim.id, from_state=claim.state, to_state=target, actor=actor, reason=reason
    )
    claim.state = target
    session.add(record)
    # The claim's trail is also in the service-wide audit log, beside sign-ins and refusals.
    audit.record(session, actor, f"claim.{target.value}", f"claim:{claim.id}", reason)
    session.flush()
    return record


def lock_claim(session: Session, claim_id: int, expected_version: int | None = None) -> RefundClaim:
    """The claim, locked for this transaction (a row lock on PostgreSQL).

    ``expected_version`` is the version the person acting saw: if the claim changed since,
    their action is refused rather than applied to something they have not seen.
    """
    claim = session.scalar(
        select(RefundClaim)
        .where(RefundClaim.id == claim_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if claim is None:
        raise NotFound("RefundClaim", claim_id)
    if expected_version is not None and expected_version != claim.version:
        raise Conflict(
            f"claim {claim_id} changed since you read it (version {expected_version}, now"
            f" {claim.version}); reload it and decide again",
            "version",
        )
    return claim


def lock_refund(session: Session, refund_id: int) -> Refund:
    """The refund, locked and re-read for this transaction; lock its claim first (lock order)."""
    return session.scalar(
        select(Refund)
        .where(Refund.id == refund_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _require_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise Invalid.field("reason", "give a reason")
    return reason.strip()


def start_review(
    session: Session, claim_id: int, *, actor: str, reason: str, expected_version: int | None = None
) -> RefundClaim:
    """Put a claim under review; from ``rejected`` this is an appeal, with a new reviewer."""
    claim = lock_claim(session, claim_id, expected_version)
    if claim.state is S.REJECTED:
        first_reviewer = session.scalar(
            select(ClaimTransition.actor)
            .where(ClaimTransition.claim_id == claim.id, ClaimTransition.to_state == S.REJECTED)
            .order_by(ClaimTransition.id.desc())
            .limit(1)
        )
        if first_reviewer == actor:
            raise Conflict("an appeal is heard by a second reviewer, not the one who rejected it")
    transition(session, claim, S.IN_REVIEW, actor=actor, reason=_require_reason(reason))
    _cancel_unsent_refunds(session, claim)
    return claim


def approve(
    session: Session,
    claim_id: int,
    *,
    actor: str,
    reason: str | None,
    dual_approval_threshold_minor: int,
    expected_version: int | None = None,
) -> RefundClaim:
    """Approve a claim. Above the threshold a second, different person must approve too.

    The final approval writes one refund per original payment, in this same transaction:
    the executor sends them from there.
    """
    claim = lock_claim(session, claim_id, expected_version)
    if claim.state not in DECIDABLE:
        raise Conflict(f"a {claim.state.value} claim cannot be approved", "state")
    approvers = {approval.actor for approval in _approvals(session, claim)}
    if actor in approvers:
        raise Conflict("you approved this claim already; a second person must approve it")
    reason = (reason or "").strip() or "approved"
    session.add(ClaimApproval(claim_id=claim.id, actor=actor, reason=reason))
    # Only the approval that made the claim await a second one counts with this one: approvals
    # given before the claim went back to review (a late job, an appeal) decided on less.
    needs_second = claim.amount_minor > dual_approval_threshold_minor
    if needs_second and claim.state is not S.AWAITING_SECOND_APPROVAL:
        transition(
            session,
            claim,
            S.AWAITING_SECOND_APPROVAL,
            actor=actor,
            reason=f"first of two approvals: {reason}",
        )
        return claim
    transition(session, claim, S.APPROVED, actor=actor, reason=reason)
    _write_refunds(session, claim)
    return claim


def _approvals(session: Session, claim: RefundClaim) -> list[ClaimApproval]:
    return list(session.scalars(select(ClaimApproval).where(ClaimApproval.claim_id == claim.id)))


def _write_refunds(session: Session, claim: RefundClaim) -> None:
    payments = list(
        session.scalars(
            select(TuitionPayment)
            .where(TuitionPayment.enrollment_id == claim.enrollment_id)
            .order_by(TuitionPayment.paid_at, TuitionPayment.id)
        )
    )
    paid = sum(payment.amount_minor for payment in payments)
    if claim.amount_minor > paid:
        raise Conflict(
            f"the claim is for {claim.amount_minor} but only {paid} was paid; the payments"
            " changed since it was flagged, so review it again"
        )
    shares = split_refund(claim.amount_minor, [payment.amount_minor for payment in payments])
    existing = {refund.payment_id: refund for refund in _refunds(session, claim)}
    for payment, share in zip(payments, shares, strict=True):
        if share == 0:
            continue
        refund = existing.get(payment.id)
        if refund is None:
            session.add(
                Refund(
                    claim_id=claim.id,
                    payment_id=payment.id,
                    amount_minor=share,
                    currency=payment.currency,
                    idempotency_key=_idempotency_key(claim.id, payment.id, 1),
                )
            )
        elif refund.state is RefundState.CANCELED:
            # Approved again after a review: the refund that was called off is revived.
            _reset_refund(refund, share)
        else:
            raise Conflict(f"payment {payment.id} has a {refund.state.value} refund already")
    session.flush()
    if not any(shares):
        # Nothing to send (a scholarship covered everything): the claim is paid as it stands.
        transition(session, claim, S.PAYING, actor="system:approval", reason="nothing to refund")
        transition(session, claim, S.REFUNDED, actor="system:approval", reason="nothing to refund")


def reject(
    session: Session, claim_id: int, *, actor: str, reason: str, expected_version: int | None = None
) -> RefundClaim:
    """Refuse a claim, with a reason the graduate can read; it can be appealed."""
    claim = lock_claim(session, claim_id, expected_version)
    if claim.state not in DECIDABLE:
        raise Conflict(f"a {claim.state.value} claim cannot be rejected", "state")
    transition(session, claim, S.REJECTED, actor=actor, reason=_require_reason(reason))
    return claim


def withdraw(
    session: Session, claim_id: int, *, actor: str, reason: str, expected_version: int | None = None
) -> RefundClaim:
    """Take a claim back (a qualifying job turned up, it was flagged by mistake)."""
    claim = lock_claim(session, claim_id, expected_version)
    transition(session, claim, S.WITHDRAWN, actor=actor, reason=_require_reason(reason))
    _cancel_unsent_refunds(session, claim)
    return claim


def _cancel_unsent_refunds(session: Session, claim: RefundClaim) -> None:
    # Only refunds nobody has started sending can be called off; the executor re-checks the
    # claim's state under lock before it sends anything.
    for refund in session.scalars(
        select(Refund).where(
            Refund.claim_id == claim.id,
            Refund.state == RefundState.PENDING,
            Refund.attempts == 0,
        )
    ):
        refund.state = RefundState.CANCELED
        refund.last_error = f"claim moved to {claim.state.value} before it was sent"
    session.flush()


def settle_manually(
    session: Session,
    claim_id: int,
    *,
    actor: str,
    transfer_reference: str,
    reason: str,
    expected_version: int | None = None,
) -> RefundClaim:
    """Record that finance paid the failed refunds by bank transfer; the claim ends there."""
    claim = lock_claim(session, claim_id, expected_version)
    if claim.state is not S.FAILED:
        raise Conflict("only a claim whose refund failed is settled by hand", "state")
    if not transfer_reference or not transfer_reference.strip():
        raise Invalid.field("transfer_reference", "give the bank transfer's reference")
    reason = _require_reason(reason)
    in_flight = [
        refund
        for refund in _refunds(session, claim)
        if refund.state in (RefundState.SUBMITTING, RefundState.PROCESSING)
    ]
    if in_flight:
        raise Conflict("refunds are still in flight at the provider; wait for them to settle")
    for refund in _refunds(session, claim):
        if refund.state in (RefundState.FAILED, RefundState.PENDING):
            refund.state = RefundState.SETTLED_MANUALLY
            refund.manual_reference = transfer_reference.strip()
    transition(
        session,
        claim,
        S.SETTLED_MANUALLY,
        actor=actor,
        reason=f"{reason} (transfer {transfer_reference.strip()})",
    )
    return claim


def retry_failed(
    session: Session, claim_id: int, *, actor: str, reason: str, expected_version: int | None = None
) -> RefundClaim:
    """Send the failed refunds of a claim again (after the cause was fixed)."""
    claim = lock_claim(session, claim_id, expected_version)
    if claim.state is not S.FAILED:
        raise Conflict("only a failed claim can be retried", "state")
    reason = _require_reason(reason)
    for refund in _refunds(session, claim):
        if refund.state is RefundState.FAILED:
            _reset_refund(refund, refund.amount_minor)
    transition(session, claim, S.PAYING, actor=actor, reason=reason)
    return claim


def _idempotency_key(claim_id: int, payment_id: int, generation: int) -> str:
    return f"claim-{claim_id}-payment-{payment_id}-try-{generation}"


def _reset_refund(refund: Refund, amount_minor: int) -> None:
    # A new attempt is a new request to the provider (the last one failed or was never
    # sent), so it gets a new idempotency key; the old provider refund id is forgotten.
    generation = int(refund.idempotency_key.rsplit("-", 1)[-1]) + 1
    refund.amount_minor = amount_minor
    refund.state = RefundState.PENDING
    refund.attempts = 0
    refund.first_attempt_at = None
    refund.next_attempt_at = None
    refund.lease_until = None
    refund.provider_refund_id = None
    refund.idempotency_key = _idempotency_key(refund.claim_id, refund.payment_id, generation)


def _refunds(session: Session, claim: RefundClaim) -> list[Refund]:
    return list(
        session.scalars(select(Refund).where(Refund.claim_id == claim.id).order_by(Refund.id))
    )


def settle_from_refunds(session: Session, claim: RefundClaim, *, actor: str) -> None:
    """Bring a paying claim's state in line with its refunds.

    Any failed refund puts the claim in front of finance; all refunds succeeded makes it
    refunded. Called with the claim locked, after a refund changed.
    """
    refunds = _refunds(session, claim)
    live = [refund for refund in refunds if refund.state is not RefundState.CANCELED]
    if any(refund.state is RefundState.FAILED for refund in live):
        if claim.state in (S.PAYING, S.REFUNDED):
            failed = next(refund for refund in live if refund.state is RefundState.FAILED)
            transition(
                session,
                claim,
                S.FAILED,
                actor=actor,
                reason=f"refund of payment {failed.payment_id} failed: {failed.last_error}",
            )
        return
    done = (RefundState.SUCCEEDED, RefundState.SETTLED_MANUALLY)
    if live and all(refund.state in done for refund in live) and claim.state is S.PAYING:
        transition(session, claim, S.REFUNDED, actor=actor, reason="every refund succeeded")


#: Claims a newly reported qualifying job sends back to review, before any money moves.
REVIEWABLE_ON_NEW_JOB = frozenset({S.FLAGGED, S.AWAITING_SECOND_APPROVAL, S.APPROVED})


def review_after_job_report(
    session: Session, graduation_id: int, *, outcome_id: int, actor: str
) -> RefundClaim | None:
    """A job was reported for a flagged graduate: if it qualifies, stop the claim for review.

    A job reported late but started inside the window means the graduate may not be owed;
    finance decides, and no refund is sent meanwhile.
    """
    from app.services.guarantee import evaluate_guarantee  # the guarantee reads claims too

    claim_id = session.scalar(
        select(RefundClaim.id).where(RefundClaim.graduation_id == graduation_id)
    )
    if claim_id is None:
        return None
    # Locked before its state is read: the executor may start paying it meanwhile.
    claim = lock_claim(session, claim_id)
    if claim.state not in REVIEWABLE_ON_NEW_JOB:
        return None
    view = evaluate_guarantee(session, graduation_id, claim.flagged_on)
    verdict = next(v for v in view.outcomes if v.job_outcome_id == outcome_id)
    if not verdict.qualifies:
        return None
    transition(
        session,
        claim,
        S.IN_REVIEW,
        actor=actor,
        reason=f"a qualifying job (outcome {outcome_id}) starting inside the window was reported",
    )
    _cancel_unsent_refunds(session, claim)
    return claim
