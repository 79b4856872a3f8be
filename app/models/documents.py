"""Evidence documents: files attached to the records they back (a job's contract, a pause's
certificate, a manual settlement's bank statement).

The file itself lives outside the database (``app.storage``); the row says what it is, whom it
belongs to and which record it concerns.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt, UTCDateTime, enum_column
from app.models.enrollment import Enrollment


class DocumentConcerns(StrEnum):
    """The kind of record a document backs; ``Document.concerns_id`` is that record's id.

    A new kind of evidence (a prerequisite's verification at enrollment) is one more member
    here, its model in ``app.services.documents``, and the constraint's list in a migration.
    """

    JOB_OUTCOME = "job_outcome"  # an offer letter, a contract
    SEARCH_ACTIVITY = "search_activity"  # proof of an application, an interview invitation
    SEARCH_PAUSE = "search_pause"  # a medical certificate, a birth certificate
    REFUND_CLAIM = "refund_claim"  # a manual settlement's bank statement


class DocumentSource(StrEnum):
    """Who attached a document."""

    GRADUATE = "graduate"
    EMPLOYER = "employer"  # through the hire confirmation's emailed link
    REGISTRAR = "registrar"
    FINANCE = "finance"


class Document(CreatedAt, Base):
    """One file attached to one record of one enrollment."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("size_bytes > 0", name="size_positive"),
        CheckConstraint(
            "content_type IN ('application/pdf', 'image/png', 'image/jpeg')",
            name="content_type_accepted",
        ),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The enrollment whose records the document backs: its student owns it.
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    #: The kind of record it backs.
    concerns_kind: Mapped[DocumentConcerns] = mapped_column(
        enum_column(DocumentConcerns, "document_concerns")
    )
    #: The id of that record (a job outcome, search activity, pause or refund claim).
    concerns_id: Mapped[int] = mapped_column(Integer)
    #: The hire confirmation whose emailed link it came through; NULL for everyone else's.
    hire_confirmation_id: Mapped[str | None] = mapped_column(
        ForeignKey("hire_confirmations.id"), index=True
    )
    #: The file's name as uploaded, made safe (letters, digits, dots, dashes; an extension
    #: matching its type); ``(erased)`` once erased.
    filename: Mapped[str] = mapped_column(String(120))
    #: The type read from the file's first bytes (never the client's word for it).
    content_type: Mapped[str] = mapped_column(String(40))
    #: Size of the file in bytes.
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    #: SHA-256 of the file's bytes, hex: proof that the file kept is the file received.
    sha256: Mapped[str] = mapped_column(String(64))
    #: The random name the store keeps it under (never derived from the upload).
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: Who attached it.
    source: Mapped[DocumentSource] = mapped_column(enum_column(DocumentSource, "document_source"))
    #: Their actor name (``link`` for an employer's emailed link).
    uploaded_by: Mapped[str] = mapped_column(String(300))
    #: When the file was removed with its owner's personal data (UTC); NULL while kept.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enrollment: Mapped[Enrollment] = relationship()
