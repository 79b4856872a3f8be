"""What the scheduler leaves behind: one row per job run and each scheduler's heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class SchedulerJobRun(Base):
    """One run of a scheduled job by the scheduler that held the lock when it started."""

    __tablename__ = "scheduler_job_runs"
    __table_args__ = (Index("ix_scheduler_job_runs_job_started_at", "job", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The job's id (``sweep``, ``executor``, ``reconciliation``, ``reminders``, ...).
    job: Mapped[str] = mapped_column(String(64))
    #: The scheduler process that ran it (``host:pid:nonce``).
    scheduler: Mapped[str] = mapped_column(String(200))
    #: When it started (UTC); on PostgreSQL written on the lock's own connection, so a run
    #: never starts once the lock is lost.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When it ended (UTC); empty while it runs or when the process died during it.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Whether it ended without an exception; empty until it ends.
    succeeded: Mapped[bool | None] = mapped_column(Boolean)
    #: The exception that ended it, if one did.
    error: Mapped[str | None] = mapped_column(Text)


class SchedulerHeartbeat(Base):
    """A scheduler's latest proof that it still holds the lock."""

    __tablename__ = "scheduler_heartbeats"

    #: The scheduler process (``host:pid:nonce``).
    scheduler: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: When it took the lock (UTC).
    lock_taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When it last found the lock still held (UTC).
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
