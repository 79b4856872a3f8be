"""an index for the registrar's enrollments list, newest expected graduation first

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 17:45:00.000000

Sorted by expected graduation, newest first, the list puts the enrollments without one last
(``listings._ordered``: ``DESC NULLS LAST``). ``ix_enrollments_expected_graduation_on_id``
(migration 0022) read backward gives them first, so PostgreSQL could not use it: checked with
EXPLAIN ANALYZE on the benchmark's school of 200,000 enrollments, the first page was a Parallel
Seq Scan of every enrollment under a top-N heapsort (28.5 ms, growing with the history). With
this index in that order it reads the page's 25 entries from the index.

PostgreSQL only: SQLite takes no ``NULLS LAST`` in an index (its list is the embedded default's,
a small school's).
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

NAME = "ix_enrollments_expected_graduation_desc"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE INDEX {NAME} ON enrollments (expected_graduation_on DESC NULLS LAST, id DESC)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(NAME, table_name="enrollments")
