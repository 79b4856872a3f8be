"""search obligations, pauses, exclusions, CIRR intent and outcomes, reminder messages

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 05:58:37.473506
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INTENTS = ("in_field_job", "out_of_field_job", "further_study", "not_seeking_work")
SOURCES = ("graduate", "employer", "registrar", "recruiter", "employment_history_service")
POLICY_CHECKS = {
    "weekly_applications_not_negative": "weekly_applications >= 0",
    "coaching_every_weeks_positive": "coaching_every_weeks IS NULL OR coaching_every_weeks >= 1",
    "answer_within_days_positive": "answer_within_days IS NULL OR answer_within_days >= 1",
    "report_offers_within_days_positive": (
        "report_offers_within_days IS NULL OR report_offers_within_days >= 1"
    ),
    "max_pause_days_not_negative": "max_pause_days >= 0",
}


def _one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    op.create_table(
        "excluded_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("graduation_id", sa.Integer(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "further_study",
                "military_service",
                "incarceration",
                "death",
                name="exclusion_reason",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("evidence", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["graduation_id"],
            ["graduations.id"],
            name=op.f("fk_excluded_outcomes_graduation_id_graduations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_excluded_outcomes")),
        sa.UniqueConstraint("graduation_id", name=op.f("uq_excluded_outcomes_graduation_id")),
    )
    op.create_table(
        "school_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("graduation_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_by", sa.String(length=300), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(answer IS NULL) = (answered_at IS NULL)",
            name=op.f("ck_school_requests_answer_has_time"),
        ),
        sa.ForeignKeyConstraint(
            ["graduation_id"],
            ["graduations.id"],
            name=op.f("fk_school_requests_graduation_id_graduations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_requests")),
    )
    with op.batch_alter_table("school_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_school_requests_graduation_id"), ["graduation_id"], unique=False
        )

    op.create_table(
        "search_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("graduation_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "application",
                "interview",
                "offer",
                "coaching_checkin",
                name="search_activity_kind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("employer_name", sa.String(length=200), nullable=True),
        sa.Column("position", sa.String(length=200), nullable=True),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
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
                name="offer_employment_type",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("in_field", sa.Boolean(), nullable=True),
        sa.Column("annual_salary_minor", sa.BigInteger(), nullable=True),
        sa.Column("salary_currency", sa.String(length=3), nullable=True),
        sa.Column("contract_months", sa.Integer(), nullable=True),
        sa.Column("offer_starts_on", sa.Date(), nullable=True),
        sa.Column(
            "decision",
            sa.Enum(
                "pending",
                "accepted",
                "declined",
                name="offer_decision",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'offer') = (decision IS NOT NULL)",
            name=op.f("ck_search_activities_decision_only_for_offers"),
        ),
        sa.CheckConstraint(
            "decided_on IS NULL OR decision <> 'pending'",
            name=op.f("ck_search_activities_decided_on_only_when_decided"),
        ),
        sa.CheckConstraint(
            "kind <> 'offer' OR (employment_type IS NOT NULL AND in_field IS NOT NULL)",
            name=op.f("ck_search_activities_offer_has_terms"),
        ),
        sa.CheckConstraint(
            "kind = 'coaching_checkin' OR (employer_name IS NOT NULL AND position IS NOT NULL)",
            name=op.f("ck_search_activities_employer_and_position_named"),
        ),
        sa.CheckConstraint(
            "(annual_salary_minor IS NULL) = (salary_currency IS NULL)",
            name=op.f("ck_search_activities_salary_has_currency"),
        ),
        sa.CheckConstraint(
            "annual_salary_minor IS NULL OR annual_salary_minor > 0",
            name=op.f("ck_search_activities_salary_positive"),
        ),
        sa.CheckConstraint(
            "contract_months IS NULL OR contract_months > 0",
            name=op.f("ck_search_activities_contract_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["graduation_id"],
            ["graduations.id"],
            name=op.f("fk_search_activities_graduation_id_graduations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_activities")),
    )
    with op.batch_alter_table("search_activities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_search_activities_graduation_id"), ["graduation_id"], unique=False
        )

    op.create_table(
        "search_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("graduation_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "illness",
                "parental_leave",
                "caring",
                "other",
                name="pause_reason",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_search_pauses_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["graduation_id"],
            ["graduations.id"],
            name=op.f("fk_search_pauses_graduation_id_graduations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_pauses")),
    )
    with op.batch_alter_table("search_pauses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_search_pauses_graduation_id"), ["graduation_id"], unique=False
        )

    op.create_table(
        "sent_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "deadline_approaching",
                "falling_behind",
                "new_claim",
                "employer_reminder",
                name="message_kind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("graduation_id", sa.Integer(), nullable=True),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("confirmation_id", sa.String(length=64), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                name="message_state",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_sent_messages_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["refund_claims.id"], name=op.f("fk_sent_messages_claim_id_refund_claims")
        ),
        sa.ForeignKeyConstraint(
            ["confirmation_id"],
            ["hire_confirmations.id"],
            name=op.f("fk_sent_messages_confirmation_id_hire_confirmations"),
        ),
        sa.ForeignKeyConstraint(
            ["graduation_id"],
            ["graduations.id"],
            name=op.f("fk_sent_messages_graduation_id_graduations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_sent_messages_dedupe_key")),
    )
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sent_messages_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sent_messages_confirmation_id"), ["confirmation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sent_messages_graduation_id"), ["graduation_id"], unique=False
        )

    with op.batch_alter_table("employers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_school", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    cirr_intent = sa.Enum(
        *INTENTS, name="cirr_intent", native_enum=False, create_constraint=False, length=40
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cirr_intent", cirr_intent, server_default="in_field_job", nullable=False)
        )
        batch_op.add_column(sa.Column("expected_graduation_on", sa.Date(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_enrollments_expected_graduation_on"),
            ["expected_graduation_on"],
            unique=False,
        )
        batch_op.create_check_constraint("cirr_intent", _one_of("cirr_intent", INTENTS))

    with op.batch_alter_table("graduations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stopped_seeking_on", sa.Date(), nullable=True))

    with op.batch_alter_table("guarantee_policies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("weekly_applications", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("coaching_every_weeks", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("answer_within_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("report_offers_within_days", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "declined_offer_voids", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("max_pause_days", sa.Integer(), server_default="0", nullable=False)
        )
        for name, condition in POLICY_CHECKS.items():
            batch_op.create_check_constraint(name, condition)

    # Two more verification sources for a job (CIRR's recruiter and employment-history service).
    with op.batch_alter_table("job_outcomes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_job_outcomes_outcome_source"), type_="check")
        batch_op.create_check_constraint("outcome_source", _one_of("source", SOURCES))

    # The CIRR intent is asked at enrollment and then locked: the database refuses a change.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION refuse_cirr_intent_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'the CIRR intent of enrollment % is locked', OLD.id; END $$"
        )
        op.execute(
            "CREATE TRIGGER enrollments_cirr_intent_locked BEFORE UPDATE OF cirr_intent"
            " ON enrollments FOR EACH ROW WHEN (OLD.cirr_intent IS DISTINCT FROM NEW.cirr_intent)"
            " EXECUTE FUNCTION refuse_cirr_intent_change()"
        )
    else:
        op.execute(
            "CREATE TRIGGER enrollments_cirr_intent_locked BEFORE UPDATE OF cirr_intent"
            " ON enrollments WHEN OLD.cirr_intent IS NOT NEW.cirr_intent"
            " BEGIN SELECT RAISE(ABORT, 'the CIRR intent of an enrollment is locked'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS enrollments_cirr_intent_locked ON enrollments")
        op.execute("DROP FUNCTION IF EXISTS refuse_cirr_intent_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS enrollments_cirr_intent_locked")

    with op.batch_alter_table("job_outcomes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_job_outcomes_outcome_source"), type_="check")
        batch_op.create_check_constraint("outcome_source", _one_of("source", SOURCES[:3]))

    with op.batch_alter_table("guarantee_policies", schema=None) as batch_op:
        for name in POLICY_CHECKS:
            batch_op.drop_constraint(op.f(f"ck_guarantee_policies_{name}"), type_="check")
        for column in (
            "max_pause_days",
            "declined_offer_voids",
            "report_offers_within_days",
            "answer_within_days",
            "coaching_every_weeks",
            "weekly_applications",
        ):
            batch_op.drop_column(column)

    with op.batch_alter_table("graduations", schema=None) as batch_op:
        batch_op.drop_column("stopped_seeking_on")

    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enrollments_cirr_intent"), type_="check")
        batch_op.drop_index(batch_op.f("ix_enrollments_expected_graduation_on"))
        batch_op.drop_column("expected_graduation_on")
        batch_op.drop_column("cirr_intent")

    with op.batch_alter_table("employers", schema=None) as batch_op:
        batch_op.drop_column("is_school")

    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sent_messages_graduation_id"))
        batch_op.drop_index(batch_op.f("ix_sent_messages_confirmation_id"))
        batch_op.drop_index(batch_op.f("ix_sent_messages_claim_id"))

    op.drop_table("sent_messages")
    with op.batch_alter_table("search_pauses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_pauses_graduation_id"))

    op.drop_table("search_pauses")
    with op.batch_alter_table("search_activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_activities_graduation_id"))

    op.drop_table("search_activities")
    with op.batch_alter_table("school_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_school_requests_graduation_id"))

    op.drop_table("school_requests")
    op.drop_table("excluded_outcomes")
