"""payments indexed by enrollment and instant, for the import's check of payments recorded twice

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 10:45:00.000000

The import refuses a payment already recorded: it reads, in one query, the payments of the
file's enrollments between the file's first and last instants (``enrollment_id = ANY(...) AND
paid_at BETWEEN ...``). Checked with EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL over the
benchmark's school of 200,000 enrollments and 400,000 payments, for a file of 20,000 payments:

- ``ix_tuition_payments_enrollment_id_paid_at``: an Index Scan whose Index Cond holds both the
  enrollment and the instants: 60,000 to 120,000 buffers, 36 to 89 ms. With the single-column
  index on ``enrollment_id`` the instants were a Filter, read from every payment of every
  enrollment (203,000 buffers, 117 to 286 ms).

It replaces ``ix_tuition_payments_enrollment_id``, which it starts with: a query reading an
enrollment's payments reads it the same way, and a write still updates one index.
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tuition_payments_enrollment_id_paid_at",
        "tuition_payments",
        ["enrollment_id", "paid_at"],
    )
    op.drop_index("ix_tuition_payments_enrollment_id", table_name="tuition_payments")


def downgrade() -> None:
    op.create_index("ix_tuition_payments_enrollment_id", "tuition_payments", ["enrollment_id"])
    op.drop_index("ix_tuition_payments_enrollment_id_paid_at", table_name="tuition_payments")
