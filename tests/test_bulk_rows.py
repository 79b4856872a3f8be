"""Many rows inserted at once: each with the fixed values and its own, in the order given."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.bulk_rows import insert_rows
from app.models import AuditEvent

AT = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def test_insert_rows_writes_one_row_per_position_with_the_fixed_values_in_order(session):
    targets = [f"claim:{n}" for n in (30, 4, 17)]
    details = ["2 reason(s) to review", None, "l'offre « déclinée »; 05 Jan 2027"]

    insert_rows(
        session,
        AuditEvent.__table__,
        {"at": AT, "actor": "system:sweep", "action": "bulk.tested", "ip_address": None},
        {"target": targets, "detail": details},
    )

    rows = session.execute(
        select(
            AuditEvent.at, AuditEvent.actor, AuditEvent.target, AuditEvent.detail,
            AuditEvent.ip_address,
        )
        .where(AuditEvent.action == "bulk.tested")
        .order_by(AuditEvent.id)
    ).all()  # fmt: skip
    assert [tuple(row) for row in rows] == [
        (AT, "system:sweep", target, detail, None)
        for target, detail in zip(targets, details, strict=True)
    ]


def test_insert_rows_of_no_rows_writes_nothing(session):
    insert_rows(
        session,
        AuditEvent.__table__,
        {"at": AT, "actor": "system:sweep", "action": "bulk.tested", "ip_address": None},
        {"target": [], "detail": []},
    )

    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "bulk.tested")).all() == []
