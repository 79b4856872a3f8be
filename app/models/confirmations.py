"""The employer's confirmation of a hire, requested by an emailed link."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.guarantee.terms import EmploymentType
from app.models.base import Base, CreatedAt, UTCDateTime, enum_column
from app.models.outcomes import JobOutcome


class ConfirmationAnswer(StrEnum):
    """What the employer said."""

    CONFIRMED = "confirmed"
    DENIED = "denied"


class HireConfirmation(CreatedAt, Base):
    """A request to an employer to confirm a reported job; its link works once, until expiry."""

    __tablename__ = "hire_confirmations"

    #: Random id carried (signed) in the emailed link; single use.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The reported job to confirm.
    job_outcome_id: Mapped[int] = mapped_column(ForeignKey("job_outcomes.id"), index=True)
    #: Where the link was sent.
    sent_to: Mapped[str] = mapped_column(String(254))
    #: Whether an answer to this request is trusted: it went to a contact the school vouched
    #: for, or an employer account answered it. An untrusted answer is recorded and shown as
    #: unverified, and changes nothing about the job (``app.services.confirmations``).
    trusted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=true())
    #: The link stops working after this instant (UTC).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When the employer answered (UTC); NULL while the link is unused.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Confirmed or denied.
    answer: Mapped[ConfirmationAnswer | None] = mapped_column(
        enum_column(ConfirmationAnswer, "confirmation_answer")
    )
    #: Who answered: ``link`` for the emailed link, or the employer account's actor name.
    answered_by: Mapped[str | None] = mapped_column(String(300))
    #: The start date as the employer corrected it, when they did.
    corrected_start_date: Mapped[date | None] = mapped_column(Date)
    #: The contract type as the employer corrected it, when they did.
    corrected_employment_type: Mapped[EmploymentType | None] = mapped_column(
        enum_column(EmploymentType, "corrected_employment_type")
    )
    #: The employer's remark.
    comment: Mapped[str | None] = mapped_column(Text)

    job_outcome: Mapped[JobOutcome] = relationship()
