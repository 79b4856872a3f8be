"""indexes the registrar's enrollments list seeks in, sorted by name or expected graduation

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-05 07:10:00.000000

The list's next and previous pages start from the key of the row they follow (or precede):
``(key, id) < (k, i)`` ordered by ``key, id``. Checked with EXPLAIN (ANALYZE, BUFFERS) on
PostgreSQL over the benchmark's school of 200,000 enrollments (``make bench``):

- ``ix_enrollments_expected_graduation_on_id``: sorted by expected graduation, a page's seek is
  an Index Only Scan whose Index Cond is the row comparison: 25 entries, 0.17 ms. With the
  single-column index alone the id was a Filter under an Incremental Sort of the whole day
  (0.44 ms, more on a day with many rows); by page number, OFFSET 199,950 sorted every
  enrollment on disk (323 ms).
- ``ix_students_name_id``: sorted by the student's name, the first page is a Nested Loop from
  this index read backward into ``ix_enrollments_student_id``, under an Incremental Sort of one
  name's enrollments: 0.1 ms, where it hash-joined every student and enrollment and sorted them
  (321 ms); a seek starts the same scan at its name (0.22 ms, was a Seq Scan of the students,
  54 ms).

The default order (signed, newest first) already seeks in ``ix_enrollments_signed_on_id`` and
``ix_enrollments_programme_signed_on_id`` (migration 0018).
"""

from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

#: Each index, its table and columns.
INDEXES = (
    ("ix_enrollments_expected_graduation_on_id", "enrollments", ["expected_graduation_on", "id"]),
    ("ix_students_name_id", "students", ["name", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
