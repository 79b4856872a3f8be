"""Every reminder email the service sends, one row per message, so each is sent once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAt, UTCDateTime, enum_column


class MessageKind(StrEnum):
    """Why a message was sent."""

    DEADLINE_APPROACHING = "deadline_approaching"  # to a graduate, days before the deadline
    FALLING_BEHIND = "falling_behind"  # to a graduate short of the search obligations
    NEW_CLAIM = "new_claim"  # to finance, when the sweep flags a claim
    EMPLOYER_REMINDER = "employer_reminder"  # to an employer with a pending confirmation


class MessageState(StrEnum):
    """Where a message stands: written before sending, then sent or failed."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class SentMessage(CreatedAt, Base):
    """One email: its row is written (and committed) before it is sent, under a unique key,
    so no run sends the same reminder twice."""

    __tablename__ = "sent_messages"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Why it was sent.
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind, "message_kind"))
    #: What makes it unique, e.g. ``deadline:12:2027-03-01:7``: the same key is never sent twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    #: The address(es) it went to, comma-separated.
    recipient: Mapped[str] = mapped_column(Text)
    #: Subject line.
    subject: Mapped[str] = mapped_column(String(300))
    #: Plain-text body.
    body: Mapped[str] = mapped_column(Text)
    #: HTML body, rendered from the same template (NULL for messages written before there was
    #: one: they are sent as plain text).
    html: Mapped[str | None] = mapped_column(Text)
    #: The graduation it is about, when it is about one.
    graduation_id: Mapped[int | None] = mapped_column(ForeignKey("graduations.id"), index=True)
    #: The claim it announces, for a new-claim message.
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("refund_claims.id"), index=True)
    #: The confirmation it chases, for an employer reminder.
    confirmation_id: Mapped[str | None] = mapped_column(
        ForeignKey("hire_confirmations.id"), index=True
    )
    #: Pending until the mail server accepted it (sent) or refused it for good (failed).
    state: Mapped[MessageState] = mapped_column(
        enum_column(MessageState, "message_state"), default=MessageState.PENDING
    )
    #: Sending attempts made.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When the mail server accepted it (UTC).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last sending error, if any.
    last_error: Mapped[str | None] = mapped_column(Text)
