"""Refund claims, their audit trail, the refunds sent to the provider, and webhook receipts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt, Currency, Money, UTCDateTime, enum_column, utc_now
from app.models.enrollment import Enrollment, Graduation, TuitionPayment
from app.models.school import CURRENCY_IS_ISO
from refunds.states import ClaimState, RefundState


class RefundClaim(CreatedAt, Base):
    """A graduate's claim to a tuition refund: one per enrollment, whatever becomes of it."""

    __tablename__ = "refund_claims"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint(CURRENCY_IS_ISO, name="currency_iso"),
        # The claims queue's order, and its order within a state (migration 0017).
        Index("ix_refund_claims_created_at_id", "created_at", "id"),
        Index("ix_refund_claims_state_created_at_id", "state", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The enrollment whose tuition is claimed back; unique, so no graduate is flagged twice.
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    #: The graduation whose window closed without a qualifying job.
    graduation_id: Mapped[int] = mapped_column(ForeignKey("graduations.id"), index=True)
    #: Where the claim stands; changed only by ``refunds.claims.transition``.
    state: Mapped[ClaimState] = mapped_column(enum_column(ClaimState, "claim_state"), index=True)
    #: The refundable amount as last derived, in minor units of ``currency``: from the records
    #: when flagged, again from the payments and the provider at each approval, and fixed from
    #: the moment a refund is sent.
    amount_minor: Mapped[int] = mapped_column(Money)
    #: ISO 4217 currency (the programme's).
    currency: Mapped[str] = mapped_column(Currency)
    #: The guarantee deadline that passed without a qualifying job.
    deadline: Mapped[date] = mapped_column(Date)
    #: The day the sweep (or a person) found the graduate owed.
    flagged_on: Mapped[date] = mapped_column(Date)
    #: The approval round: sending the claim back to review starts a new one, and only the
    #: approvals of the current round count.
    approval_round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: Whether the rule said the graduate was owed when finance last rejected or withdrew the
    #: claim: a claim closed on the facts (not owed then) reopens when the facts make the
    #: graduate owed again; one rejected on judgment (owed, but obligations missed) waits for an
    #: appeal. NULL until the claim is first closed.
    closed_while_owed: Mapped[bool | None] = mapped_column(Boolean)
    #: Bumped by every change; a write based on a stale read fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: When the claim last changed (UTC).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    __mapper_args__ = {"version_id_col": version}

    enrollment: Mapped[Enrollment] = relationship()
    graduation: Mapped[Graduation] = relationship()
    transitions: Mapped[list[ClaimTransition]] = relationship(
        order_by="ClaimTransition.id", viewonly=True
    )
    approvals: Mapped[list[ClaimApproval]] = relationship(
        order_by="ClaimApproval.id", viewonly=True
    )
    refunds: Mapped[list[Refund]] = relationship(order_by="Refund.id", viewonly=True)
    recovery_items: Mapped[list[RecoveryItem]] = relationship(
        order_by="RecoveryItem.id", viewonly=True
    )
    appeals: Mapped[list[ClaimAppeal]] = relationship(order_by="ClaimAppeal.id", viewonly=True)


class ClaimTransition(Base):
    """One change of a claim's state: who, when, from, to and why. Never updated or deleted."""

    __tablename__ = "claim_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The claim that changed.
    claim_id: Mapped[int] = mapped_column(ForeignKey("refund_claims.id"), index=True)
    #: State before the change; NULL when the claim was created.
    from_state: Mapped[ClaimState | None] = mapped_column(enum_column(ClaimState, "from_state"))
    #: State after the change.
    to_state: Mapped[ClaimState] = mapped_column(enum_column(ClaimState, "to_state"))
    #: Who made the change: a person's id, or ``system:<job>`` for the scheduler.
    actor: Mapped[str] = mapped_column(String(200))
    #: Why, in words a reviewer can read: the internal note, for staff only.
    reason: Mapped[str] = mapped_column(Text)
    #: What the graduate is told of this step, written for them (NULL: only the step's standard
    #: wording). Staff notes (``reason``) never reach the graduate.
    graduate_note: Mapped[str | None] = mapped_column(Text)
    #: When (UTC).
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ClaimAppeal(CreatedAt, Base):
    """A graduate's appeal of a rejection, with their reasons: a second reviewer hears it by
    sending the claim back to review (``refunds.claims.start_review``). One per rejection."""

    __tablename__ = "claim_appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The rejected claim appealed.
    claim_id: Mapped[int] = mapped_column(ForeignKey("refund_claims.id"), index=True)
    #: The rejection appealed; unique, so a rejection is appealed once.
    rejection_id: Mapped[int] = mapped_column(ForeignKey("claim_transitions.id"), unique=True)
    #: The graduate's reasons, as they wrote them.
    reasons: Mapped[str] = mapped_column(Text)
    #: Who appealed (the graduate's actor id).
    submitted_by: Mapped[str] = mapped_column(String(200))

    claim: Mapped[RefundClaim] = relationship()


class ClaimApproval(Base):
    """One finance approval of a claim; a large claim needs two, by different people."""

    __tablename__ = "claim_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The claim approved.
    claim_id: Mapped[int] = mapped_column(ForeignKey("refund_claims.id"), index=True)
    #: The claim's approval round this approval belongs to; earlier rounds no longer count.
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: The refundable amount the approver saw and approved (NULL for approvals recorded before
    #: amounts were derived at approval).
    amount_minor: Mapped[int | None] = mapped_column(Money)
    #: Who approved; unique per claim and round, so nobody approves twice in one round.
    actor: Mapped[str] = mapped_column(String(200))
    #: Their reason or remark.
    reason: Mapped[str] = mapped_column(Text)
    #: When (UTC).
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    __table_args__ = (
        # One approval per person per round: the database refuses a second one.
        UniqueConstraint("claim_id", "round", "actor", name="uq_claim_approvals_round_actor"),
    )


class Refund(CreatedAt, Base):
    """One original payment's share of an approved claim, to send to the provider (an outbox).

    Written in the approval's transaction; the executor sends it. One per payment, ever: the
    database refuses a second refund of the same payment.
    """

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(CURRENCY_IS_ISO, name="currency_iso"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The claim this refund pays.
    claim_id: Mapped[int] = mapped_column(ForeignKey("refund_claims.id"), index=True)
    #: The original payment refunded; unique.
    payment_id: Mapped[int] = mapped_column(ForeignKey("tuition_payments.id"), unique=True)
    #: Amount to give back, in minor units; never more than the payment brought in.
    amount_minor: Mapped[int] = mapped_column(Money)
    #: ISO 4217 currency.
    currency: Mapped[str] = mapped_column(Currency)
    #: Where this refund stands.
    state: Mapped[RefundState] = mapped_column(
        enum_column(RefundState, "refund_state"), default=RefundState.PENDING, index=True
    )
    #: The key sent with every create of this refund, so a retry is the same request.
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    #: The provider's refund id once known.
    provider_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: How many times an executor started sending it.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When it was first sent (UTC): after 24 hours the provider forgets idempotency keys.
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Not to be tried again before this instant (backoff after a transient error).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: An executor holds the refund until this instant; after it, another may take over.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last error or failure reason from the provider.
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Bank transfer reference when finance settled it by hand.
    manual_reference: Mapped[str | None] = mapped_column(String(200))
    #: The id of the request (or job run) that approved it: the executor sends it under the same
    #: id, so one search of the logs follows an approval to the provider.
    request_id: Mapped[str | None] = mapped_column(String(64))
    #: When this row last changed (UTC).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    claim: Mapped[RefundClaim] = relationship()
    payment: Mapped[TuitionPayment] = relationship()


class RecoveryItem(CreatedAt, Base):
    """Money paid back that the facts now say was not owed: for finance to look into.

    Opened when a qualifying job is reported (or confirmed) for a graduate whose refund was
    already sent; nothing is clawed back automatically. One per claim and job outcome.
    """

    __tablename__ = "recovery_items"
    __table_args__ = (
        UniqueConstraint("claim_id", "job_outcome_id", name="uq_recovery_items_claim_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The paid (or paying) claim the facts now contradict.
    claim_id: Mapped[int] = mapped_column(ForeignKey("refund_claims.id"), index=True)
    #: The job outcome that turned up after the money moved.
    job_outcome_id: Mapped[int] = mapped_column(ForeignKey("job_outcomes.id"))
    #: Why it was opened, for finance.
    reason: Mapped[str] = mapped_column(Text)
    #: Who (or which job) opened it.
    opened_by: Mapped[str] = mapped_column(String(200))
    #: When finance closed it (UTC); NULL while it is open.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Who closed it.
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    #: What finance decided (recovered, waived, not a placement after all), in words.
    resolution: Mapped[str | None] = mapped_column(Text)

    claim: Mapped[RefundClaim] = relationship()


class ProcessedWebhookEvent(Base):
    """A provider webhook event handled once; a repeat delivery finds its id here."""

    __tablename__ = "processed_webhook_events"

    #: The provider's event id (``evt_...``).
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: The event type, e.g. ``refund.updated``.
    event_type: Mapped[str] = mapped_column(String(100))
    #: What handling it did, for the record.
    outcome: Mapped[str] = mapped_column(Text)
    #: When it was received (UTC).
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
