"""The append-only audit log: sign-ins, refusals and changes, each with its actor."""

from __future__ import annotations

from datetime import datetime

from flask import g, has_request_context, request
from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.bulk_rows import insert_rows
from app.models import AuditEvent
from app.models.base import utc_now


def record(
    session: Session,
    actor: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Add an audit event to ``session``'s transaction (it lands if that transaction commits)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        target=target,
        detail=detail,
        ip_address=request.remote_addr if has_request_context() else None,
    )
    session.add(event)
    return event


#: ``record_row``'s statement, built once.
_RECORD = insert(AuditEvent.__table__)


def record_row(
    session: Session,
    actor: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """``record``, written at once by one INSERT rather than at the session's next flush: for
    a step that writes its rows as statements (the refund executor's), without a unit of work."""
    session.connection().execute(
        _RECORD,
        {
            "at": at or utc_now(),
            "actor": actor,
            "action": action,
            "target": target,
            "detail": detail,
            "ip_address": request.remote_addr if has_request_context() else None,
        },
    )


def record_many(
    session: Session, actor: str, action: str, events: list[tuple[str | None, str | None]]
) -> None:
    """Add one audit event per (target, detail) of ``events``, inserted together
    (``insert_rows``): a batch job's many events that differ only in their target and detail."""
    if not events:
        return
    insert_rows(
        session,
        AuditEvent.__table__,
        {
            "at": utc_now(),
            "actor": actor,
            "action": action,
            "ip_address": request.remote_addr if has_request_context() else None,
        },
        {
            "target": [target for target, _detail in events],
            "detail": [detail for _target, detail in events],
        },
    )


def record_now(actor: str, action: str, target: str | None = None, detail: str | None = None):
    """Write an audit event in a transaction of its own: it lands even if the request fails.

    The request's own transaction is rolled back first. Only refusals are written this way, and
    a refused request writes nothing; left open, that transaction would hold SQLite's write lock
    (``BEGIN IMMEDIATE``) and this one would wait for it until the busy timeout, then fail.
    """
    from app.database import database

    if "db_session" in g:
        g.db_session.rollback()
    with database().session() as session:
        record(session, actor, action, target, detail)
        session.commit()
