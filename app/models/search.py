"""What a graduate does during the window: the job-search log, the school's questions, pauses,
and documented outcomes that take them out of the guarantee."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.guarantee.terms import (
    EmploymentType,
    ExclusionReason,
    OfferDecision,
    PauseReason,
    SearchActivityKind,
)
from app.models.base import Base, CreatedAt, Currency, Money, UTCDateTime, enum_column, utc_now
from app.models.enrollment import Graduation


class SearchActivity(CreatedAt, Base):
    """One entry in a graduate's job-search log: an application, interview, offer or check-in.

    ``created_at`` is when it was logged, which is what "report every offer within N days"
    is judged on.
    """

    __tablename__ = "search_activities"
    __table_args__ = (
        CheckConstraint(
            "kind = 'coaching_checkin' OR (employer_name IS NOT NULL AND position IS NOT NULL)",
            name="employer_and_position_named",
        ),
        CheckConstraint(
            "(kind = 'offer') = (decision IS NOT NULL)", name="decision_only_for_offers"
        ),
        CheckConstraint(
            "kind <> 'offer' OR (employment_type IS NOT NULL AND in_field IS NOT NULL)",
            name="offer_has_terms",
        ),
        CheckConstraint(
            "annual_salary_minor IS NULL OR annual_salary_minor > 0", name="salary_positive"
        ),
        CheckConstraint(
            "(annual_salary_minor IS NULL) = (salary_currency IS NULL)",
            name="salary_has_currency",
        ),
        CheckConstraint("contract_months IS NULL OR contract_months > 0", name="contract_positive"),
        CheckConstraint(
            "decided_on IS NULL OR decision <> 'pending'", name="decided_on_only_when_decided"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The graduation whose window this search belongs to.
    graduation_id: Mapped[int] = mapped_column(ForeignKey("graduations.id"), index=True)
    #: Application, interview, offer or coaching check-in.
    kind: Mapped[SearchActivityKind] = mapped_column(
        enum_column(SearchActivityKind, "search_activity_kind")
    )
    #: The day it happened (applied, interviewed, received the offer, met the coach).
    occurred_on: Mapped[date] = mapped_column(Date)
    #: The company applied to; NULL for a coaching check-in.
    employer_name: Mapped[str | None] = mapped_column(String(200))
    #: The position applied for; NULL for a coaching check-in.
    position: Mapped[str | None] = mapped_column(String(200))
    #: Link to the job advert or application.
    link: Mapped[str | None] = mapped_column(String(2000))
    #: The graduate's own remark (free text, removed on erasure).
    notes: Mapped[str | None] = mapped_column(Text)
    #: For an offer: the kind of employment offered.
    employment_type: Mapped[EmploymentType | None] = mapped_column(
        enum_column(EmploymentType, "offer_employment_type")
    )
    #: For an offer: whether the job is in the programme's field.
    in_field: Mapped[bool | None] = mapped_column(Boolean)
    #: For an offer: base annual salary offered, in minor units of ``salary_currency``.
    annual_salary_minor: Mapped[int | None] = mapped_column(Money)
    #: For an offer: ISO 4217 currency of the salary.
    salary_currency: Mapped[str | None] = mapped_column(Currency)
    #: For an offer of a fixed-term contract: its length in months.
    contract_months: Mapped[int | None] = mapped_column(Integer)
    #: For an offer: the first day of work proposed.
    offer_starts_on: Mapped[date | None] = mapped_column(Date)
    #: For an offer: pending, accepted or declined; NULL for other kinds.
    decision: Mapped[OfferDecision | None] = mapped_column(
        enum_column(OfferDecision, "offer_decision")
    )
    #: For an offer: the day the graduate accepted or declined it.
    decided_on: Mapped[date | None] = mapped_column(Date)
    #: When this entry last changed (UTC).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    graduation: Mapped[Graduation] = relationship()


class SchoolRequest(CreatedAt, Base):
    """A question the school put to a graduate, which the policy may require answered in time."""

    __tablename__ = "school_requests"
    __table_args__ = (
        CheckConstraint("(answer IS NULL) = (answered_at IS NULL)", name="answer_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The graduation it is about.
    graduation_id: Mapped[int] = mapped_column(ForeignKey("graduations.id"), index=True)
    #: When the school asked (UTC); the answer is due ``answer_within_days`` later.
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    #: Who asked (actor name).
    asked_by: Mapped[str] = mapped_column(String(300))
    #: The question.
    question: Mapped[str] = mapped_column(Text)
    #: The graduate's answer (free text, removed on erasure); NULL until answered.
    answer: Mapped[str | None] = mapped_column(Text)
    #: When the graduate answered (UTC).
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    graduation: Mapped[Graduation] = relationship()


class SearchPause(CreatedAt, Base):
    """A pause of the search (illness, parental leave): the window extends by its days, up to
    the policy's limit."""

    __tablename__ = "search_pauses"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The graduation whose window is paused.
    graduation_id: Mapped[int] = mapped_column(ForeignKey("graduations.id"), index=True)
    #: First paused day.
    starts_on: Mapped[date] = mapped_column(Date)
    #: Last paused day (inclusive).
    ends_on: Mapped[date] = mapped_column(Date)
    #: Why.
    reason: Mapped[PauseReason] = mapped_column(enum_column(PauseReason, "pause_reason"))
    #: Details given (free text, removed on erasure).
    note: Mapped[str | None] = mapped_column(Text)
    #: Who recorded it (actor name): the graduate giving notice, or a registrar.
    recorded_by: Mapped[str] = mapped_column(String(300))

    graduation: Mapped[Graduation] = relationship()


class ExcludedOutcome(CreatedAt, Base):
    """A documented outcome (further full-time study, military service, incarceration, death)
    that takes a graduate out of the guarantee and out of the report denominators."""

    __tablename__ = "excluded_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The graduation excluded; at most one exclusion each.
    graduation_id: Mapped[int] = mapped_column(ForeignKey("graduations.id"), unique=True)
    #: Which excluded outcome.
    reason: Mapped[ExclusionReason] = mapped_column(
        enum_column(ExclusionReason, "exclusion_reason")
    )
    #: The day it began.
    occurred_on: Mapped[date] = mapped_column(Date)
    #: The document it rests on (a reference: enrolment letter, service record, certificate).
    evidence: Mapped[str] = mapped_column(String(500))
    #: Who recorded it (actor name).
    recorded_by: Mapped[str] = mapped_column(String(300))

    graduation: Mapped[Graduation] = relationship()
