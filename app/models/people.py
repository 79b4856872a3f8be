"""The people and organisations the school deals with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAt, UTCDateTime


class Student(CreatedAt, Base):
    """A person enrolled in a programme; a graduate once they qualify."""

    __tablename__ = "students"
    __table_args__ = (
        CheckConstraint("length(country) = 2 AND country = upper(country)", name="country_iso"),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        # The registrar's enrollments list sorted by name, and its pages' seeks (migration 0022).
        Index("ix_students_name_id", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Full name as the school records it.
    name: Mapped[str] = mapped_column(String(200))
    #: Contact address, stored in lower case; unique, it identifies the student in imports.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: ISO 3166-1 alpha-2 country where the student searches for work.
    country: Mapped[str] = mapped_column(String(2))
    #: When the student's personal data was erased on request (UTC); name and email then hold
    #: a pseudonymous reference. NULL while the data is held.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Employer(CreatedAt, Base):
    """A company that hires graduates and can confirm that it did."""

    __tablename__ = "employers"
    __table_args__ = (
        CheckConstraint("contact_email = lower(contact_email)", name="email_lower_case"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Company name.
    name: Mapped[str] = mapped_column(String(200))
    #: Where hire confirmations are sent, in lower case.
    contact_email: Mapped[str] = mapped_column(String(254))
    #: Whether this employer is the school itself (CIRR counts its hires apart: 1C and 2A).
    is_school: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: When the school vouched for ``contact_email`` (UTC): recorded by staff, or verified by a
    #: registrar. NULL for a contact a graduate typed, whose answers change nothing until then.
    contact_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Who vouched for the contact (a registrar's actor name, or the import or demo).
    contact_verified_by: Mapped[str | None] = mapped_column(String(300))

    @property
    def contact_verified(self) -> bool:
        """Whether answers from ``contact_email`` are trusted."""
        return self.contact_verified_at is not None
