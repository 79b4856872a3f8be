"""Programmes and the versioned guarantee policies they publish."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.guarantee.terms import EmploymentType, PolicyTerms, WindowStart
from app.models.base import Base, CreatedAt, Currency, Money, enum_column

CURRENCY_IS_ISO = "length(currency) = 3 AND currency = upper(currency)"


class Programme(CreatedAt, Base):
    """A course of study the school sells, with the guarantee attached to it."""

    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("tuition_list_price_minor > 0", name="tuition_positive"),
        CheckConstraint(CURRENCY_IS_ISO, name="currency_iso"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The programme's public name, unique across the school.
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: ISO 4217 currency in which tuition is charged and refunded.
    currency: Mapped[str] = mapped_column(Currency)
    #: The advertised tuition, in minor units; refunds use what was actually paid instead.
    tuition_list_price_minor: Mapped[int] = mapped_column(Money)

    policies: Mapped[list[GuaranteePolicy]] = relationship(
        back_populates="programme", order_by="GuaranteePolicy.version"
    )


class GuaranteePolicy(CreatedAt, Base):
    """One published version of a programme's guarantee terms; never edited once published.

    An enrollment is bound to the version in force on the day it was signed, so a later
    version never changes an existing student's terms.
    """

    __tablename__ = "guarantee_policies"
    __table_args__ = (
        UniqueConstraint("programme_id", "version", name="uq_guarantee_policies_version"),
        # Lets enrollments prove, with a composite foreign key, that their policy is their
        # programme's.
        UniqueConstraint("id", "programme_id", name="uq_guarantee_policies_id_programme"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("window_months BETWEEN 1 AND 60", name="window_months_range"),
        CheckConstraint("min_contract_months >= 0", name="min_contract_months_not_negative"),
        CheckConstraint("claim_deadline_days >= 0", name="claim_deadline_days_not_negative"),
        CheckConstraint(
            "min_annual_salary_minor IS NULL OR min_annual_salary_minor > 0",
            name="pay_floor_positive",
        ),
        CheckConstraint(
            "refund_cap_minor IS NULL OR refund_cap_minor > 0", name="refund_cap_positive"
        ),
        CheckConstraint("weekly_applications >= 0", name="weekly_applications_not_negative"),
        CheckConstraint(
            "coaching_every_weeks IS NULL OR coaching_every_weeks >= 1",
            name="coaching_every_weeks_positive",
        ),
        CheckConstraint(
            "answer_within_days IS NULL OR answer_within_days >= 1",
            name="answer_within_days_positive",
        ),
        CheckConstraint(
            "report_offers_within_days IS NULL OR report_offers_within_days >= 1",
            name="report_offers_within_days_positive",
        ),
        CheckConstraint("max_pause_days >= 0", name="max_pause_days_not_negative"),
        CheckConstraint(
            "qualify_within_months IS NULL OR qualify_within_months >= 1",
            name="qualify_within_months_positive",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The programme these terms belong to.
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    #: 1 for the first published terms, then 2, 3, ... per programme.
    version: Mapped[int] = mapped_column(Integer)
    #: First day on which enrollments signed are bound to this version.
    effective_from: Mapped[date] = mapped_column(Date)
    #: Length of the guarantee window in calendar months.
    window_months: Mapped[int] = mapped_column(Integer, default=6)
    #: The event that starts the window.
    window_starts: Mapped[WindowStart] = mapped_column(
        enum_column(WindowStart, "window_start"), default=WindowStart.QUALIFICATION_DATE
    )
    #: Shortest contract, in months, that counts (for every type but permanent jobs and
    #: founding a company).
    min_contract_months: Mapped[int] = mapped_column(Integer, default=6)
    #: Whether only jobs in the programme's field count.
    requires_in_field: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Annual pay floor in minor units of the programme's currency; NULL for none.
    min_annual_salary_minor: Mapped[int | None] = mapped_column(Money)
    #: Days after the window closes during which a refund can still be claimed.
    claim_deadline_days: Mapped[int] = mapped_column(Integer, default=60)
    #: Most a refund can be, in minor units; NULL for no cap.
    refund_cap_minor: Mapped[int | None] = mapped_column(Money)
    #: Whether scholarships and grants are taken off what is refunded.
    deduct_scholarships: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Job applications a graduate must log each week of the window; 0 for none.
    weekly_applications: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: At least one coaching check-in every this many weeks; NULL for no requirement.
    coaching_every_weeks: Mapped[int | None] = mapped_column(Integer)
    #: Days a graduate has to answer a question from the school; NULL for no deadline.
    answer_within_days: Mapped[int | None] = mapped_column(Integer)
    #: Days a graduate has to log an offer after receiving it; NULL if offers need not be
    #: reported.
    report_offers_within_days: Mapped[int | None] = mapped_column(Integer)
    #: Whether declining a qualifying offer voids the refund claim.
    declined_offer_voids: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: Most paused days that extend a graduate's window; 0 when pauses are not allowed.
    max_pause_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Free text the school publishes with this version (what changed, where the terms are).
    notes: Mapped[str | None] = mapped_column(Text)
    #: Months from the start of studies within which a student must qualify to be covered;
    #: NULL for no time limit.
    qualify_within_months: Mapped[int | None] = mapped_column(Integer)
    #: Whether a graduate recorded as not authorised to work in their search country is not
    #: covered.
    requires_work_authorisation: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: Whether a remote job for an employer outside the policy's countries counts (when the
    #: graduate works from one of them).
    remote_abroad_counts: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    programme: Mapped[Programme] = relationship(back_populates="policies")
    qualifying_types: Mapped[list[PolicyQualifyingType]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="PolicyQualifyingType.employment_type",
    )
    #: What a registrar verifies at enrollment, in the order the policy lists them.
    prerequisites: Mapped[list[PolicyPrerequisite]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PolicyPrerequisite.position"
    )
    #: Where the search must take place and a job counts; none for anywhere.
    search_areas: Mapped[list[PolicySearchArea]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PolicySearchArea.code"
    )

    def terms(self) -> PolicyTerms:
        """These terms as plain values for the rules."""
        return PolicyTerms(
            window_months=self.window_months,
            window_starts=self.window_starts,
            qualifying_types=frozenset(row.employment_type for row in self.qualifying_types),
            min_contract_months=self.min_contract_months,
            requires_in_field=self.requires_in_field,
            min_annual_salary_minor=self.min_annual_salary_minor,
            currency=self.programme.currency,
            claim_deadline_days=self.claim_deadline_days,
            refund_cap_minor=self.refund_cap_minor,
            deduct_scholarships=self.deduct_scholarships,
            weekly_applications=self.weekly_applications,
            coaching_every_weeks=self.coaching_every_weeks,
            answer_within_days=self.answer_within_days,
            report_offers_within_days=self.report_offers_within_days,
            declined_offer_voids=self.declined_offer_voids,
            max_pause_days=self.max_pause_days,
            prerequisites=tuple(row.label for row in self.prerequisites),
            qualify_within_months=self.qualify_within_months,
            search_areas=frozenset(row.code for row in self.search_areas),
            requires_work_authorisation=self.requires_work_authorisation,
            remote_abroad_counts=self.remote_abroad_counts,
        )


class PolicyQualifyingType(Base):
    """One type of employment a policy version counts as a qualifying job."""

    __tablename__ = "policy_qualifying_types"

    #: The policy version.
    policy_id: Mapped[int] = mapped_column(ForeignKey("guarantee_policies.id"), primary_key=True)
    #: A type of employment that version accepts.
    employment_type: Mapped[EmploymentType] = mapped_column(
        enum_column(EmploymentType, "employment_type"), primary_key=True
    )


class PolicyPrerequisite(Base):
    """One condition a policy version asks a registrar to verify at enrollment."""

    __tablename__ = "policy_prerequisites"
    __table_args__ = (
        UniqueConstraint("policy_id", "label", name="uq_policy_prerequisites_label"),
        CheckConstraint("length(label) >= 1", name="label_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The policy version.
    policy_id: Mapped[int] = mapped_column(ForeignKey("guarantee_policies.id"), index=True)
    #: What must be verified, e.g. "Bachelor's degree, mathematics".
    label: Mapped[str] = mapped_column(String(200))
    #: Its place in the policy's list, from 0.
    position: Mapped[int] = mapped_column(Integer)


#: The codes a policy may name as a search area: ISO 3166-1 alpha-2 countries and regions.
SEARCH_AREA_IS_CODE = "length(code) = 2 AND code = upper(code)"


class PolicySearchArea(Base):
    """One country (or region, ``app.guarantee.terms.REGIONS``) where a policy version's
    search must take place and where a job counts."""

    __tablename__ = "policy_search_areas"
    __table_args__ = (CheckConstraint(SEARCH_AREA_IS_CODE, name="code_iso"),)

    #: The policy version.
    policy_id: Mapped[int] = mapped_column(ForeignKey("guarantee_policies.id"), primary_key=True)
    #: An ISO 3166-1 alpha-2 country code, or a region's code (one of ``REGIONS``).
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
