"""an enrollment's country of study and whether the student may work there (CIRR)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 14:00:00.000000

CIRR takes out of the outcomes report's base a graduate not authorised to work in the country of
study. For this online school the country of study is where the student studied from: an
existing enrollment's is its student's country, as its search country was (migration 0014), and
its work authorisation there is unknown, which takes nobody out. The authorisation is a string
column under a CHECK constraint, like ``work_authorisation`` (``enum_column``: no PostgreSQL
enum type).
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

AUTHORISATIONS = ("yes", "no", "unknown")

#: Migration 0005's lock on the CIRR intent. SQLite's batch mode rebuilds the enrollments table,
#: which drops its triggers: it is put back after each rebuild.
_SQLITE_INTENT_LOCK = (
    "CREATE TRIGGER enrollments_cirr_intent_locked BEFORE UPDATE OF cirr_intent"
    " ON enrollments WHEN OLD.cirr_intent IS NOT NEW.cirr_intent"
    " BEGIN SELECT RAISE(ABORT, 'the CIRR intent of an enrollment is locked'); END"
)


def _relock_cirr_intent() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS enrollments_cirr_intent_locked")
        op.execute(_SQLITE_INTENT_LOCK)


def upgrade() -> None:
    authorisation = sa.Enum(
        *AUTHORISATIONS,
        name="study_work_authorisation",
        native_enum=False,
        create_constraint=False,
        length=40,
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("study_country", sa.String(length=2), nullable=True))
        batch_op.add_column(
            sa.Column(
                "study_work_authorisation", authorisation, server_default="unknown", nullable=False
            )
        )
        batch_op.create_check_constraint(
            "study_work_authorisation",
            f"study_work_authorisation IN ({', '.join(repr(value) for value in AUTHORISATIONS)})",
        )
    enrollments = sa.table(
        "enrollments", sa.column("student_id", sa.Integer()), sa.column("study_country")
    )
    students = sa.table("students", sa.column("id", sa.Integer()), sa.column("country"))
    op.execute(
        enrollments.update().values(
            study_country=sa.select(students.c.country)
            .where(students.c.id == enrollments.c.student_id)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.alter_column("study_country", existing_type=sa.String(length=2), nullable=False)
        batch_op.create_check_constraint(
            "study_country_iso",
            "length(study_country) = 2 AND study_country = upper(study_country)",
        )
    _relock_cirr_intent()


def downgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enrollments_study_country_iso"), "check")
        batch_op.drop_constraint(op.f("ck_enrollments_study_work_authorisation"), "check")
        batch_op.drop_column("study_work_authorisation")
        batch_op.drop_column("study_country")
    _relock_cirr_intent()
