"""Evidence documents: attaching files to the records they back, reading them, erasing them.

Who may attach what:

- a graduate, to their own jobs, job-search log entries and pauses;
- an employer, to the job of a hire confirmation, through its emailed link or from their
  account (``attach_to_confirmation``);
- a registrar, to any graduate's jobs, search log entries and pauses;
- finance, to a refund claim (a manual settlement's bank statement).

Who may read one (anyone else is told it does not exist, never that it is not theirs):

- the graduate whose enrollment it belongs to;
- finance, every document (a claim's evidence is the graduate's whole record);
- a registrar, every document but a claim's (claims are finance's);
- nobody through an employer's link after it was answered: the link is single use, and what
  an employer sent is then the school's.

A file is accepted when its own first bytes say it is a PDF, a PNG or a JPEG
(``app.file_types``), whatever its name or the client says, and when it is no larger than the
limit. It is kept by a ``DocumentStore`` under a random key, with its SHA-256 and size.

On erasure of the graduate's personal data (``erase_documents_of_student``), documents of an
enrollment whose refund was paid (by the provider or by bank transfer) are kept: they are the
evidence the payment rests on, which accounting retention requires. Every other document of
theirs is removed from the store and its row keeps only that it existed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.access import Permission, Principal, refuse
from app.file_types import ACCEPTED_NAMES, extension_of, sniff_type
from app.models import (
    Document,
    DocumentConcerns,
    DocumentSource,
    Enrollment,
    Graduation,
    HireConfirmation,
    JobOutcome,
    Role,
    SearchActivity,
    SearchPause,
)
from app.models.base import utc_now
from app.services.errors import Conflict, Invalid, NotFound
from app.services.records import MAX_ID
from app.storage import DocumentStore, document_store
from refunds.models import Refund, RefundClaim
from refunds.states import RefundState

#: What a document's record is called, for people and in errors.
RECORD_NAMES = {
    DocumentConcerns.JOB_OUTCOME: "Job outcome",
    DocumentConcerns.SEARCH_ACTIVITY: "Search activity",
    DocumentConcerns.SEARCH_PAUSE: "Pause",
    DocumentConcerns.REFUND_CLAIM: "Refund claim",
}

#: The records of a graduation's window, each with its graduation.
_GRADUATION_RECORDS = {
    DocumentConcerns.JOB_OUTCOME: JobOutcome,
    DocumentConcerns.SEARCH_ACTIVITY: SearchActivity,
    DocumentConcerns.SEARCH_PAUSE: SearchPause,
}

#: What each role may attach documents to.
ATTACHABLE: dict[Role, frozenset[DocumentConcerns]] = {
    Role.GRADUATE: frozenset(_GRADUATION_RECORDS),
    Role.REGISTRAR: frozenset(_GRADUATION_RECORDS),
    Role.FINANCE: frozenset({DocumentConcerns.REFUND_CLAIM}),
}

#: The source recorded for each role's documents.
SOURCES = {
    Role.GRADUATE: DocumentSource.GRADUATE,
    Role.REGISTRAR: DocumentSource.REGISTRAR,
    Role.FINANCE: DocumentSource.FINANCE,
}

#: The refund states in which money reached the payer.
PAID = (RefundState.SUCCEEDED, RefundState.SETTLED_MANUALLY)

#: What an erased document's name reads.
ERASED_NAME = "(erased)"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the client gave it, and its bytes."""

    filename: str
    data: bytes


