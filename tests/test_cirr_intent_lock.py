"""The CIRR intent is asked at enrollment and then locked, by the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from app.guarantee.terms import CirrIntent
from tests.factories import EnrollmentFactory


def test_changing_an_enrollments_cirr_intent_is_refused_by_the_database(session):
    enrollment = EnrollmentFactory(cirr_intent=CirrIntent.IN_FIELD_JOB)
    session.flush()

    with pytest.raises(DatabaseError, match="locked"), session.begin_nested():
        session.execute(
            text("UPDATE enrollments SET cirr_intent = 'further_study' WHERE id = :id"),
            {"id": enrollment.id},
        )

    assert (
        session.scalar(
            text("SELECT cirr_intent FROM enrollments WHERE id = :id"), {"id": enrollment.id}
        )
        == CirrIntent.IN_FIELD_JOB.value
    )


def test_updating_an_enrollments_other_columns_leaves_the_intent_alone(session):
    enrollment = EnrollmentFactory(cirr_intent=CirrIntent.NOT_SEEKING_WORK, scholarship_minor=0)
    session.flush()

    session.execute(
        text(
            "UPDATE enrollments SET scholarship_minor = 100, cirr_intent = cirr_intent"
            " WHERE id = :id"
        ),
        {"id": enrollment.id},
    )

    assert (
        session.scalar(
            text("SELECT scholarship_minor FROM enrollments WHERE id = :id"), {"id": enrollment.id}
        )
        == 100
    )
