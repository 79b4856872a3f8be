"""refund claims and refunds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:31:17.383482
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "processed_webhook_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_processed_webhook_events")),
    )
    op.create_table(
        "refund_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("graduation_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "flagged",
                "in_review",
                "awaiting_second_approval",
                "approved",
                "rejected",
                "withdrawn",
                "paying",
                "refunded",
                "failed",
                "settled_manually",
                name="claim_state",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("flagged_on", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_refund_claims_amount_not_negative")),
        sa.CheckConstraint(
            "length(currency) = 3 AND currency = upper(currency)",
            name=op.f("ck_refund_claims_currency_iso"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_refund_claims_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["graduation_id"],
            ["graduations.id"],
            name=op.f("fk_refund_claims_graduation_id_graduations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_claims")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_refund_claims_enrollment_id")),
    )
    with op.batch_alter_table("refund_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_refund_claims_graduation_id"), ["graduation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_refund_claims_state"), ["state"], unique=False)

    op.create_table(
        "claim_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["refund_claims.id"],
            name=op.f("fk_claim_approvals_claim_id_refund_claims"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_approvals")),
        sa.UniqueConstraint("claim_id", "actor", name="uq_claim_approvals_actor"),
    )
    with op.batch_alter_table("claim_approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_approvals_claim_id"), ["claim_id"], unique=False)

    op.create_table(
        "claim_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_state",
            sa.Enum(
                "flagged",
                "in_review",
                "awaiting_second_approval",
                "approved",
                "rejected",
                "withdrawn",
                "paying",
                "refunded",
                "failed",
                "settled_manually",
                name="from_state",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_state",
            sa.Enum(
                "flagged",
                "in_review",
                "awaiting_second_approval",
                "approved",
                "rejected",
                "withdrawn",
                "paying",
                "refunded",
                "failed",
                "settled_manually",
                name="to_state",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["refund_claims.id"],
            name=op.f("fk_claim_transitions_claim_id_refund_claims"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_transitions")),
    )
    with op.batch_alter_table("claim_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_claim_transitions_claim_id"), ["claim_id"], unique=False
        )

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "submitting",
                "processing",
                "succeeded",
                "failed",
                "canceled",
                "settled_manually",
                name="refund_state",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("manual_reference", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_refunds_amount_positive")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_refunds_attempts_not_negative")),
        sa.CheckConstraint(
            "length(currency) = 3 AND currency = upper(currency)",
            name=op.f("ck_refunds_currency_iso"),
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["refund_claims.id"], name=op.f("fk_refunds_claim_id_refund_claims")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["tuition_payments.id"],
            name=op.f("fk_refunds_payment_id_tuition_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_refunds_idempotency_key")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_refunds_payment_id")),
        sa.UniqueConstraint("provider_refund_id", name=op.f("uq_refunds_provider_refund_id")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refunds_state"), ["state"], unique=False)

    _make_append_only("claim_transitions")
    _make_append_only("claim_approvals")


def _make_append_only(table: str) -> None:
    # Audit rows are evidence: the database itself refuses to change or remove them.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION refuse_audit_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit rows of % are append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
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


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    _drop_append_only("claim_approvals")
    _drop_append_only("claim_transitions")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_audit_change()")

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_state"))
        batch_op.drop_index(batch_op.f("ix_refunds_claim_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("claim_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_transitions_claim_id"))

    op.drop_table("claim_transitions")
    with op.batch_alter_table("claim_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_approvals_claim_id"))

    op.drop_table("claim_approvals")
    with op.batch_alter_table("refund_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_claims_state"))
        batch_op.drop_index(batch_op.f("ix_refund_claims_graduation_id"))

    op.drop_table("refund_claims")
    op.drop_table("processed_webhook_events")
