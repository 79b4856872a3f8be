"""evidence documents attached to the records they back, stored outside the database

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 03:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column(
            "concerns_kind",
            sa.Enum(
                "job_outcome",
                "search_activity",
                "search_pause",
                "refund_claim",
                name="document_concerns",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("concerns_id", sa.Integer(), nullable=False),
        sa.Column("hire_confirmation_id", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "graduate",
                "employer",
                "registrar",
                "finance",
                name="document_source",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("uploaded_by", sa.String(length=300), nullable=False),
        sa.Column("erased_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_documents_size_positive")),
        sa.CheckConstraint(
            "content_type IN ('application/pdf', 'image/png', 'image/jpeg')",
            name=op.f("ck_documents_content_type_accepted"),
        ),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_documents_sha256_hex")),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_documents_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["hire_confirmation_id"],
            ["hire_confirmations.id"],
            name=op.f("fk_documents_hire_confirmation_id_hire_confirmations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_documents_storage_key")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_documents_enrollment_id"), ["enrollment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_documents_hire_confirmation_id"), ["hire_confirmation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_hire_confirmation_id"))
        batch_op.drop_index(batch_op.f("ix_documents_enrollment_id"))
    op.drop_table("documents")
