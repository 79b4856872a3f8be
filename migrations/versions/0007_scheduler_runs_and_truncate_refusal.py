"""scheduler job runs and heartbeats; the audit tables refuse TRUNCATE

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-05 00:35:43.776017
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: The append-only tables: row triggers refuse UPDATE and DELETE (0002, 0003); TRUNCATE
#: bypasses row triggers, so on PostgreSQL a statement trigger refuses it too. SQLite has no
#: TRUNCATE (``DELETE FROM`` without a WHERE fires the row triggers).
APPEND_ONLY_TABLES = ("claim_transitions", "claim_approvals", "audit_events")


def upgrade() -> None:
    op.create_table(
        "scheduler_heartbeats",
        sa.Column("scheduler", sa.String(length=200), nullable=False),
        sa.Column("lock_taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scheduler", name=op.f("pk_scheduler_heartbeats")),
    )
    with op.batch_alter_table("scheduler_heartbeats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scheduler_heartbeats_beat_at"), ["beat_at"], unique=False
        )

    op.create_table(
        "scheduler_job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("scheduler", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_job_runs")),
    )
    with op.batch_alter_table("scheduler_job_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scheduler_job_runs_job_started_at", ["job", "started_at"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            # refuse_audit_change() is 0002's: it raises naming the table.
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")

    with op.batch_alter_table("scheduler_job_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduler_job_runs_job_started_at")
    op.drop_table("scheduler_job_runs")
    with op.batch_alter_table("scheduler_heartbeats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduler_heartbeats_beat_at"))
    op.drop_table("scheduler_heartbeats")
