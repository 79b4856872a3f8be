"""Evidence documents: list a record's, attach one (multipart), read one, download its file."""

from __future__ import annotations

from functools import wraps

from flask import current_app, request, url_for
from flask_smorest import abort
from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from app.api import ApiBlueprint
from app.api.fields import Id
from app.api.listing import page_of, paged
from app.auth import current_principal
from app.auth.access import NotSignedIn, Permission, refuse
from app.database import db_session
from app.file_types import ACCEPTED_NAMES
from app.models import DocumentConcerns, DocumentSource
from app.services import documents
from app.services.errors import Conflict, Invalid, NotFound
from app.storage import document_store, download_response

blueprint = ApiBlueprint(
    "api_documents",
    __name__,
    url_prefix="/api/v1",
    description="Evidence documents attached to the records they back.",
)

#: Where a document's file travels in an upload: a multipart form's ``file`` part.
UPLOAD_LOCATION = "form_and_files"


class DocumentOut(Schema):
    """A document's record; its bytes are at ``download``."""

    id = fields.Integer()
    enrollment_id = fields.Integer()
    concerns_kind = fields.Enum(DocumentConcerns, by_value=True)
    concerns_id = fields.Integer()
    filename = fields.String(metadata={"description": "Made safe; its extension is its type's."})
    content_type = fields.String(
        metadata={"description": "Read from the file's own first bytes: PDF, PNG or JPEG."}
    )
    size_bytes = fields.Integer()
    sha256 = fields.String(metadata={"description": "SHA-256 of the file's bytes, hex."})
    source = fields.Enum(DocumentSource, by_value=True)
    created_at = fields.AwareDateTime()
    download = fields.Function(
        lambda document: url_for("api_documents.download_document", document_id=document.id),
        metadata={"description": "Where the file downloads (as an attachment)."},
    )


class DocumentQuery(Schema):
    concerns_kind = fields.Enum(DocumentConcerns, by_value=True, required=True)
    concerns_id = Id(strict=False, required=True)


class DocumentUploadIn(Schema):
    concerns_kind = fields.Enum(
        DocumentConcerns,
        by_value=True,
        required=True,
        metadata={"description": "The kind of record the document is evidence of."},
    )
    concerns_id = Id(strict=False, required=True, metadata={"description": "That record's id."})
    file = Upload(
        required=True,
        metadata={"description": f"The file: {ACCEPTED_NAMES}, read from its own bytes."},
    )


def _reads_documents(view):
    """Refuse, before anything is read, those who see no record's documents (employers and
    admins); the service then decides record by record, answering 404 for others' records."""

    @wraps(view)
    def guarded(*args, **kwargs):
        principal = current_principal()
        if not principal.authenticated:
            raise NotSignedIn()
        if not (principal.can(Permission.OWN_GUARANTEE) or principal.can(Permission.READ_RECORDS)):
            refuse(principal, "read documents", request.path)
        return view(*args, **kwargs)

    return guarded


def _attaches_documents(view):
    """Refuse, before the body is read, those who attach no documents through the API."""

    @wraps(view)
    def guarded(*args, **kwargs):
        principal = current_principal()
        if not principal.authenticated:
            raise NotSignedIn()
        if principal.role not in documents.ATTACHABLE:
            refuse(principal, "attach documents", request.path)
        return view(*args, **kwargs)

    return guarded


@blueprint.get("/documents")
@_reads_documents
@blueprint.arguments(DocumentQuery, location="query", as_kwargs=True)
@blueprint.response(200, paged(DocumentOut))
@blueprint.paginate()
def list_documents(pagination_parameters, concerns_kind, concerns_id):
    """List the documents of one record (a job, a search log entry, a pause, a claim)."""
    statement = documents.record_documents(
        db_session(), current_principal(), concerns_kind, concerns_id
    )
    return page_of(statement, pagination_parameters)


@blueprint.post("/documents")
@_attaches_documents
@blueprint.arguments(DocumentUploadIn, location=UPLOAD_LOCATION, as_kwargs=True)
@blueprint.response(201, DocumentOut)
@blueprint.alt_response(409, description="The same file is attached to the record already.")
def upload_document(concerns_kind, concerns_id, file):
    """Attach a file to a record, as multipart/form-data.

    Graduates attach to their own jobs, search log entries and pauses, registrars to anyone's,
    finance to claims. The file must be a PDF, PNG or JPEG by its own bytes (its name and the
    part's content type are not read) and at most the size limit; a refusal names ``file``.
    """
    session = db_session()
    try:
        document = documents.attach(
            session,
            current_principal(),
            document_store(),
            concerns_kind,
            concerns_id,
            documents.Upload(file.filename or "", file.read()),
            max_bytes=current_app.config["DOCUMENTS_MAX_BYTES"],
        )
    except Invalid as error:
        session.rollback()
        abort(422, messages={UPLOAD_LOCATION: error.errors}, message="The input breaks a rule.")
    except Conflict as error:
        session.rollback()
        abort(409, messages={UPLOAD_LOCATION: {"file": [error.message]}}, message=error.message)
    except NotFound as error:
        session.rollback()
        abort(
            422,
            messages={UPLOAD_LOCATION: {"concerns_id": [str(error)]}},
            message="The input breaks a rule.",
        )
    session.commit()
    return document


@blueprint.get("/documents/<id:document_id>")
@_reads_documents
@blueprint.response(200, DocumentOut)
def get_document(document_id):
    """One document's record, to whoever may see the record it backs (404 to anyone else)."""
    return documents.readable_document(db_session(), current_principal(), document_id)


@blueprint.get("/documents/<id:document_id>/content")
@_reads_documents
@blueprint.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="application/octet-stream",
    description="The file, as an attachment: never rendered from the service's origin.",
)
def download_document(document_id):
    """Download a document's file (application/octet-stream, as an attachment)."""
    document, data = documents.content_of(
        db_session(), current_principal(), document_store(), document_id
    )
    return download_response(document.filename, data)
