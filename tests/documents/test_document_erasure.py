"""Erasing a graduate's personal data removes their documents, except the evidence of a paid
refund, which accounting retention keeps."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.access import Principal
from app.models import Document, DocumentConcerns, Role
from app.services import documents
from app.services.errors import NotFound
from app.services.personal_data import erase_student, export_student
from app.storage import LocalDiskStore
from refunds.states import ClaimState, RefundState
from tests import factories
from tests.documents.conftest import JPEG, PDF, PNG

ADMIN = Principal(actor="user:1:admin@school.example", role=Role.ADMIN, user_id=1)


@pytest.fixture
def store(tmp_path):
    return LocalDiskStore(tmp_path / "documents")


def _as_graduate(student) -> Principal:
    return Principal(actor=f"graduate:{student.id}", role=Role.GRADUATE, student_id=student.id)


def _attach(session, store, graduate, kind, record_id, data=PDF):
    return documents.attach(
        session,
        graduate,
        store,
        kind,
        record_id,
        documents.Upload("evidence.pdf", data),
        max_bytes=10 * 1024 * 1024,
    )


def _stored(store: LocalDiskStore, document: Document) -> bool:
    try:
        store.get(document.storage_key)
    except FileNotFoundError:
        return False
    return True


@pytest.mark.parametrize(
    ("refund_state", "claim_state", "kept"),
    [
        (RefundState.SUCCEEDED, ClaimState.REFUNDED, True),
        (RefundState.SETTLED_MANUALLY, ClaimState.SETTLED_MANUALLY, True),
        (RefundState.FAILED, ClaimState.FAILED, False),
        (RefundState.PENDING, ClaimState.APPROVED, False),
        (None, None, False),
    ],
)
def test_erasure_keeps_the_documents_of_a_paid_refund_and_removes_the_others(
    session, store, refund_state, claim_state, kept
):
    graduation = factories.GraduationFactory()
    student = graduation.enrollment.student
    graduate = _as_graduate(student)
    job = factories.JobOutcomeFactory(graduation=graduation)
    pause = factories.SearchPauseFactory(graduation=graduation)
    activity = factories.SearchActivityFactory(graduation=graduation)
    attached = [
        _attach(session, store, graduate, DocumentConcerns.JOB_OUTCOME, job.id),
        _attach(session, store, graduate, DocumentConcerns.SEARCH_PAUSE, pause.id, PNG),
        _attach(session, store, graduate, DocumentConcerns.SEARCH_ACTIVITY, activity.id, JPEG),
    ]
    if refund_state is not None:
        claim = factories.AuditedRefundClaimFactory(graduation=graduation, state=claim_state)
        factories.RefundFactory(claim=claim, state=refund_state)
        finance = Principal(actor="user:2:finance", role=Role.FINANCE, user_id=2)
        attached.append(
            documents.attach(
                session,
                finance,
                store,
                DocumentConcerns.REFUND_CLAIM,
                claim.id,
                documents.Upload("bank statement.pdf", PDF),
                max_bytes=10 * 1024 * 1024,
            )
        )

    erase_student(session, ADMIN, student.id, "graduate's request", store=store)

    for document in attached:
        session.refresh(document)
        assert _stored(store, document) is kept
        assert (document.erased_at is None) is kept
        assert (document.filename == "(erased)") is not kept
        if not kept:
            with pytest.raises(NotFound):
                documents.readable_document(session, graduate, document.id)


def test_erasure_keeps_only_the_enrollment_whose_refund_was_paid(session, store):
    student = factories.StudentFactory()
    paid = factories.GraduationFactory(enrollment__student=student)
    unpaid = factories.GraduationFactory(enrollment__student=student)
    claim = factories.AuditedRefundClaimFactory(graduation=paid, state=ClaimState.REFUNDED)
    factories.RefundFactory(claim=claim, state=RefundState.SUCCEEDED)
    graduate = _as_graduate(student)
    kept = _attach(
        session,
        store,
        graduate,
        DocumentConcerns.JOB_OUTCOME,
        factories.JobOutcomeFactory(graduation=paid).id,
    )
    removed = _attach(
        session,
        store,
        graduate,
        DocumentConcerns.JOB_OUTCOME,
        factories.JobOutcomeFactory(graduation=unpaid).id,
    )
    other_student = _attach(
        session,
        store,
        _as_graduate((other := factories.GraduationFactory()).enrollment.student),
        DocumentConcerns.JOB_OUTCOME,
        factories.JobOutcomeFactory(graduation=other).id,
    )

    erase_student(session, ADMIN, student.id, "request", store=store)

    assert _stored(store, kept) and _stored(store, other_student)
    assert not _stored(store, removed)
    assert session.scalars(select(Document.id).where(Document.erased_at.is_not(None))).all() == [
        removed.id
    ]


def test_the_export_lists_each_document_without_where_its_file_lies(session, store):
    graduation = factories.GraduationFactory()
    student = graduation.enrollment.student
    job = factories.JobOutcomeFactory(graduation=graduation)
    document = _attach(session, store, _as_graduate(student), DocumentConcerns.JOB_OUTCOME, job.id)

    (exported,) = export_student(session, ADMIN, student.id)["documents"]

    assert exported["id"] == document.id and exported["sha256"] == document.sha256
    assert "storage_key" not in exported
