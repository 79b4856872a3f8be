"""approval rounds, the amount each approver saw, and recovery items

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 01:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _append_only(table: str, *, on: bool) -> None:
    # claim_approvals is append-only (migration 0002); the triggers are lifted only while the
    # table's shape changes (SQLite rebuilds the table), then put back as they were.
    postgresql = op.get_bind().dialect.name == "postgresql"
    if not on:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        return
    if postgresql:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'audit rows of {table} are append-only'); END"
            )


def upgrade() -> None:
    with op.batch_alter_table("refund_claims", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("approval_round", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("closed_while_owed", sa.Boolean(), nullable=True))

    _append_only("claim_approvals", on=False)
    with op.batch_alter_table("claim_approvals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("round", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("amount_minor", sa.BigInteger(), nullable=True))
        batch_op.drop_constraint("uq_claim_approvals_actor", type_="unique")
        batch_op.create_unique_constraint(
            "uq_claim_approvals_round_actor", ["claim_id", "round", "actor"]
        )
    _append_only("claim_approvals", on=True)

    op.create_table(
        "recovery_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("job_outcome_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["refund_claims.id"], name=op.f("fk_recovery_items_claim_id_refund_claims")
        ),
        sa.ForeignKeyConstraint(
            ["job_outcome_id"],
            ["job_outcomes.id"],
            name=op.f("fk_recovery_items_job_outcome_id_job_outcomes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_items")),
        sa.UniqueConstraint(
            "claim_id", "job_outcome_id", name="uq_recovery_items_claim_outcome"
        ),
    )
    with op.batch_alter_table("recovery_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_items_claim_id"), ["claim_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recovery_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_items_claim_id"))
    op.drop_table("recovery_items")

    _append_only("claim_approvals", on=False)
    with op.batch_alter_table("claim_approvals", schema=None) as batch_op:
        batch_op.drop_constraint("uq_claim_approvals_round_actor", type_="unique")
        batch_op.create_unique_constraint("uq_claim_approvals_actor", ["claim_id", "actor"])
        batch_op.drop_column("amount_minor")
        batch_op.drop_column("round")
    _append_only("claim_approvals", on=True)

    with op.batch_alter_table("refund_claims", schema=None) as batch_op:
        batch_op.drop_column("closed_while_owed")
        batch_op.drop_column("approval_round")
