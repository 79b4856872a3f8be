"""Enrollments, the tuition paid for them, and graduations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.guarantee.terms import CirrIntent, PayerType
from app.models.base import Base, CreatedAt, Currency, Money, UTCDateTime, enum_column
from app.models.people import Student
from app.models.school import CURRENCY_IS_ISO, GuaranteePolicy, Programme


class Enrollment(CreatedAt, Base):
    """A student's place in a programme, bound to the guarantee terms in force when signed."""

    __tablename__ = "enrollments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["policy_id", "programme_id"],
            ["guarantee_policies.id", "guarantee_policies.programme_id"],
            name="fk_enrollments_policy_of_programme",
        ),
        CheckConstraint("scholarship_minor >= 0", name="scholarship_not_negative"),
        # The registrar's list, newest signed first, of everyone or of one programme: its
        # page reads these in order (see migration 0018).
        Index("ix_enrollments_signed_on_id", "signed_on", "id"),
        Index("ix_enrollments_programme_signed_on_id", "programme_id", "signed_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The student.
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    #: The programme enrolled in.
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    #: The policy version in force on ``signed_on``; it never changes afterwards.
    policy_id: Mapped[int] = mapped_column(index=True)
    #: The day the enrollment agreement was signed.
    signed_on: Mapped[date] = mapped_column(Date)
    #: Whether the student opted in to the job guarantee.
    guarantee_opt_in: Mapped[bool] = mapped_column(Boolean)
    #: Scholarships and grants towards tuition, in minor units of the programme's currency.
    scholarship_minor: Mapped[int] = mapped_column(Money, default=0)
    #: What the student meant to do after graduating, asked at enrollment (CIRR intent);
    #: locked once recorded (a database trigger refuses a change).
    cirr_intent: Mapped[CirrIntent] = mapped_column(
        enum_column(CirrIntent, "cirr_intent"),
        default=CirrIntent.IN_FIELD_JOB,
        server_default=CirrIntent.IN_FIELD_JOB.value,
    )
    #: The day the student's cohort is scheduled to graduate: which half-year report the
    #: enrollment belongs to. NULL when unknown (the report then uses the graduation day).
    expected_graduation_on: Mapped[date | None] = mapped_column(Date, index=True)

    student: Mapped[Student] = relationship()
    programme: Mapped[Programme] = relationship()
    policy: Mapped[GuaranteePolicy] = relationship(
        foreign_keys=[policy_id, programme_id], overlaps="programme"
    )
    payments: Mapped[list[TuitionPayment]] = relationship(
        back_populates="enrollment", order_by="(TuitionPayment.paid_at, TuitionPayment.id)"
    )
    graduation: Mapped[Graduation | None] = relationship(back_populates="enrollment")


class TuitionPayment(CreatedAt, Base):
    """One payment of tuition (an instalment), which a refund goes back to."""

    __tablename__ = "tuition_payments"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(CURRENCY_IS_ISO, name="currency_iso"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The enrollment paid for.
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    #: Amount received, in minor units.
    amount_minor: Mapped[int] = mapped_column(Money)
    #: ISO 4217 currency of the amount (always the programme's).
    currency: Mapped[str] = mapped_column(Currency)
    #: When the money was received (UTC).
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Who paid: the student or a sponsor (an employer, a lender); a refund goes back to them.
    payer_type: Mapped[PayerType] = mapped_column(enum_column(PayerType, "payer_type"))
    #: The sponsor's name, when a sponsor paid.
    payer_name: Mapped[str | None] = mapped_column(String(200))
    #: The Stripe PaymentIntent that took the money; NULL for payments made outside Stripe.
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)

    enrollment: Mapped[Enrollment] = relationship(back_populates="payments")


class Graduation(CreatedAt, Base):
    """A student's qualification in a programme: what starts the guarantee clock."""

    __tablename__ = "graduations"
    __table_args__ = (
        # The graduations list's order, most recent first (migration 0017).
        Index("ix_graduations_qualified_on_id", "qualified_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The enrollment completed; one graduation per enrollment.
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    #: The day the student qualified.
    qualified_on: Mapped[date] = mapped_column(Date, index=True)
    #: The day the graduate told the school they stopped looking for work (CIRR "not
    #: seeking"); NULL while they are looking.
    stopped_seeking_on: Mapped[date | None] = mapped_column(Date)

    enrollment: Mapped[Enrollment] = relationship(back_populates="graduation")
