"""Enrollments, the tuition paid for them, and graduations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.guarantee.terms import CirrIntent, EligibilityFacts, PayerType, WorkAuthorisation
from app.models.base import Base, CreatedAt, Currency, Money, UTCDateTime, enum_column
from app.models.people import Student
from app.models.school import CURRENCY_IS_ISO, GuaranteePolicy, PolicyPrerequisite, Programme


def _students_country(context) -> str:
    """The search (or study) country an enrollment gets when none is recorded: its student's
    country."""
    student_id = context.get_current_parameters()["student_id"]
    return context.connection.scalar(select(Student.country).where(Student.id == student_id))


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
        # Sorted by expected graduation: its pages' seeks (migration 0022).
        Index("ix_enrollments_expected_graduation_on_id", "expected_graduation_on", "id"),
        # Newest expected graduation first, those without one last: read backward, the index
        # above puts them first (migration 0026). SQLite takes no NULLS LAST in an index.
        Index(
            "ix_enrollments_expected_graduation_desc",
            text("expected_graduation_on DESC NULLS LAST"),
            text("id DESC"),
        ).ddl_if(dialect="postgresql"),
        CheckConstraint(
            "length(search_country) = 2 AND search_country = upper(search_country)",
            name="search_country_iso",
        ),
        CheckConstraint(
            "length(study_country) = 2 AND study_country = upper(study_country)",
            name="study_country_iso",
        ),
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
    #: The first day of studies, from which a policy's time limit to qualify runs; NULL when
    #: not recorded.
    studies_started_on: Mapped[date | None] = mapped_column(Date)
    #: ISO 3166-1 alpha-2 country where the student will search for work (the student's
    #: country unless recorded otherwise).
    search_country: Mapped[str] = mapped_column(String(2), default=_students_country)
    #: Whether the student may work in ``search_country``.
    work_authorisation: Mapped[WorkAuthorisation] = mapped_column(
        enum_column(WorkAuthorisation, "work_authorisation"),
        default=WorkAuthorisation.UNKNOWN,
        server_default=WorkAuthorisation.UNKNOWN.value,
    )
    #: ISO 3166-1 alpha-2 country of study (CIRR): for this online school, where the student
    #: studied from (the student's country unless recorded otherwise).
    study_country: Mapped[str] = mapped_column(String(2), default=_students_country)
    #: Whether the student may work in ``study_country``: CIRR takes a graduate recorded "no"
    #: out of the outcomes report's base ("unknown" does not).
    study_work_authorisation: Mapped[WorkAuthorisation] = mapped_column(
        enum_column(WorkAuthorisation, "study_work_authorisation"),
        default=WorkAuthorisation.UNKNOWN,
        server_default=WorkAuthorisation.UNKNOWN.value,
    )

    student: Mapped[Student] = relationship()
    programme: Mapped[Programme] = relationship()
    policy: Mapped[GuaranteePolicy] = relationship(
        foreign_keys=[policy_id, programme_id], overlaps="programme"
    )
    payments: Mapped[list[TuitionPayment]] = relationship(
        back_populates="enrollment", order_by="(TuitionPayment.paid_at, TuitionPayment.id)"
    )
    graduation: Mapped[Graduation | None] = relationship(back_populates="enrollment")
    #: The registrars' verifications of the policy's prerequisites.
    prerequisite_verifications: Mapped[list[PrerequisiteVerification]] = relationship(
        back_populates="enrollment", order_by="PrerequisiteVerification.id", lazy="selectin"
    )

    @property
    def prerequisite_checklist(self) -> list[PrerequisiteCheck]:
        """Each prerequisite of the policy, in its order, with its verification if any."""
        done = {row.prerequisite_id: row for row in self.prerequisite_verifications}
        return [
            PrerequisiteCheck(prerequisite, done.get(prerequisite.id))
            for prerequisite in self.policy.prerequisites
        ]

    def eligibility(self) -> EligibilityFacts:
        """What this enrollment records about eligibility, as plain values for the rules."""
        return EligibilityFacts(
            verified_prerequisites=frozenset(
                row.prerequisite.label
                for row in self.prerequisite_verifications
                if row.prerequisite.policy_id == self.policy_id
            ),
            studies_started_on=self.studies_started_on,
            search_country=self.search_country,
            work_authorisation=self.work_authorisation,
        )


@dataclass(frozen=True)
class PrerequisiteCheck:
    """One prerequisite of an enrollment's policy, and its verification (``None``: none)."""

    prerequisite: PolicyPrerequisite
    verification: PrerequisiteVerification | None


class PrerequisiteVerification(CreatedAt, Base):
    """A registrar's verification that an enrollment meets one of its policy's prerequisites.

    A prerequisite is verified exactly when this row exists; evidence documents attach to it.
    """

    __tablename__ = "prerequisite_verifications"
    __table_args__ = (
        UniqueConstraint(
            "enrollment_id", "prerequisite_id", name="uq_prerequisite_verifications_once"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The enrollment whose prerequisite was verified.
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    #: The policy's prerequisite (of the enrollment's policy version).
    prerequisite_id: Mapped[int] = mapped_column(ForeignKey("policy_prerequisites.id"), index=True)
    #: The registrar who verified it (actor name, or the import or demo).
    verified_by: Mapped[str] = mapped_column(String(300))
    #: When it was verified (UTC).
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: What the registrar saw (e.g. "diploma seen, Université de Lyon, 2018"); staff only.
    note: Mapped[str | None] = mapped_column(Text)

    enrollment: Mapped[Enrollment] = relationship(back_populates="prerequisite_verifications")
    prerequisite: Mapped[PolicyPrerequisite] = relationship(lazy="joined")


class TuitionPayment(CreatedAt, Base):
    """One payment of tuition (an instalment), which a refund goes back to."""

    __tablename__ = "tuition_payments"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(CURRENCY_IS_ISO, name="currency_iso"),
        # An enrollment's payments, and those between two instants (migration 0023).
        Index("ix_tuition_payments_enrollment_id_paid_at", "enrollment_id", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The enrollment paid for.
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
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
