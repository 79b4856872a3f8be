"""The audit tables refuse TRUNCATE on PostgreSQL, as they refuse UPDATE and DELETE everywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import ProgrammingError

from app.models import AuditEvent, ClaimApproval, ClaimTransition
from tests.factories import AuditedRefundClaimFactory

APPEND_ONLY = [ClaimTransition.__table__, ClaimApproval.__table__, AuditEvent.__table__]


@pytest.fixture
def audited_rows(session) -> None:
    """One row in each append-only table."""
    claim = AuditedRefundClaimFactory()
    session.add(ClaimApproval(claim_id=claim.id, actor="finance:ada", reason="first look"))
    session.add(AuditEvent(actor="admin:root", action="account.created", target="user:1"))
    session.flush()


@pytest.mark.parametrize("table", APPEND_ONLY, ids=lambda table: table.name)
def test_truncating_an_audit_table_is_refused_by_the_database(session, audited_rows, table):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE triggers are tested with the claims")
    count = select(func.count()).select_from(table)
    before = session.scalar(count)
    assert before >= 1

    with pytest.raises(ProgrammingError, match="append-only"), session.begin_nested():
        session.execute(text(f"TRUNCATE TABLE {table.name} CASCADE"))

    assert session.scalar(count) == before
