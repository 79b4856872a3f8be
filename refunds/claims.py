"""What people (and the scheduler) do to a refund claim.

``transition`` is the one function that changes a claim's state: it checks the move against
``refunds.states.TRANSITIONS``, writes the audit row and bumps the claim's version, so two
people acting at once cannot both win. Every other function here goes through it.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app import audit
from app.bulk_rows import insert_rows
from app.errors import Conflict, Invalid, NotFound
from app.guarantee.evaluation import Refundable, evaluate_guarantee, refundable_for
from app.guarantee.rules import GuaranteeState
from app.i18n import said_money
from app.labels import label
from app.models import AuditEvent, Enrollment, TuitionPayment
from app.models.base import utc_now
from app.observability import current_request_id
from refunds import notes
from refunds.amounts import describe_money
from refunds.gateway import GatewayError, PaymentGateway
from refunds.models import (
    ClaimAppeal,
    ClaimApproval,
    ClaimTransition,
    RecoveryItem,
    Refund,
    RefundClaim,
)
from refunds.payments import adopt, check_payments, find_adoptable
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
    session: Session,
    claim: RefundClaim,
    target: ClaimState,
    *,
    actor: str,
    reason: str,
    graduate_note: str | None = None,
    flush: bool = True,
) -> ClaimTransition:
    """Move ``claim`` to ``target``, recording who, when, from, to and why: ``reason`` is the
    internal note staff read, ``graduate_note`` what the graduate is told, if anything.

    ``flush=False`` leaves the writes to the caller's next flush (a batch of claims)."""
    try:
        check_transition(claim.state, target)
    except ImpossibleTransition as error:
        raise Conflict(str(error), "state") from error
    record = ClaimTransition(
        claim_id=claim.id,
        from_state=claim.state,
        to_state=target,
        actor=actor,
        reason=reason,
        graduate_note=graduate_note,
    )
    if target is S.IN_REVIEW:
        # Back to review starts a new approval round: what was approved before decided on less.
        claim.approval_round += 1
    claim.state = target
    session.add(record)
    # The claim's trail is also in the service-wide audit log, beside sign-ins and refusals.
    audit.record(session, actor, f"claim.{target.value}", f"claim:{claim.id}", reason)
    if flush:
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
            _(
                "claim %(claim)s changed since you read it (version %(read)s, now %(now)s);"
                " reload it and decide again",
                claim=claim_id,
                read=expected_version,
                now=claim.version,
            ),
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


#: The internal note of a step whose only note is the one for the graduate.
SEE_GRADUATE_NOTE = "(no internal note; see the note for the graduate)"


def _require_reason(reason: str | None, graduate_note: str | None = None) -> str:
    """The internal note, stripped; a step with a note for the graduate may leave it empty."""
    if reason and reason.strip():
        return reason.strip()
    if graduate_note:
        return SEE_GRADUATE_NOTE
    raise Invalid.field("reason", _("give a reason"))


def _note(graduate_note: str | None) -> str | None:
    """The note for the graduate, stripped; ``None`` when there is none."""
    return graduate_note.strip() if graduate_note and graduate_note.strip() else None


