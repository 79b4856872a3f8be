"""A policy version never changes the terms of enrollments already recorded.

A back-dated version (effective before an existing newer one) was accepted, so two enrollments
signed the same day ended up on different terms depending on when each was recorded.
"""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditEvent, GuaranteePolicy
from tests.factories import ProgrammeFactory, StudentFactory


def publish(client, programme_id: int, **body):
    return client.post(f"/api/v1/programmes/{programme_id}/policies", json=body)


def enroll(client, programme_id: int, signed_on: str):
    student = StudentFactory()
    return client.post(
        "/api/v1/enrollments",
        json={
            "student_id": student.id,
            "programme_id": programme_id,
            "signed_on": signed_on,
            "guarantee_opt_in": True,
        },
    )


def versions(session, programme_id: int) -> list[int]:
    session.expire_all()
    return list(
        session.scalars(
            select(GuaranteePolicy.version).where(GuaranteePolicy.programme_id == programme_id)
        )
    )


def test_two_enrollments_signed_the_same_day_keep_the_same_terms(client, session, refused):
    programme = ProgrammeFactory()
    assert publish(client, programme.id, effective_from="2025-01-01").status_code == 201
    assert publish(client, programme.id, effective_from="2025-06-01").status_code == 201
    first = enroll(client, programme.id, "2025-03-15")
    assert first.status_code == 201

    backdated = refused(
        "POST",
        f"/api/v1/programmes/{programme.id}/policies",
        json={"effective_from": "2025-03-01", "window_months": 3},
    )
    second = enroll(client, programme.id, "2025-03-15")

    assert backdated.status_code == 409
    assert "marked a correction" in backdated.json["detail"]
    assert list(backdated.json["errors"]["json"]) == ["effective_from"]
    assert second.json["policy_id"] == first.json["policy_id"]


def test_a_correction_that_would_govern_a_signed_enrollment_is_409(client, session, refused):
    programme = ProgrammeFactory()
    publish(client, programme.id, effective_from="2025-01-01")
    publish(client, programme.id, effective_from="2025-06-01")
    enroll(client, programme.id, "2025-03-15")

    response = refused(
        "POST",
        f"/api/v1/programmes/{programme.id}/policies",
        json={"effective_from": "2025-03-01", "correction": True},
    )

    assert response.status_code == 409
    assert "2025-03-15" in response.json["detail"]


def test_a_correction_over_days_nobody_signed_on_is_published_and_audited(client, session):
    programme = ProgrammeFactory()
    publish(client, programme.id, effective_from="2025-01-01")
    publish(client, programme.id, effective_from="2025-06-01")
    enroll(client, programme.id, "2025-02-10")
    enroll(client, programme.id, "2025-06-10")

    response = publish(
        client, programme.id, effective_from="2025-03-01", correction=True, window_months=9
    )
    later = enroll(client, programme.id, "2025-04-01")

    assert response.status_code == 201
    assert later.json["policy_id"] == response.json["id"]
    assert versions(session, programme.id) == [1, 2, 3]
    assert session.scalar(
        select(AuditEvent.action).where(AuditEvent.action == "policy.correction_published")
    )


def test_a_new_version_cannot_take_over_days_an_enrollment_was_signed_on(client, session, refused):
    programme = ProgrammeFactory()
    publish(client, programme.id, effective_from="2025-01-01")
    enroll(client, programme.id, "2025-05-20")

    too_early = refused(
        "POST", f"/api/v1/programmes/{programme.id}/policies", json={"effective_from": "2025-05-01"}
    )
    after = publish(client, programme.id, effective_from="2025-05-21")

    assert too_early.status_code == 409
    assert after.status_code == 201
