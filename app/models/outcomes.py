"""What graduates did after qualifying: the jobs they report and employers confirm."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.guarantee.terms import EmploymentType, JobFacts, OutcomeSource, OutcomeStatus
from app.models.base import Base, CreatedAt, Currency, Money, UTCDateTime, enum_column, utc_now
from app.models.enrollment import Graduation
from app.models.people import Employer

if TYPE_CHECKING:
    from app.models.confirmations import HireConfirmation


class JobOutcome(CreatedAt, Base):
    """A job a graduate took, as reported and then confirmed or disputed by the employer."""

    __tablename__ = "job_outcomes"
    __table_args__ = (
        CheckConstraint("contract_months IS NULL OR contract_months > 0", name="contract_positive"),
        CheckConstraint(
            "annual_salary_minor IS NULL OR annual_salary_minor > 0", name="salary_positive"
        ),
        CheckConstraint(
            "(annual_salary_minor IS NULL) = (salary_currency IS NULL)",
            name="salary_has_currency",
        ),
        CheckConstraint("country IS NULL OR length(country) = 2", name="country_iso"),
        CheckConstraint(
            "remote_employer_country IS NULL OR length(remote_employer_country) = 2",
            name="remote_employer_country_iso",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The graduation this job follows.
    graduation_id: Mapped[int] = mapped_column(ForeignKey("graduations.id"), index=True)
    #: The hiring company; NULL when the graduate founded their own.
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"), index=True)
    #: Job title.
    title: Mapped[str] = mapped_column(String(200))
    #: Kind of employment.
    employment_type: Mapped[EmploymentType] = mapped_column(
        enum_column(EmploymentType, "employment_type")
    )
    #: Whether the job is in the programme's field.
    in_field: Mapped[bool] = mapped_column(Boolean)
    #: First day of work (or, for an accepted offer, the agreed first day).
    start_date: Mapped[date] = mapped_column(Date)
    #: Length of a fixed-term contract in months; NULL for open-ended jobs or when unknown.
    contract_months: Mapped[int | None] = mapped_column(Integer)
    #: Base annual salary in minor units of ``salary_currency``; NULL when unknown.
    annual_salary_minor: Mapped[int | None] = mapped_column(Money)
    #: ISO 4217 currency of the salary.
    salary_currency: Mapped[str | None] = mapped_column(Currency)
    #: Who reported the job.
    source: Mapped[OutcomeSource] = mapped_column(enum_column(OutcomeSource, "outcome_source"))
    #: Reported, confirmed by the employer, or disputed by them.
    status: Mapped[OutcomeStatus] = mapped_column(
        enum_column(OutcomeStatus, "outcome_status"), default=OutcomeStatus.REPORTED
    )
    #: Why a registrar last disputed or corrected this job; NULL if none did.
    revision_reason: Mapped[str | None] = mapped_column(Text)
    #: The registrar who did (actor name).
    revised_by: Mapped[str | None] = mapped_column(String(300))
    #: ISO 3166-1 alpha-2 country the graduate works in (for a remote job, works from); NULL
    #: for the country of their search.
    country: Mapped[str | None] = mapped_column(String(2))
    #: For a remote job, the ISO country of the employer it is done for; NULL otherwise.
    remote_employer_country: Mapped[str | None] = mapped_column(String(2))
    #: When this record last changed (UTC).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    graduation: Mapped[Graduation] = relationship()
    employer: Mapped[Employer | None] = relationship()
    #: The requests to the employer to confirm this job, oldest first.
    confirmations: Mapped[list[HireConfirmation]] = relationship(
        viewonly=True,
        order_by="(HireConfirmation.answered_at, HireConfirmation.created_at, HireConfirmation.id)",
    )

    @property
    def employer_answer(self) -> HireConfirmation | None:
        """The employer's latest answer about this job (trusted or not), if any."""
        answered = [row for row in self.confirmations if row.answered_at is not None]
        return answered[-1] if answered else None

    def facts(self) -> JobFacts:
        """This job as plain values for the rules."""
        return JobFacts(
            employment_type=self.employment_type,
            in_field=self.in_field,
            start_date=self.start_date,
            status=self.status,
            contract_months=self.contract_months,
            annual_salary_minor=self.annual_salary_minor,
            salary_currency=self.salary_currency,
            country=self.country,
            remote_employer_country=self.remote_employer_country,
        )