def start_review(
    session: Session,
    claim_id: int,
    *,
    actor: str,
    reason: str,
    graduate_note: str | None = None,
    expected_version: int | None = None,
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
            raise Conflict(
                _("an appeal is heard by a second reviewer, not the one who rejected it")
            )
    note = _note(graduate_note)
    transition(
        session,
        claim,
        S.IN_REVIEW,
        actor=actor,
        reason=_require_reason(reason, note),
        graduate_note=note,
    )
    _cancel_unsent_refunds(session, claim)
    return claim


def appeal(session: Session, claim_id: int, *, actor: str, reasons: str) -> ClaimAppeal:
    """Record the graduate's appeal of their claim's latest rejection, with their reasons.

    The claim stays rejected until a second reviewer hears the appeal (``start_review``, which
    refuses the person who rejected it). A rejection is appealed once.
    """
    claim = lock_claim(session, claim_id)
    if claim.state is not S.REJECTED:
        raise Conflict(
            _("a claim that is %(state)s cannot be appealed", state=label(claim.state)), "state"
        )
    reasons = (reasons or "").strip()
    if not reasons:
        raise Invalid.field("reasons", _("say why the decision should change"))
    rejection = session.scalar(
        select(ClaimTransition)
        .where(ClaimTransition.claim_id == claim.id, ClaimTransition.to_state == S.REJECTED)
        .order_by(ClaimTransition.id.desc())
        .limit(1)
    )
    taken = session.scalar(select(ClaimAppeal.id).where(ClaimAppeal.rejection_id == rejection.id))
    if taken is not None:
        raise Conflict(_("this rejection has been appealed already"), "state")
    record = ClaimAppeal(
        claim_id=claim.id, rejection_id=rejection.id, reasons=reasons, submitted_by=actor
    )
    session.add(record)
    session.flush()
    audit.record(session, actor, "claim.appealed", f"claim:{claim.id}", reasons)
    return record


def start_reviews(session: Session, reasons: dict[int, str], *, actor: str) -> None:
    """``start_review`` of many flagged claims at once (the review after the sweep): each
    claim ``id`` with its reason. Only for claims nobody has decided yet (still flagged): an
    appeal goes through ``start_review``.

    Set-based, with the rows ``transition`` writes for each claim: one UPDATE moves them all
    (state, approval round, version), only while they are still flagged, and a claim another
    transaction moved meanwhile makes it a conflict (on PostgreSQL the UPDATE waits for that
    transaction's row lock, then sees its result); then their transitions and audit rows are
    inserted in a batch, and their unsent refunds called off in one UPDATE.
    """
    if not reasons:
        return
    for claim_id in reasons:
        _require_reason(reasons[claim_id])
    check_transition(S.FLAGGED, S.IN_REVIEW)
    ids = sorted(reasons)  # rows are locked in one order: two batches cannot deadlock
    now = utc_now()
    moved = session.scalars(
        update(RefundClaim)
        .where(RefundClaim.id.in_(ids), RefundClaim.state == S.FLAGGED)
        .values(
            state=S.IN_REVIEW,
            # Back to review starts a new approval round (as ``transition`` does).
            approval_round=RefundClaim.approval_round + 1,
            version=RefundClaim.version + 1,
            updated_at=now,
        )
        .returning(RefundClaim.id)
        .execution_options(synchronize_session=False)
    ).all()
    _expire(session, RefundClaim, moved)
    if len(moved) != len(ids):
        raise Conflict(
            _(
                "a claim sent to review was decided meanwhile; an appeal is heard one claim at a"
                " time, by a second reviewer"
            ),
            "state",
        )
    insert_rows(
        session,
        ClaimTransition.__table__,
        {
            "from_state": S.FLAGGED,
            "to_state": S.IN_REVIEW,
            "actor": actor,
            "graduate_note": None,
            "at": now,
        },
        {"claim_id": ids, "reason": [reasons[claim_id] for claim_id in ids]},
    )
    audit.record_many(
        session,
        actor,
        f"claim.{S.IN_REVIEW.value}",
        [(f"claim:{claim_id}", reasons[claim_id]) for claim_id in ids],
    )
    canceled = session.scalars(
        update(Refund)
        .where(
            Refund.claim_id.in_(ids),
            Refund.state == RefundState.PENDING,
            Refund.attempts == 0,
        )
        .values(
            state=RefundState.CANCELED,
            last_error=f"claim moved to {S.IN_REVIEW.value} before it was sent",
            updated_at=now,
        )
        .returning(Refund.id)
        .execution_options(synchronize_session=False)
    )
    _expire(session, Refund, canceled.all())


def _expire(session: Session, model: type, ids: list[int]) -> None:
    # What a set-based UPDATE changed is read again by whoever holds these rows in the session
    # (looked up by key: scanning a batch job's whole identity map would cost more).
    for row_id in ids:
        held = session.identity_map.get(identity_key(model, row_id))
        if held is not None:
            session.expire(held)


def approve(
    session: Session,
    claim_id: int,
    *,
    actor: str,
    reason: str | None,
    dual_approval_threshold_minor: int,
    provider: PaymentGateway | None,
    graduate_note: str | None = None,
    expected_version: int | None = None,
) -> RefundClaim:
    """Approve a claim. Above the threshold a second, different person must approve too;
    ``graduate_note`` goes with the final approval, which the graduate is told of.

    The amount is derived again at each approval, from the payments as they stand and from what
    the provider says of them (``refunds.payments.check_payments``): a payment recorded since
    the claim was flagged is counted, a refund made outside the service is left out, a
    PaymentIntent that does not match its payment is refused. Only the approvals of the current
    round count; if the amount changed since this round's first approval, the approvals start
    again. The final approval writes one refund per original payment, in this same transaction.
    """
    claim = lock_claim(session, claim_id, expected_version)
    if claim.state not in DECIDABLE:
        raise Conflict(
            _("a claim that is %(state)s cannot be approved", state=label(claim.state)), "state"
        )
    current = current_approvals(session, claim)
    if actor in {approval.actor for approval in current}:
        raise Conflict(
            _("you approved this claim already in this round; a second person must approve it")
        )
    if not owed_now(session, claim):
        raise Conflict(
            _(
                "the records say this graduate is not owed a refund (a qualifying job, an"
                " excluded outcome, or a window still open): record a dispute of that fact first,"
                " or reject or withdraw the claim"
            ),
            "state",
        )
    refundable = derive_refundable(session, claim, provider)
    reason = (reason or "").strip() or "approved"
    changed = [approval for approval in current if approval.amount_minor != refundable.amount_minor]
    if changed:
        first = changed[0]
        amount = _money(claim, refundable.amount_minor)
        transition(
            session,
            claim,
            S.IN_REVIEW,
            actor=actor,
            reason=(
                notes.note(notes.AMOUNT_CHANGED_FROM_UNKNOWN, amount=amount, actor=first.actor)
                if first.amount_minor is None
                else notes.note(
                    notes.AMOUNT_CHANGED,
                    amount=amount,
                    was=_money(claim, first.amount_minor),
                    actor=first.actor,
                )
            ),
        )
        current = []
    if refundable.amount_minor != claim.amount_minor:
        audit.record(
            session,
            actor,
            "claim.amount_derived",
            f"claim:{claim.id}",
            f"{_money(claim, claim.amount_minor)} -> {_money(claim, refundable.amount_minor)}",
        )
        claim.amount_minor = refundable.amount_minor
    session.add(
        ClaimApproval(
            claim_id=claim.id,
            round=claim.approval_round,
            amount_minor=refundable.amount_minor,
            actor=actor,
            reason=reason,
        )
    )
    needs_second = refundable.amount_minor > dual_approval_threshold_minor
    if needs_second and not current:
        transition(
            session,
            claim,
            S.AWAITING_SECOND_APPROVAL,
            actor=actor,
            reason=notes.note(notes.FIRST_APPROVAL, reason=reason),
        )
        return claim
    transition(
        session, claim, S.APPROVED, actor=actor, reason=reason, graduate_note=_note(graduate_note)
    )
    _write_refunds(session, claim, refundable)
    return claim


def current_approvals(session: Session, claim: RefundClaim) -> list[ClaimApproval]:
    """The approvals of the claim's current round, first first."""
    return list(
        session.scalars(
            select(ClaimApproval)
            .where(ClaimApproval.claim_id == claim.id, ClaimApproval.round == claim.approval_round)
            .order_by(ClaimApproval.id)
        )
    )


def _payments(session: Session, enrollment_id: int) -> list[TuitionPayment]:
    return list(
        session.scalars(
            select(TuitionPayment)
            .where(TuitionPayment.enrollment_id == enrollment_id)
            .order_by(TuitionPayment.paid_at, TuitionPayment.id)
            .execution_options(populate_existing=True)
        )
    )


def derive_refundable(
    session: Session, claim: RefundClaim, provider: PaymentGateway | None
) -> Refundable:
    """The refund as the payments and the provider stand now, split over the payments."""
    enrollment = session.get(Enrollment, claim.enrollment_id)
    payments = _payments(session, claim.enrollment_id)
    at_provider = check_payments(payments, claim.id, provider)
    session.refresh(enrollment, ["payments"])
    refundable = refundable_for(
        enrollment,
        {payment_id: seen.refunded_elsewhere_minor for payment_id, seen in at_provider.items()},
    )
    sent = {
        refund.payment_id
        for refund in _refunds(session, claim)
        if refund.provider_refund_id is not None
    }
    for share in refundable.split:
        seen = at_provider.get(share.payment_id)
        if seen is None or not seen.refunded_for_claim_minor or share.payment_id in sent:
            continue
        if seen.refunded_for_claim_minor != share.amount_minor:
            # A send this database does not remember (it was restored from an older backup)
            # moved another amount than the one derived now: a person must decide.
            raise Conflict(
                _(
                    "the payment provider already refunded %(refunded)s on payment %(payment)s"
                    " for this claim, in a send this database does not remember; the share"
                    " derived now is %(share)s: settle the difference by hand",
                    refunded=said_money(seen.refunded_for_claim_minor, claim.currency),
                    payment=share.payment_id,
                    share=said_money(share.amount_minor, claim.currency),
                ),
                "payments",
            )
    return refundable


def _money(claim: RefundClaim, amount_minor: int) -> str:
    return describe_money(amount_minor, claim.currency)


def _write_refunds(session: Session, claim: RefundClaim, refundable: Refundable) -> None:
    existing = {refund.payment_id: refund for refund in _refunds(session, claim)}
    currencies = {
        payment.id: payment.currency for payment in _payments(session, claim.enrollment_id)
    }
    for share in refundable.split:
        if share.amount_minor == 0:
            continue
        refund = existing.get(share.payment_id)
        if refund is None:
            session.add(
                Refund(
                    claim_id=claim.id,
                    payment_id=share.payment_id,
                    amount_minor=share.amount_minor,
                    currency=currencies[share.payment_id],
                    idempotency_key=_idempotency_key(claim.id, share.payment_id, 1),
                    request_id=current_request_id.get(),
                )
            )
        elif refund.state is RefundState.CANCELED and refund.attempts == 0:
            # Approved again after a review: the refund that was called off is revived, for
            # the amount derived now (nothing of it was ever sent).
            _reset_refund(refund, share.amount_minor)
            refund.request_id = current_request_id.get()
        else:
            raise Conflict(
                _(
                    "payment %(payment)s has a refund already (%(state)s)",
                    payment=share.payment_id,
                    state=label(refund.state),
                )
            )
    session.flush()
    if not any(share.amount_minor for share in refundable.split):
        # Nothing to send (a scholarship covered everything): the claim is paid as it stands.
        nothing = notes.note(notes.NOTHING_TO_REFUND)
        transition(session, claim, S.PAYING, actor="system:approval", reason=nothing)
        transition(session, claim, S.REFUNDED, actor="system:approval", reason=nothing)


def reject(
    session: Session,
    claim_id: int,
    *,
    actor: str,
    reason: str,
    graduate_note: str | None = None,
    expected_version: int | None = None,
) -> RefundClaim:
    """Refuse a claim; it can be appealed. ``graduate_note`` is what the graduate reads of why
    (with how to appeal); ``reason`` is for staff only.

    Whether the rule said the graduate was owed is kept: a claim rejected on the facts (not
    owed then) reopens by itself when the facts change; one rejected on judgment waits for an
    appeal.
    """
    claim = lock_claim(session, claim_id, expected_version)
    if claim.state not in DECIDABLE:
        raise Conflict(
            _("a claim that is %(state)s cannot be rejected", state=label(claim.state)), "state"
        )
    note = _note(graduate_note)
    claim.closed_while_owed = owed_now(session, claim)
    transition(
        session,
        claim,
        S.REJECTED,
        actor=actor,
        reason=_require_reason(reason, note),
        graduate_note=note,
    )
    return claim


#: What the rule says of a graduate the service still owes a refund.
OWED = frozenset({GuaranteeState.OWED_REFUND, GuaranteeState.PAST_CLAIM_DEADLINE})


def owed_now(session: Session, claim: RefundClaim, today: date | None = None) -> bool:
    """Whether the rule, on the records as they stand, says the claim's graduate is owed."""
    view = evaluate_guarantee(session, claim.graduation_id, today or utc_now().date())
    return view.status.state in OWED


def withdraw(
    session: Session,
    claim_id: int,
    *,
    actor: str,
    reason: str,
    graduate_note: str | None = None,
    expected_version: int | None = None,
) -> RefundClaim:
    """Take a claim back because the facts say the graduate is not owed (a job, an exclusion).

    Refused while the records still say the graduate is owed: record the fact first, or reject
    the claim with a reason the graduate can read (and appeal). So a withdrawn claim never hides
    an owed graduate, and it reopens if the facts change again.
    """
    claim = lock_claim(session, claim_id, expected_version)
    check_transition_or_conflict(claim, S.WITHDRAWN)
    note = _note(graduate_note)
    reason = _require_reason(reason, note)
    if owed_now(session, claim):
        raise Conflict(
            _(
                "the records say this graduate is owed a refund: record the job or the excluded"
                " outcome that says otherwise, or reject the claim with a reason they can read"
            ),
            "state",
        )
    claim.closed_while_owed = False
    transition(session, claim, S.WITHDRAWN, actor=actor, reason=reason, graduate_note=note)
    _cancel_unsent_refunds(session, claim)
    return claim


def check_transition_or_conflict(claim: RefundClaim, target: ClaimState) -> None:
    """``check_transition`` as a 409 for the person acting."""
    try:
        check_transition(claim.state, target)
    except ImpossibleTransition as error:
        raise Conflict(str(error), "state") from error


#: Closed claims that reopen when the facts make their graduate owed again.
REOPENABLE = frozenset({S.WITHDRAWN, S.REJECTED})


def reopen_if_owed(
    session: Session, claim_id: int, *, actor: str, reason: str, today: date | None = None
) -> RefundClaim | None:
    """Reopen a claim closed on the facts (withdrawn, or rejected while not owed) if the rule
    now says its graduate is owed; it goes to review, in a new approval round."""
    claim = lock_claim(session, claim_id)
    if claim.state not in REOPENABLE or claim.closed_while_owed:
        return None
    if not owed_now(session, claim, today):
        return None
    claim.closed_while_owed = None
    transition(session, claim, S.IN_REVIEW, actor=actor, reason=reason)
    return claim


def reopen_for_graduation(
    session: Session, graduation_id: int, *, actor: str, reason: str
) -> RefundClaim | None:
    """``reopen_if_owed`` for the claim of a graduation, if it has one (after new evidence)."""
    claim_id = session.scalar(
        select(RefundClaim.id).where(RefundClaim.graduation_id == graduation_id)
    )
    if claim_id is None:
        return None
    return reopen_if_owed(session, claim_id, actor=actor, reason=reason)


def _cancel_unsent_refunds(session: Session, *claims: RefundClaim) -> None:
    # Only refunds nobody has started sending can be called off; the executor re-checks the
    # claim's state under lock before it sends anything.
    states = {claim.id: claim.state for claim in claims}
    for refund in session.scalars(
        select(Refund).where(
            Refund.claim_id.in_(list(states)),
            Refund.state == RefundState.PENDING,
            Refund.attempts == 0,
        )
    ):
        refund.state = RefundState.CANCELED
        refund.last_error = f"claim moved to {states[refund.claim_id].value} before it was sent"
    session.flush()


def settle_manually(
    session: Session,
    claim_id: int,
    *,
    actor: str,
    transfer_reference: str,
    reason: str,
    provider: PaymentGateway | None,
    graduate_note: str | None = None,
    expected_version: int | None = None,
) -> RefundClaim:
    """Record that finance paid the failed refunds by bank transfer; the claim ends there.

    The provider is asked first: a refund it holds for one of the claim's rows (a success whose
    answer was lost) is adopted and committed, and the settlement refused with its id
    (``ProviderHoldsRefund``), so the bank never pays what the card already got back.
    """
    claim = lock_claim(session, claim_id, expected_version)
    if claim.state is not S.FAILED:
        raise Conflict(_("only a claim whose refund failed is settled by hand"), "state")
    if not transfer_reference or not transfer_reference.strip():
        raise Invalid.field("transfer_reference", _("give the bank transfer's reference"))
    note = _note(graduate_note)
    reason = _require_reason(reason, note)
    in_flight = [
        refund
        for refund in _refunds(session, claim)
        if refund.state in (RefundState.SUBMITTING, RefundState.PROCESSING)
    ]
    if in_flight:
        raise Conflict(_("refunds are still in flight at the provider; wait for them to settle"))
    adopted = adopt_from_provider(session, claim, provider, actor=actor)
    if adopted:
        session.commit()
        raise ProviderHoldsRefund(adopted)
    for refund in _refunds(session, claim):
        if refund.state in (RefundState.FAILED, RefundState.PENDING):
            refund.state = RefundState.SETTLED_MANUALLY
            refund.manual_reference = transfer_reference.strip()
    transition(
        session,
        claim,
        S.SETTLED_MANUALLY,
        actor=actor,
        reason=notes.note(
            notes.SETTLED_BY_TRANSFER, reason=reason, reference=transfer_reference.strip()
        ),
        graduate_note=note,
    )
    return claim


class ProviderHoldsRefund(Conflict):
    """The provider made a refund the service had recorded as failed or unsent."""

    def __init__(self, adopted: list[str]):
        super().__init__(
            "the payment provider already holds "
            + ", ".join(adopted)
            + ": recorded now, so nothing is paid by bank transfer",
            "state",
        )
        self.adopted = adopted


def adopt_from_provider(
    session: Session, claim: RefundClaim, provider: PaymentGateway | None, *, actor: str
) -> list[str]:
    """Adopt every refund the provider holds for a row of ``claim`` that has none recorded.

    Rows failed, pending or submitting are compared with the provider's refunds of their
    PaymentIntent; one whose metadata names the row is the row's (the provider's record wins).
    Returns a description of each refund adopted. The claim then follows its refunds.
    """
    rows = [
        refund
        for refund in _refunds(session, claim)
        if refund.provider_refund_id is None
        and refund.state in (RefundState.FAILED, RefundState.PENDING, RefundState.SUBMITTING)
    ]
    adopted = []
    for refund in rows:
        intent_id = session.scalar(
            select(TuitionPayment.stripe_payment_intent_id).where(
                TuitionPayment.id == refund.payment_id
            )
        )
        if intent_id is None:
            continue
        if provider is None:
            raise Conflict(
                _("no payment provider is configured to check what it already refunded"), "state"
            )
        try:
            found = find_adoptable(provider.list_refunds(intent_id), refund)
        except GatewayError as error:
            raise Conflict(
                _(
                    "the payment provider could not be asked about %(intent)s (%(error)s); try"
                    " again",
                    intent=intent_id,
                    error=error,
                ),
                "state",
            ) from error
        if found is not None:
            adopt(refund, found)
            adopted.append(
                f"refund {found.id} of {describe_money(found.amount_minor, refund.currency)}"
                f" for payment {refund.payment_id} ({found.status})"
            )
    if adopted:
        settle_from_refunds(session, claim, actor=actor)
    return adopted


def retry_failed(
    session: Session,
    claim_id: int,
    *,
    actor: str,
    reason: str,
    graduate_note: str | None = None,
    expected_version: int | None = None,
) -> RefundClaim:
    """Send the failed refunds of a claim again (after the cause was fixed)."""
    claim = lock_claim(session, claim_id, expected_version)
    if claim.state is not S.FAILED:
        raise Conflict(_("only a failed claim can be retried"), "state")
    note = _note(graduate_note)
    reason = _require_reason(reason, note)
    for refund in _refunds(session, claim):
        if refund.state is RefundState.FAILED:
            _reset_refund(refund, refund.amount_minor)
            refund.request_id = current_request_id.get()
    transition(session, claim, S.PAYING, actor=actor, reason=reason, graduate_note=note)
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


def settling_moves(state: ClaimState, refunds) -> list[tuple[ClaimState, str]]:
    """The moves (target state, reason) that bring a claim in ``state`` in line with its
    ``refunds`` (anything with ``state``, ``payment_id`` and ``last_error``), in order.

    Any failed refund puts a paying claim in front of finance; every refund done makes an
    approved, paying or failed claim refunded (an adopted provider refund can finish a claim
    that looked unsent or failed).
    """
    live_rows = [refund for refund in refunds if refund.state is not RefundState.CANCELED]
    failed = next((refund for refund in live_rows if refund.state is RefundState.FAILED), None)
    if failed is not None:
        if state in (S.PAYING, S.REFUNDED):
            reason = notes.note(
                notes.REFUND_FAILED, payment=failed.payment_id, error=failed.last_error
            )
            return [(S.FAILED, reason)]
        return []
    done = (RefundState.SUCCEEDED, RefundState.SETTLED_MANUALLY)
    if not live_rows or not all(refund.state in done for refund in live_rows):
        return []
    moves = []
    if state in (S.APPROVED, S.FAILED):
        moves.append((S.PAYING, notes.note(notes.PROVIDER_HOLDS)))
        state = S.PAYING
    if state is S.PAYING:
        moves.append((S.REFUNDED, notes.note(notes.ALL_SUCCEEDED)))
    return moves


def settle_from_refunds(session: Session, claim: RefundClaim, *, actor: str) -> None:
    """Bring a claim's state in line with its refunds (``settling_moves``). Called with the
    claim locked, after a refund changed."""
    for target, reason in settling_moves(claim.state, _refunds(session, claim)):
        transition(session, claim, target, actor=actor, reason=reason)


_CLAIMS = RefundClaim.__table__

#: ``transition_row``'s writes, built once and run with each move's values.
_MOVE_CLAIM = (
    update(_CLAIMS)
    .where(_CLAIMS.c.id == bindparam("claim"))
    .values(
        state=bindparam("target", type_=_CLAIMS.c.state.type),
        version=_CLAIMS.c.version + 1,
        updated_at=bindparam("moved_at", type_=_CLAIMS.c.updated_at.type),
    )
)
_RECORD_MOVE = insert(ClaimTransition.__table__)
_TRANSITIONS = ClaimTransition.__table__
_AUDIT = AuditEvent.__table__
#: The three in one statement on PostgreSQL (data-modifying CTEs): one round trip, the same
#: writes, none reading another's.
_MOVE_RECORD_AUDIT = (
    insert(_AUDIT)
    .add_cte(
        _MOVE_CLAIM.cte("moved"),
        insert(_TRANSITIONS)
        .values(
            claim_id=bindparam("claim"),
            from_state=bindparam("from_state_value", type_=_TRANSITIONS.c.from_state.type),
            to_state=bindparam("target"),
            actor=bindparam("mover"),
            reason=bindparam("why"),
            graduate_note=None,
            at=bindparam("moved_at"),
        )
        .cte("recorded"),
    )
    .values(
        at=bindparam("moved_at"),
        actor=bindparam("mover"),
        action=bindparam("audit_action"),
        target=bindparam("audit_target"),
        detail=bindparam("why"),
        ip_address=None,
    )
)


def transition_row(
    session: Session,
    claim_id: int,
    current: ClaimState,
    target: ClaimState,
    *,
    actor: str,
    reason: str,
) -> None:
    """``transition`` of a claim locked and read as a row, not an object (the refund
    executor's steps): the same check and the same writes (the claim's state and version, its
    transition, the audit line), as three statements instead of a unit of work's flush.
    Not for a move to review, which also starts an approval round."""
    try:
        check_transition(current, target)
    except ImpossibleTransition as error:
        raise Conflict(str(error), "state") from error
    if target is S.IN_REVIEW:
        raise ValueError("a claim goes back to review through transition()")
    now = utc_now()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(
            _MOVE_RECORD_AUDIT,
            {
                "claim": claim_id,
                "target": target,
                "moved_at": now,
                "from_state_value": current,
                "mover": actor,
                "why": reason,
                "audit_action": f"claim.{target.value}",
                "audit_target": f"claim:{claim_id}",
            },
        )
        return
    connection.execute(_MOVE_CLAIM, {"claim": claim_id, "target": target, "moved_at": now})
    connection.execute(
        _RECORD_MOVE,
        {
            "claim_id": claim_id,
            "from_state": current,
            "to_state": target,
            "actor": actor,
            "reason": reason,
            "graduate_note": None,
            "at": now,
        },
    )
    audit.record_row(session, actor, f"claim.{target.value}", f"claim:{claim_id}", reason, at=now)


#: Claims a newly reported qualifying job sends back to review, before any money moves.
REVIEWABLE_ON_NEW_JOB = frozenset({S.FLAGGED, S.AWAITING_SECOND_APPROVAL, S.APPROVED})

#: Claims whose money has (or may have) moved: a qualifying job now opens a recovery item.
MONEY_MOVED = frozenset({S.PAYING, S.REFUNDED, S.FAILED, S.SETTLED_MANUALLY})


def review_after_job_report(
    session: Session, graduation_id: int, *, outcome_id: int, actor: str
) -> RefundClaim | None:
    """A job was reported (or confirmed) for a flagged graduate: act if it qualifies.

    Before money moves, a qualifying job started inside the window stops the claim for review
    (finance decides; no refund is sent meanwhile). After, it opens a recovery item for
    finance; nothing is clawed back automatically.
    """
    claim_id = session.scalar(
        select(RefundClaim.id).where(RefundClaim.graduation_id == graduation_id)
    )
    if claim_id is None:
        return None
    # Locked before its state is read: the executor may start paying it meanwhile.
    claim = lock_claim(session, claim_id)
    if claim.state not in REVIEWABLE_ON_NEW_JOB | MONEY_MOVED:
        return None
    view = evaluate_guarantee(session, graduation_id, claim.flagged_on)
    verdict = next(v for v in view.outcomes if v.job_outcome_id == outcome_id)
    if not verdict.qualifies:
        return None
    if claim.state in MONEY_MOVED:
        open_recovery_item(session, claim, outcome_id=outcome_id, actor=actor)
        return claim
    transition(
        session,
        claim,
        S.IN_REVIEW,
        actor=actor,
        reason=notes.note(notes.JOB_REPORTED, job=outcome_id),
    )
    _cancel_unsent_refunds(session, claim)
    return claim


def after_evidence_change(
    session: Session, graduation_id: int, *, outcome_id: int, actor: str, reason: str
) -> RefundClaim | None:
    """What the claim does when a job's evidence changes (reported, confirmed, denied,
    disputed, corrected): a qualifying job stops it for review (or opens a recovery item once
    money moved); a job that stops counting reopens a claim closed on it."""
    claim = review_after_job_report(session, graduation_id, outcome_id=outcome_id, actor=actor)
    return reopen_for_graduation(session, graduation_id, actor=actor, reason=reason) or claim


def open_recovery_item(
    session: Session, claim: RefundClaim, *, outcome_id: int, actor: str
) -> RecoveryItem:
    """Put a paid claim contradicted by a qualifying job in front of finance (once per job)."""
    item = session.scalar(
        select(RecoveryItem).where(
            RecoveryItem.claim_id == claim.id, RecoveryItem.job_outcome_id == outcome_id
        )
    )
    if item is not None:
        return item
    item = RecoveryItem(
        claim_id=claim.id,
        job_outcome_id=outcome_id,
        opened_by=actor,
        reason=notes.note(notes.JOB_REPORTED_AFTER_PAYMENT, job=outcome_id, state=claim.state),
    )
    session.add(item)
    session.flush()
    audit.record(session, actor, "claim.recovery_opened", f"claim:{claim.id}", item.reason)
    return item


def resolve_recovery_item(
    session: Session, item_id: int, *, actor: str, resolution: str
) -> RecoveryItem:
    """Close a recovery item with what finance decided (recovered, waived, not a placement)."""
    item = session.get(RecoveryItem, item_id)
    if item is None:
        raise NotFound("RecoveryItem", item_id)
    if item.resolved_at is not None:
        raise Conflict(_("this recovery item is closed already"), "state")
    item.resolution = _require_reason(resolution)
    item.resolved_by = actor
    item.resolved_at = utc_now()
    audit.record(
        session, actor, "claim.recovery_resolved", f"claim:{item.claim_id}", item.resolution
    )
    session.flush()
    return item
