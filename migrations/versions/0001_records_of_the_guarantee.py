"""records of the guarantee

Revision ID: 0001
Revises:
Create Date: 2026-11-22 03:24:10.496149
"""

from alembic import op
import sqlalchemy as sa


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "employers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "contact_email = lower(contact_email)",
            name=op.f("ck_employers_email_lower_case"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employers")),
    )
    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tuition_list_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(currency) = 3 AND currency = upper(currency)",
            name=op.f("ck_programmes_currency_iso"),
        ),
        sa.CheckConstraint(
            "tuition_list_price_minor > 0", name=op.f("ck_programmes_tuition_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
        sa.UniqueConstraint("name", name=op.f("uq_programmes_name")),
    )
    op.create_table(
        "students",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "email = lower(email)", name=op.f("ck_students_email_lower_case")
        ),
        sa.CheckConstraint(
            "length(country) = 2 AND country = upper(country)",
            name=op.f("ck_students_country_iso"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_students")),
        sa.UniqueConstraint("email", name=op.f("uq_students_email")),
    )
    op.create_table(
        "guarantee_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("window_months", sa.Integer(), nullable=False),
        sa.Column(
            "window_starts",
            sa.Enum(
                "qualification_date",
                "day_after_qualification",
                "first_monday_after_qualification",
                name="window_start",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("min_contract_months", sa.Integer(), nullable=False),
        sa.Column("requires_in_field", sa.Boolean(), nullable=False),
        sa.Column("min_annual_salary_minor", sa.BigInteger(), nullable=True),
        sa.Column("claim_deadline_days", sa.Integer(), nullable=False),
        sa.Column("refund_cap_minor", sa.BigInteger(), nullable=True),
        sa.Column("deduct_scholarships", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "claim_deadline_days >= 0",
            name=op.f("ck_guarantee_policies_claim_deadline_days_not_negative"),
        ),
        sa.CheckConstraint(
            "min_annual_salary_minor IS NULL OR min_annual_salary_minor > 0",
            name=op.f("ck_guarantee_policies_pay_floor_positive"),
        ),
        sa.CheckConstraint(
            "min_contract_months >= 0",
            name=op.f("ck_guarantee_policies_min_contract_months_not_negative"),
        ),
        sa.CheckConstraint(
            "refund_cap_minor IS NULL OR refund_cap_minor > 0",
            name=op.f("ck_guarantee_policies_refund_cap_positive"),
        ),
        sa.CheckConstraint(
            "version >= 1", name=op.f("ck_guarantee_policies_version_positive")
        ),
        sa.CheckConstraint(
            "window_months BETWEEN 1 AND 60",
            name=op.f("ck_guarantee_policies_window_months_range"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_guarantee_policies_programme_id_programmes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guarantee_policies")),
        sa.UniqueConstraint(
            "id", "programme_id", name="uq_guarantee_policies_id_programme"
        ),
        sa.UniqueConstraint(
            "programme_id", "version", name="uq_guarantee_policies_version"
        ),
    )
    with op.batch_alter_table("guarantee_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_guarantee_policies_programme_id"),
            ["programme_id"],
            unique=False,
        )

    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("guarantee_opt_in", sa.Boolean(), nullable=False),
        sa.Column("scholarship_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "scholarship_minor >= 0",
            name=op.f("ck_enrollments_scholarship_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id", "programme_id"],
            ["guarantee_policies.id", "guarantee_policies.programme_id"],
            name="fk_enrollments_policy_of_programme",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_enrollments_programme_id_programmes"),
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_enrollments_student_id_students"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrollments_policy_id"), ["policy_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_enrollments_programme_id"), ["programme_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_enrollments_student_id"), ["student_id"], unique=False
        )

    op.create_table(
        "policy_qualifying_types",
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column(
            "employment_type",
            sa.Enum(
                "full_time_permanent",
                "fixed_term_contract",
                "apprenticeship",
                "internship",
                "freelance",
                "part_time",
                "founded_company",
                name="employment_type",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["guarantee_policies.id"],
            name=op.f("fk_policy_qualifying_types_policy_id_guarantee_policies"),
        ),
        sa.PrimaryKeyConstraint(
            "policy_id", "employment_type", name=op.f("pk_policy_qualifying_types")
        ),
    )
    op.create_table(
        "graduations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("qualified_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_graduations_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graduations")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_graduations_enrollment_id")),
    )
    with op.batch_alter_table("graduations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_graduations_qualified_on"), ["qualified_on"], unique=False
        )

    op.create_table(
        "tuition_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "payer_type",
            sa.Enum(
                "student",
                "sponsor",
                name="payer_type",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("payer_name", sa.String(length=200), nullable=True),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_minor > 0", name=op.f("ck_tuition_payments_amount_positive")
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND currency = upper(currency)",
            name=op.f("ck_tuition_payments_currency_iso"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_tuition_payments_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tuition_payments")),
        sa.UniqueConstraint(
            "stripe_payment_intent_id",
            name=op.f("uq_tuition_payments_stripe_payment_intent_id"),
        ),
    )
    with op.batch_alter_table("tuition_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tuition_payments_enrollment_id"),
            ["enrollment_id"],
            unique=False,
        )

    op.create_table(
        "job_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("graduation_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "employment_type",
            sa.Enum(
                "full_time_permanent",
                "fixed_term_contract",
                "apprenticeship",
                "internship",
                "freelance",
                "part_time",
                "founded_company",
                name="employment_type",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("in_field", sa.Boolean(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("contract_months", sa.Integer(), nullable=True),
        sa.Column("annual_salary_minor", sa.BigInteger(), nullable=True),
        sa.Column("salary_currency", sa.String(length=3), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "graduate",
                "employer",
                "registrar",
                name="outcome_source",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "confirmed",
                "disputed",
                name="outcome_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(annual_salary_minor IS NULL) = (salary_currency IS NULL)",
            name=op.f("ck_job_outcomes_salary_has_currency"),
        ),
        sa.CheckConstraint(
            "annual_salary_minor IS NULL OR annual_salary_minor > 0",
            name=op.f("ck_job_outcomes_salary_positive"),
        ),
        sa.CheckConstraint(
            "contract_months IS NULL OR contract_months > 0",
            name=op.f("ck_job_outcomes_contract_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_job_outcomes_employer_id_employers"),
        ),
        sa.ForeignKeyConstraint(
            ["graduation_id"],
            ["graduations.id"],
            name=op.f("fk_job_outcomes_graduation_id_graduations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_outcomes")),
    )
    with op.batch_alter_table("job_outcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_outcomes_employer_id"), ["employer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_job_outcomes_graduation_id"), ["graduation_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("job_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_outcomes_graduation_id"))
        batch_op.drop_index(batch_op.f("ix_job_outcomes_employer_id"))

    op.drop_table("job_outcomes")
    with op.batch_alter_table("tuition_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tuition_payments_enrollment_id"))

    op.drop_table("tuition_payments")
    with op.batch_alter_table("graduations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_graduations_qualified_on"))

    op.drop_table("graduations")
    op.drop_table("policy_qualifying_types")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollments_student_id"))
        batch_op.drop_index(batch_op.f("ix_enrollments_programme_id"))
        batch_op.drop_index(batch_op.f("ix_enrollments_policy_id"))

    op.drop_table("enrollments")
    with op.batch_alter_table("guarantee_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guarantee_policies_programme_id"))

    op.drop_table("guarantee_policies")
    op.drop_table("students")
    op.drop_table("programmes")
    op.drop_table("employers")
