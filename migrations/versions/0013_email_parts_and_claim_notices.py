"""what the graduate is told of their claim: notes for them beside staff notes, their appeals,
the emails of each step, and finance's digest of new claims

Revision ID: 0013
Revises: 0018
Create Date: 2026-12-05 03:55:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0018"
branch_labels = None
depends_on = None

OLD_KINDS = ("deadline_approaching", "falling_behind", "new_claim", "employer_reminder")
NEW_KINDS = (
    *OLD_KINDS,
    "claim_opened",
    "claim_approved",
    "claim_rejected",
    "claim_refunded",
    "claim_settled_manually",
    "appeal_received",
    "appeal_decided",
)


def _kind(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name="message_kind", native_enum=False, create_constraint=True, length=40
    )


def _kinds(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    # The message kinds are a CHECK constraint: PostgreSQL replaces it, SQLite rebuilds the table.
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_sent_messages_message_kind"), "sent_messages", type_="check")
        listed = ", ".join(f"'{kind}'" for kind in new)
        op.create_check_constraint(
            op.f("ck_sent_messages_message_kind"), "sent_messages", f"kind IN ({listed})"
        )
        return
    with op.batch_alter_table("sent_messages", schema=None, recreate="always") as batch_op:
        batch_op.alter_column("kind", existing_type=_kind(old), type_=_kind(new))


def upgrade() -> None:
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html", sa.Text(), nullable=True))
    _kinds(OLD_KINDS, NEW_KINDS)

    with op.batch_alter_table("claim_transitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("graduate_note", sa.Text(), nullable=True))

    op.create_table(
        "claim_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("rejection_id", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["refund_claims.id"], name=op.f("fk_claim_appeals_claim_id_refund_claims")
        ),
        sa.ForeignKeyConstraint(
            ["rejection_id"],
            ["claim_transitions.id"],
            name=op.f("fk_claim_appeals_rejection_id_claim_transitions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_appeals")),
        sa.UniqueConstraint("rejection_id", name=op.f("uq_claim_appeals_rejection_id")),
    )
    with op.batch_alter_table("claim_appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_appeals_claim_id"), ["claim_id"], unique=False)

    op.create_table(
        "announced_claims",
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["refund_claims.id"],
            name=op.f("fk_announced_claims_claim_id_refund_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["sent_messages.id"],
            name=op.f("fk_announced_claims_message_id_sent_messages"),
        ),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_announced_claims")),
    )
    with op.batch_alter_table("announced_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_announced_claims_message_id"), ["message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("announced_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_announced_claims_message_id"))
    op.drop_table("announced_claims")
    with op.batch_alter_table("claim_appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_appeals_claim_id"))
    op.drop_table("claim_appeals")
    with op.batch_alter_table("claim_transitions", schema=None) as batch_op:
        batch_op.drop_column("graduate_note")
    op.execute(
        "DELETE FROM sent_messages WHERE kind NOT IN ("
        + ", ".join(f"'{kind}'" for kind in OLD_KINDS)
        + ")"
    )
    _kinds(NEW_KINDS, OLD_KINDS)
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.drop_column("html")
