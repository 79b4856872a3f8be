"""eligibility in the policy version (prerequisites, a time limit to qualify, search countries,
work authorisation, remote jobs for an employer abroad) and what an enrollment records of it
(prerequisite verifications, study start, search country, work authorisation); a job's country

Existing policies carry no eligibility terms, so every existing graduate stays covered. An
existing enrollment's search country is its student's country, the one recorded so far.

Revision ID: 0014
Revises: 0017
Create Date: 2026-12-05 04:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0017"
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
    with op.batch_alter_table("guarantee_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("qualify_within_months", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "requires_work_authorisation",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "remote_abroad_counts", sa.Boolean(), server_default=sa.true(), nullable=False
            )
        )
        batch_op.create_check_constraint(
            "qualify_within_months_positive",
            "qualify_within_months IS NULL OR qualify_within_months >= 1",
        )

    op.create_table(
        "policy_prerequisites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "length(label) >= 1", name=op.f("ck_policy_prerequisites_label_not_empty")
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["guarantee_policies.id"],
            name=op.f("fk_policy_prerequisites_policy_id_guarantee_policies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_prerequisites")),
        sa.UniqueConstraint("policy_id", "label", name="uq_policy_prerequisites_label"),
    )
    with op.batch_alter_table("policy_prerequisites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_policy_prerequisites_policy_id"), ["policy_id"], unique=False
        )

    op.create_table(
        "policy_search_areas",
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.CheckConstraint(
            "length(code) = 2 AND code = upper(code)", name=op.f("ck_policy_search_areas_code_iso")
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["guarantee_policies.id"],
            name=op.f("fk_policy_search_areas_policy_id_guarantee_policies"),
        ),
        sa.PrimaryKeyConstraint("policy_id", "code", name=op.f("pk_policy_search_areas")),
    )

    authorisation = sa.Enum(
        *AUTHORISATIONS,
        name="work_authorisation",
        native_enum=False,
        create_constraint=False,
        length=40,
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("studies_started_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("search_country", sa.String(length=2), nullable=True))
        batch_op.add_column(
            sa.Column("work_authorisation", authorisation, server_default="unknown", nullable=False)
        )
        batch_op.create_check_constraint(
            "work_authorisation",
            f"work_authorisation IN ({', '.join(repr(value) for value in AUTHORISATIONS)})",
        )
    enrollments = sa.table(
        "enrollments", sa.column("student_id", sa.Integer()), sa.column("search_country")
    )
    students = sa.table("students", sa.column("id", sa.Integer()), sa.column("country"))
    op.execute(
        enrollments.update().values(
            search_country=sa.select(students.c.country)
            .where(students.c.id == enrollments.c.student_id)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.alter_column("search_country", existing_type=sa.String(length=2), nullable=False)
        batch_op.create_check_constraint(
            "search_country_iso",
            "length(search_country) = 2 AND search_country = upper(search_country)",
        )
    _relock_cirr_intent()

    op.create_table(
        "prerequisite_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("prerequisite_id", sa.Integer(), nullable=False),
        sa.Column("verified_by", sa.String(length=300), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_prerequisite_verifications_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["policy_prerequisites.id"],
            name=op.f("fk_prerequisite_verifications_prerequisite_id_policy_prerequisites"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prerequisite_verifications")),
        sa.UniqueConstraint(
            "enrollment_id", "prerequisite_id", name="uq_prerequisite_verifications_once"
        ),
    )
    with op.batch_alter_table("prerequisite_verifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prerequisite_verifications_enrollment_id"),
            ["enrollment_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_prerequisite_verifications_prerequisite_id"),
            ["prerequisite_id"],
            unique=False,
        )

    with op.batch_alter_table("job_outcomes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch_op.add_column(
            sa.Column("remote_employer_country", sa.String(length=2), nullable=True)
        )
        batch_op.create_check_constraint("country_iso", "country IS NULL OR length(country) = 2")
        batch_op.create_check_constraint(
            "remote_employer_country_iso",
            "remote_employer_country IS NULL OR length(remote_employer_country) = 2",
        )


def downgrade() -> None:
    with op.batch_alter_table("job_outcomes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_job_outcomes_remote_employer_country_iso"), "check")
        batch_op.drop_constraint(op.f("ck_job_outcomes_country_iso"), "check")
        batch_op.drop_column("remote_employer_country")
        batch_op.drop_column("country")
    op.drop_table("prerequisite_verifications")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enrollments_search_country_iso"), "check")
        batch_op.drop_constraint(op.f("ck_enrollments_work_authorisation"), "check")
        batch_op.drop_column("work_authorisation")
        batch_op.drop_column("search_country")
        batch_op.drop_column("studies_started_on")
    _relock_cirr_intent()
    op.drop_table("policy_search_areas")
    op.drop_table("policy_prerequisites")
    with op.batch_alter_table("guarantee_policies", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_guarantee_policies_qualify_within_months_positive"), "check"
        )
        batch_op.drop_column("remote_abroad_counts")
        batch_op.drop_column("requires_work_authorisation")
        batch_op.drop_column("qualify_within_months")
