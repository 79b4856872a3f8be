"""The schema the migrations build is the one the models describe."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.models import Base


def test_migrations_and_models_agree(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        if connection.dialect.name == "sqlite":
            # The PostgreSQL-only index in DESC NULLS LAST order (migration 0026): SQLite
            # holds none, and alembic says it cannot compare one there.
            warnings.filterwarnings(
                "ignore",
                message="autogenerate skipping metadata-specified expression-based index"
                " 'ix_enrollments_expected_graduation_desc'",
                category=UserWarning,
            )
        assert compare_metadata(context, Base.metadata) == []
