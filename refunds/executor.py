"""The refund executor: sends approved refunds to the provider, exactly once each.

Each refund goes through three short steps, so that no crash can pay twice:

1. Take it (one transaction): lock the row (``SKIP LOCKED`` on PostgreSQL, so two executors
   never take the same refund), mark it ``submitting``, count the attempt, lease it for a
   few minutes, and move the claim to ``paying``. Commit.
2. Talk to the provider (no transaction open). On a first attempt, create the refund with an
   idempotency key derived from the row and metadata naming the claim and the row. On any
   later attempt the previous one may have reached the provider (a lost response, a crash),
   so first list the PaymentIntent's refunds and adopt the one whose metadata names this row;
   create only when there is none. Stripe honours idempotency keys for about 24 hours; the
   listing makes a retry safe after that too, and with providers (or fakes) that ignore keys.
3. Record the answer (one transaction): the provider's id and status, or the error. A
   transient error (network, timeout, 5xx, 429) backs off and stays ``submitting``; a
   permanent one fails the refund and puts the claim in front of finance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.models import TuitionPayment
from app.models.base import utc_now
from app.observability import request_id_of
from refunds.amounts import describe_money
from refunds.claims import lock_claim, lock_refunds, settle_from_refunds, transition
from refunds.gateway import (
    PaymentGateway,
    PermanentGatewayError,
    ProviderRefund,
    TransientGatewayError,
)
from refunds.models import Refund, RefundClaim
from refunds.payments import apply_provider_refund, find_adoptable, live
from refunds.states import ClaimState, RefundState

__all__ = ["apply_provider_refund", "execute_refunds", "find_adoptable"]

log = logging.getLogger(__name__)

ACTOR = "system:executor"

#: How long an executor holds a refund it is sending; longer than any provider call.
LEASE = timedelta(minutes=5)

#: Claim states whose refunds may be sent.
SENDABLE_CLAIMS = (ClaimState.APPROVED, ClaimState.PAYING, ClaimState.FAILED)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` transient failures: 30 s doubling, to 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def metadata_for(refund: Refund) -> dict[str, str]:
    """What the provider keeps with the refund, so it can be found and adopted later."""
    return {"claim_id": str(refund.claim_id), "refund_id": str(refund.id)}


@dataclass
class ExecutorResult:
    """What one run of the executor did."""

    sent: int = 0
    adopted: int = 0
    succeeded: int = 0
    failed: int = 0
    retrying: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Taken:
    refund_id: int
    claim_id: int
    payment_intent_id: str | None
    amount_minor: int
    idempotency_key: str
    attempts: int
    metadata: dict[str, str]
    request_id: str | None


def _due(now: datetime):
    return (
        Refund.state.in_([RefundState.PENDING, RefundState.SUBMITTING]),
        RefundClaim.state.in_(SENDABLE_CLAIMS),
        or_(Refund.next_attempt_at.is_(None), Refund.next_attempt_at <= now),
        or_(Refund.lease_until.is_(None), Refund.lease_until < now),
    )


#: Due refunds read at once, before each is taken (and checked again) one by one.
CANDIDATES = 100


def _take_next(
    session: Session, now: datetime, lease: timedelta, candidates: list[tuple[int, int]]
) -> _Taken | None:
    # Locks go claim first, then refund, everywhere in the service, so nothing deadlocks.
    # Candidates are read without locks, a batch at a time (``candidates`` keeps the rest
    # for the next call); each is re-checked once its claim is locked.
    if not candidates:
        candidates.extend(
            session.execute(
                select(Refund.id, Refund.claim_id)
                .join(RefundClaim, RefundClaim.id == Refund.claim_id)
                .where(*_due(now))
                .order_by(Refund.id)
                .limit(CANDIDATES)
            ).all()
        )
        session.rollback()
    while candidates:
        refund_id, claim_id = candidates.pop(0)
        with session.begin():
            claim = lock_claim(session, claim_id)
            row = session.execute(
                select(Refund, TuitionPayment.stripe_payment_intent_id)
                .join(RefundClaim, RefundClaim.id == Refund.claim_id)
                .join(TuitionPayment, TuitionPayment.id == Refund.payment_id)
                .where(Refund.id == refund_id, *_due(now))
                .with_for_update(of=Refund)
                .execution_options(populate_existing=True)
            ).first()
            if row is None:
                continue  # another executor took it, or the claim moved on
            refund, payment_intent_id = row
            if claim.state is ClaimState.APPROVED:
                transition(
                    session,
                    claim,
                    ClaimState.PAYING,
                    actor=ACTOR,
                    reason="sending refunds",
                    flush=False,  # written with the refund's row, at the commit
                )
            refund.state = RefundState.SUBMITTING
            refund.attempts += 1
            refund.first_attempt_at = refund.first_attempt_at or now
            refund.lease_until = now + lease
            return _Taken(
                refund_id=refund.id,
                claim_id=refund.claim_id,
                payment_intent_id=payment_intent_id,
                amount_minor=refund.amount_minor,
                idempotency_key=refund.idempotency_key,
                attempts=refund.attempts,
                metadata=metadata_for(refund),
                request_id=refund.request_id,
            )
    return None


def _send(gateway: PaymentGateway, taken: _Taken) -> tuple[ProviderRefund, bool]:
    """The provider refund for ``taken``, and whether an existing one was adopted.

    Every send looks first, the first included: the row may have been sent by an attempt
    whose answer was lost, by a retry after a failure, or before a backup was restored, and
    the provider's record wins over the row's ``attempts`` and state. Then what is left to
    refund on the payment is read from the provider: never more than was charged goes back,
    whoever made the earlier refunds.
    """
    if taken.payment_intent_id is None:
        raise PermanentGatewayError(
            "the payment was not made through the provider; settle it by bank transfer"
        )
    at_provider = gateway.list_refunds(taken.payment_intent_id)
    existing = find_adoptable(at_provider, taken)
    if existing is not None:
        return existing, True
    charged = gateway.get_payment(taken.payment_intent_id)
    left = charged.amount_minor - sum(refund.amount_minor for refund in live(at_provider))
    if left < taken.amount_minor:
        raise PermanentGatewayError(
            f"only {describe_money(max(left, 0), charged.currency)} is left to refund on"
            f" {taken.payment_intent_id} at the provider, less than this refund's"
            f" {describe_money(taken.amount_minor, charged.currency)}: review the claim"
        )
    created = gateway.create_refund(
        payment_intent_id=taken.payment_intent_id,
        amount_minor=taken.amount_minor,
        idempotency_key=taken.idempotency_key,
        metadata=taken.metadata,
    )
    return created, False


def _record(
    session: Session,
    taken: _Taken,
    now: datetime,
    provider: ProviderRefund | None,
    error: Exception | None,
) -> None:
    # Four statements when the claim has one refund: the claim and its refunds locked and read
    # (the refunds at once, as the claim's settling needs them all), then one flush of the
    # refund, the claim, and the claim's transition with its audit line.
    with session.begin():
        claim = lock_claim(session, taken.claim_id)
        refunds = lock_refunds(session, claim)
        refund = next(row for row in refunds if row.id == taken.refund_id)
        if provider is not None:
            apply_provider_refund(refund, provider)
        elif refund.state is not RefundState.SUBMITTING:
            pass  # a webhook or the reconciliation settled it meanwhile
        elif isinstance(error, PermanentGatewayError):
            refund.state = RefundState.FAILED
            refund.last_error = str(error)
            refund.lease_until = None
        else:
            # Outcome unknown: it stays submitting, and the next attempt looks before it leaps.
            refund.last_error = str(error)
            refund.lease_until = None
            refund.next_attempt_at = now + backoff(taken.attempts)
        settle_from_refunds(session, claim, actor=ACTOR, refunds=refunds, flush=False)


def _made_anyway(gateway: PaymentGateway, taken: _Taken) -> ProviderRefund | None:
    if taken.payment_intent_id is None:
        return None
    try:
        return find_adoptable(gateway.list_refunds(taken.payment_intent_id), taken)
    except (TransientGatewayError, PermanentGatewayError):
        return None


def execute_refunds(
    session_factory: sessionmaker,
    gateway: PaymentGateway,
    *,
    now: Callable[[], datetime] = utc_now,
    lease: timedelta = LEASE,
    limit: int = 500,
) -> ExecutorResult:
    """Send every refund that is due, each in its own short transactions."""
    result = ExecutorResult()
    candidates: list[tuple[int, int]] = []
    for _ in range(limit):
        with session_factory() as session:
            taken = _take_next(session, now(), lease, candidates)
        if taken is None:
            break
        with request_id_of(taken.request_id) if taken.request_id else nullcontext():
            provider, adopted, error = None, False, None
            try:
                provider, adopted = _send(gateway, taken)
            except PermanentGatewayError as caught:
                error = caught
                # Before a refund is failed for good, the provider is asked once more: a refund
                # it made while answering with an error is the row's, not a failure.
                provider = _made_anyway(gateway, taken)
                adopted = provider is not None
                log.warning("refund %s attempt %s: %s", taken.refund_id, taken.attempts, caught)
                result.errors.append(f"refund {taken.refund_id}: {caught}")
            except TransientGatewayError as caught:
                error = caught
                log.warning("refund %s attempt %s: %s", taken.refund_id, taken.attempts, caught)
                result.errors.append(f"refund {taken.refund_id}: {caught}")
            with session_factory() as session:
                _record(session, taken, now(), provider, error)
            if provider is not None:
                log.info(
                    "refund %s of claim %s: %s %s, %s at the provider",
                    taken.refund_id,
                    taken.claim_id,
                    "adopted" if adopted else "sent",
                    provider.id,
                    provider.status,
                )
        if provider is not None:
            result.adopted += adopted
            result.sent += not adopted
            result.succeeded += provider.status == "succeeded"
        elif isinstance(error, PermanentGatewayError):
            result.failed += 1
        else:
            result.retrying += 1
    return result