def size_in_words(size: int) -> str:
    """A size for people: ``12.0 MB``, ``512 KB``, ``300 bytes`` (powers of 1024)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def safe_filename(name: str, content_type: str) -> str:
    """A name safe in any header and file system, ending in the extension of its real type.

    The client's folders and extension are dropped; what is not a letter, digit, dot, dash or
    underscore becomes a dash.
    """
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE.sub("-", stem).strip(".-_")[:80] or "document"
    return f"{stem}.{extension_of(content_type)}"


def checked_type(upload: Upload, max_bytes: int) -> str:
    """The sniffed content type of an acceptable upload; ``Invalid`` on ``file`` otherwise."""
    size = len(upload.data)
    if size == 0:
        raise Invalid.field("file", _("the file is empty"))
    if size > max_bytes:
        raise Invalid.field(
            "file",
            _(
                "the file is %(size)s; the largest accepted is %(most)s",
                size=size_in_words(size),
                most=size_in_words(max_bytes),
            ),
        )
    content_type = sniff_type(upload.data[:16])
    if content_type is None:
        raise Invalid.field(
            "file",
            _(
                "only %(kinds)s files are accepted, and this file's content is none of them,"
                " whatever its name says",
                kinds=ACCEPTED_NAMES,
            ),
        )
    return content_type


def _enrollment_of_record(session: Session, kind: DocumentConcerns, record_id: int) -> Enrollment:
    """The enrollment a record belongs to; ``NotFound`` naming the record when none."""
    if not 1 <= record_id <= MAX_ID:  # past the database's keys: no such record, never an error
        raise NotFound(RECORD_NAMES[kind], record_id)
    if kind is DocumentConcerns.REFUND_CLAIM:
        claim = session.get(RefundClaim, record_id)
        if claim is None:
            raise NotFound(RECORD_NAMES[kind], record_id)
        return claim.enrollment
    model = _GRADUATION_RECORDS[kind]
    row = session.get(model, record_id)
    if row is None:
        raise NotFound(RECORD_NAMES[kind], record_id)
    return row.graduation.enrollment


def _store(
    session: Session,
    store: DocumentStore,
    *,
    enrollment: Enrollment,
    kind: DocumentConcerns,
    record_id: int,
    upload: Upload,
    max_bytes: int,
    source: DocumentSource,
    uploaded_by: str,
    confirmation: HireConfirmation | None = None,
) -> Document:
    content_type = checked_type(upload, max_bytes)
    sha256 = hashlib.sha256(upload.data).hexdigest()
    same = session.scalar(
        select(Document.id).where(
            Document.concerns_kind == kind,
            Document.concerns_id == record_id,
            Document.sha256 == sha256,
            Document.erased_at.is_(None),
        )
    )
    if same is not None:
        raise Conflict(
            _(
                "this file is attached to this record already (document %(document)s)",
                document=same,
            ),
            "file",
        )
    document = Document(
        enrollment_id=enrollment.id,
        concerns_kind=kind,
        concerns_id=record_id,
        hire_confirmation_id=confirmation.id if confirmation is not None else None,
        filename=safe_filename(upload.filename, content_type),
        content_type=content_type,
        size_bytes=len(upload.data),
        sha256=sha256,
        storage_key=store.put(upload.data),
        source=source,
        uploaded_by=uploaded_by,
    )
    session.add(document)
    session.flush()
    record(
        session,
        uploaded_by,
        "document.attached",
        f"{kind.value}:{record_id}",
        f"document {document.id}: {document.filename}, {document.size_bytes} bytes,"
        f" sha256 {document.sha256}",
    )
    return document


def attach(
    session: Session,
    principal: Principal,
    store: DocumentStore,
    kind: DocumentConcerns,
    record_id: int,
    upload: Upload,
    *,
    max_bytes: int,
) -> Document:
    """Attach ``upload`` to a record, as a graduate, a registrar or finance.

    Raises ``Forbidden`` for a role that attaches nothing, ``Invalid`` on ``concerns_kind`` for
    a kind of record the role does not attach to and on ``file`` for a file refused,
    ``NotFound`` for a record that does not exist or is not the graduate's own, and
    ``Conflict`` on ``file`` when the same file (by its SHA-256) is attached to it already.
    """
    allowed = ATTACHABLE.get(principal.role, frozenset())
    if not allowed:
        refuse(principal, "attach documents", f"{kind.value}:{record_id}")
    if kind not in allowed:
        kinds = ", ".join(sorted(RECORD_NAMES[each].lower() for each in allowed))
        raise Invalid.field("concerns_kind", _("you attach documents to: %(kinds)s", kinds=kinds))
    enrollment = _enrollment_of_record(session, kind, record_id)
    if principal.role is Role.GRADUATE and enrollment.student_id != principal.student_id:
        raise NotFound(RECORD_NAMES[kind], record_id)
    return _store(
        session,
        store,
        enrollment=enrollment,
        kind=kind,
        record_id=record_id,
        upload=upload,
        max_bytes=max_bytes,
        source=SOURCES[principal.role],
        uploaded_by=principal.actor,
    )


def attach_to_confirmation(
    session: Session,
    store: DocumentStore,
    confirmation: HireConfirmation,
    upload: Upload,
    *,
    answered_by: str,
    max_bytes: int,
) -> Document:
    """Attach an employer's file (a contract) to the job of ``confirmation``.

    The caller has checked the link or the account may answer ``confirmation``.
    """
    outcome = confirmation.job_outcome
    return _store(
        session,
        store,
        enrollment=outcome.graduation.enrollment,
        kind=DocumentConcerns.JOB_OUTCOME,
        record_id=outcome.id,
        upload=upload,
        max_bytes=max_bytes,
        source=DocumentSource.EMPLOYER,
        uploaded_by=answered_by,
        confirmation=confirmation,
    )


def may_read(principal: Principal, document: Document) -> bool:
    """Whether ``principal`` may see ``document`` (see the module's docstring)."""
    if document.erased_at is not None:
        return False
    if principal.can(Permission.OWN_GUARANTEE):
        return document.enrollment.student_id == principal.student_id
    if principal.can(Permission.READ_CLAIMS):
        return True
    if principal.can(Permission.READ_RECORDS):
        return document.concerns_kind is not DocumentConcerns.REFUND_CLAIM
    return False


def readable_document(session: Session, principal: Principal, document_id: int) -> Document:
    """The document, if ``principal`` may see it; else ``NotFound``, as if it did not exist."""
    document = session.get(Document, document_id)
    if document is None or not may_read(principal, document):
        raise NotFound("Document", document_id)
    return document


def content_of(
    session: Session, principal: Principal, store: DocumentStore, document_id: int
) -> tuple[Document, bytes]:
    """A document the principal may see, with its bytes as stored.

    A file missing from the store, or whose bytes no longer match its SHA-256, is
    ``NotFound``: the service never hands out what it cannot vouch for.
    """
    document = readable_document(session, principal, document_id)
    try:
        data = store.get(document.storage_key)
    except FileNotFoundError:
        raise NotFound("Document", document_id) from None
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise NotFound("Document", document_id)
    return document, data


def documents_of_enrollments(
    session: Session, principal: Principal, enrollment_ids: Iterable[int]
) -> list[Document]:
    """The documents of these enrollments that ``principal`` may see, oldest first."""
    rows = session.scalars(
        select(Document)
        .where(Document.enrollment_id.in_(list(enrollment_ids)), Document.erased_at.is_(None))
        .order_by(Document.created_at, Document.id)
    )
    return [row for row in rows if may_read(principal, row)]


def record_documents(
    session: Session, principal: Principal, kind: DocumentConcerns, record_id: int
) -> Select:
    """The query of one record's documents that ``principal`` may see, oldest first.

    ``NotFound`` for a record that does not exist or that the principal may not see: a
    graduate sees their own records, a registrar any but a claim, finance any.
    """
    enrollment = _enrollment_of_record(session, kind, record_id)
    if principal.can(Permission.OWN_GUARANTEE):
        visible = enrollment.student_id == principal.student_id
    elif kind is DocumentConcerns.REFUND_CLAIM:
        visible = principal.can(Permission.READ_CLAIMS)
    else:
        visible = principal.can(Permission.READ_RECORDS)
    if not visible:
        raise NotFound(RECORD_NAMES[kind], record_id)
    return (
        select(Document)
        .where(
            Document.concerns_kind == kind,
            Document.concerns_id == record_id,
            Document.erased_at.is_(None),
        )
        .order_by(Document.created_at, Document.id)
    )


def retained_enrollments(session: Session, student_id: int) -> set[int]:
    """The student's enrollments whose refund was paid: their documents are kept on erasure."""
    return set(
        session.scalars(
            select(RefundClaim.enrollment_id)
            .join(Refund, Refund.claim_id == RefundClaim.id)
            .join(Enrollment, Enrollment.id == RefundClaim.enrollment_id)
            .where(Enrollment.student_id == student_id, Refund.state.in_(PAID))
        )
    )


def erase_documents_of_student(
    session: Session, store: DocumentStore | None, student_id: int
) -> tuple[int, int]:
    """Remove the student's documents finance need not keep; ``(erased, kept)`` counts.

    The files go from ``store`` (the application's own unless given) at once; the rows stay,
    named ``(erased)``, so a claim's history still shows that a document existed and when.
    """
    kept_enrollments = retained_enrollments(session, student_id)
    documents = session.scalars(
        select(Document)
        .join(Enrollment, Enrollment.id == Document.enrollment_id)
        .where(Enrollment.student_id == student_id, Document.erased_at.is_(None))
    )
    erased = kept = 0
    now = utc_now()
    for document in documents:
        if document.enrollment_id in kept_enrollments:
            kept += 1
            continue
        store = store or document_store()
        store.delete(document.storage_key)
        document.filename = ERASED_NAME
        document.erased_at = now
        erased += 1
    session.flush()
    return erased, kept


def records_of_enrollments(
    session: Session, enrollment_ids: Iterable[int]
) -> dict[tuple[DocumentConcerns, int], object]:
    """Every record of these enrollments a document can concern, by ``(kind, id)``: their
    graduations' jobs, search log entries and pauses (newest first within each kind), then
    their refund claims. Pages name documents by them and offer them to attach to."""
    ids = list(enrollment_ids)
    graduation_ids = select(Graduation.id).where(Graduation.enrollment_id.in_(ids))
    found: dict[tuple[DocumentConcerns, int], object] = {}
    for kind, model in _GRADUATION_RECORDS.items():
        for row in session.scalars(
            select(model).where(model.graduation_id.in_(graduation_ids)).order_by(model.id.desc())
        ):
            found[(kind, row.id)] = row
    for claim in session.scalars(select(RefundClaim).where(RefundClaim.enrollment_id.in_(ids))):
        found[(DocumentConcerns.REFUND_CLAIM, claim.id)] = claim
    return found
