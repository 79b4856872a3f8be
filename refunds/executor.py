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

The steps read and write rows, not objects: their statements are built once and run on the
session's connection with each refund's values (five to take a refund, six to record its
answer when the claim moves), so a refund costs its provider calls and little more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.errors import NotFound
from app.models import TuitionPayment
from app.models.base import utc_now
from app.observability import request_id_of
from refunds.amounts import describe_money
from refunds.claims import settling_moves, transition_row
from refunds.gateway import (
    PaymentGateway,
    PermanentGatewayError,
    ProviderRefund,
    TransientGatewayError,
)
from refunds.models import Refund, RefundClaim
from refunds.notes import SENDING, note
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


def metadata_for(claim_id: int, refund_id: int) -> dict[str, str]:
    """What the provider keeps with the refund, so it can be found and adopted later."""
    return {"claim_id": str(claim_id), "refund_id": str(refund_id)}


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


#: The tables the executor's steps read and write as rows.
REFUNDS = Refund.__table__
CLAIMS = RefundClaim.__table__

# The steps' statements, built once and run with each refund's values.

#: The claim's state, its row locked for the transaction (locks go claim first).
_LOCK_CLAIM = select(CLAIMS.c.state).where(CLAIMS.c.id == bindparam("claim")).with_for_update()

#: Take a refund: the UPDATE locks its row and checks again that it is due (another executor
#: may have taken it since it was read); no row back, nothing taken.
_TAKE = (
    update(REFUNDS)
    .where(
        REFUNDS.c.id == bindparam("refund"),
        REFUNDS.c.state.in_([RefundState.PENDING, RefundState.SUBMITTING]),
        or_(REFUNDS.c.next_attempt_at.is_(None), REFUNDS.c.next_attempt_at <= bindparam("now")),
        or_(REFUNDS.c.lease_until.is_(None), REFUNDS.c.lease_until < bindparam("now")),
    )
    .values(
        state=RefundState.SUBMITTING,
        attempts=REFUNDS.c.attempts + 1,
        first_attempt_at=func.coalesce(REFUNDS.c.first_attempt_at, bindparam("now")),
        lease_until=bindparam("leased_until", type_=REFUNDS.c.lease_until.type),
        updated_at=bindparam("now"),
    )
    .returning(
        REFUNDS.c.claim_id,
        REFUNDS.c.amount_minor,
        REFUNDS.c.idempotency_key,
        REFUNDS.c.attempts,
        REFUNDS.c.request_id,
        select(TuitionPayment.stripe_payment_intent_id)
        .where(TuitionPayment.id == REFUNDS.c.payment_id)
        .scalar_subquery(),
    )
)

#: Every refund of a claim, locked, with what recording an answer reads and changes.
_LOCK_REFUNDS = (
    select(
        REFUNDS.c.id,
        REFUNDS.c.payment_id,
        REFUNDS.c.state,
        REFUNDS.c.provider_refund_id,
        REFUNDS.c.lease_until,
        REFUNDS.c.next_attempt_at,
        REFUNDS.c.last_error,
    )
    .where(REFUNDS.c.claim_id == bindparam("claim"))
    .order_by(REFUNDS.c.id)
    .with_for_update()
)

#: A refund's changed columns (the parameters name them).
_WRITE_REFUND = update(REFUNDS).where(REFUNDS.c.id == bindparam("refund"))


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
            connection = session.connection()
            claim_state = connection.execute(_LOCK_CLAIM, {"claim": claim_id}).scalar()
            if claim_state not in SENDABLE_CLAIMS:
                continue  # the claim moved on
            row = connection.execute(
                _TAKE, {"refund": refund_id, "now": now, "leased_until": now + lease}
            ).first()
            if row is None:
                continue  # another executor took it, or it is no longer due
            if claim_state is ClaimState.APPROVED:
                transition_row(
                    session,
                    claim_id,
                    claim_state,
                    ClaimState.PAYING,
                    actor=ACTOR,
                    reason=note(SENDING),
                )
            claim_of, amount_minor, key, attempts, request_id, payment_intent_id = row
            return _Taken(
                refund_id=refund_id,
                claim_id=claim_of,
                payment_intent_id=payment_intent_id,
                amount_minor=amount_minor,
                idempotency_key=key,
                attempts=attempts,
                metadata=metadata_for(claim_of, refund_id),
                request_id=request_id,
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


@dataclass
class _RefundRow:
    """A refund as the record step reads it: what ``apply_provider_refund`` and the claim's
    settling read and change."""

    id: int
    payment_id: int
    state: RefundState
    provider_refund_id: str | None
    lease_until: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None


#: The refund's columns the record step writes back when they changed.
_WRITTEN = ("state", "provider_refund_id", "lease_until", "next_attempt_at", "last_error")


def _record(
    session: Session,
    taken: _Taken,
    now: datetime,
    provider: ProviderRefund | None,
    error: Exception | None,
) -> None:
    # Locked and read as rows, written as statements: the claim's state; every refund of the
    # claim (its settling needs them all); the refund's changes; the claim's moves.
    with session.begin():
        connection = session.connection()
        claim_state = connection.execute(_LOCK_CLAIM, {"claim": taken.claim_id}).scalar()
        if claim_state is None:
            raise NotFound("RefundClaim", taken.claim_id)
        refunds = [
            _RefundRow(*row) for row in connection.execute(_LOCK_REFUNDS, {"claim": taken.claim_id})
        ]
        refund = next(row for row in refunds if row.id == taken.refund_id)
        read = {name: getattr(refund, name) for name in _WRITTEN}
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
        changed = {
            name: getattr(refund, name) for name in _WRITTEN if getattr(refund, name) != read[name]
        }
        if changed:
            connection.execute(_WRITE_REFUND, {"refund": refund.id, **changed, "updated_at": now})
        for target, reason in settling_moves(claim_state, refunds):
            transition_row(session, taken.claim_id, claim_state, target, actor=ACTOR, reason=reason)
            claim_state = target


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
