"""Evidence documents on the pages: attaching a file to a record, and downloading one.

Every page that lists documents (the graduate's own page, the registrar's enrollment, the
finance claim) shows them with ``templates/_documents.html`` and posts its upload form here;
who may attach to and read what is the service's to decide (``app.services.documents``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import HiddenField, SelectField
from wtforms.validators import InputRequired

from app.auth import current_principal
from app.auth.access import NotSignedIn, refuse
from app.database import db_session
from app.file_types import ACCEPTED_NAMES
from app.models import DocumentConcerns
from app.pages.formatting import day, words
from app.services import documents
from app.services.errors import Conflict, Invalid, NotFound
from app.storage import document_store, download_response

blueprint = Blueprint("documents", __name__)

#: The views whose requests carry a document: their body may be as large as a document, plus
#: this much for the form's other fields and the multipart framing.
UPLOAD_ENDPOINTS = {
    "documents.upload",
    "employer.confirm",
    "employer.answer_confirmation",
    "api_documents.upload_document",
}
FORM_ALLOWANCE_BYTES = 64 * 1024

#: What the file input accepts (a hint for the browser's picker; the service decides).
ACCEPT = ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"


class UploadForm(FlaskForm):
    """A file and the record it concerns (``kind:id``), from any page listing documents."""

    # The service checks the record named exists and may be attached to by this person.
    concerns = SelectField(
        _l("What it is evidence of"), validators=[InputRequired()], validate_choice=False
    )
    file = FileField(_l("File (%(accepted)s)", accepted=ACCEPTED_NAMES))
    next = HiddenField()


def record_label(kind: DocumentConcerns, row) -> str:
    """A record, named for people choosing what a document backs."""
    if kind is DocumentConcerns.JOB_OUTCOME:
        employer = row.employer.name if row.employer else _("own company")
        return _(
            "Job: %(title)s (%(employer)s), from %(start)s",
            title=row.title,
            employer=employer,
            start=day(row.start_date),
        )
    if kind is DocumentConcerns.SEARCH_ACTIVITY:
        if row.employer_name:
            return _(
                "Search log: %(kind)s at %(employer)s, %(day)s",
                kind=words(row.kind),
                employer=row.employer_name,
                day=day(row.occurred_on),
            )
        return _("Search log: %(kind)s, %(day)s", kind=words(row.kind), day=day(row.occurred_on))
    if kind is DocumentConcerns.SEARCH_PAUSE:
        return _(
            "Pause: %(start)s to %(end)s (%(reason)s)",
            start=day(row.starts_on),
            end=day(row.ends_on),
            reason=words(row.reason),
        )
    return _("Refund claim #%(id)s", id=row.id)


def upload_form(records: dict, kinds, next_url: str) -> UploadForm:
    """An upload form offering the ``records`` of the given ``kinds`` to attach to."""
    form = UploadForm(formdata=None)
    form.concerns.choices = [
        (f"{kind.value}:{record_id}", record_label(kind, row))
        for (kind, record_id), row in records.items()
        if kind in kinds
    ]
    form.next.data = next_url
    return form


@dataclass
class DocumentsSection:
    """What a page shows of one enrollment's documents: the list, their labels, the form."""

    documents: list
    labels: dict
    form: UploadForm


def sections_for(principal, enrollment_ids: list[int], kinds, next_url: str) -> dict:
    """Each enrollment's ``DocumentsSection``, by enrollment id, offering ``kinds`` to attach."""
    session = db_session()
    listed = documents.documents_of_enrollments(session, principal, enrollment_ids)
    sections = {}
    for enrollment_id in enrollment_ids:
        records = documents.records_of_enrollments(session, [enrollment_id])
        sections[enrollment_id] = DocumentsSection(
            documents=[row for row in listed if row.enrollment_id == enrollment_id],
            labels=labels_of(records),
            form=upload_form(records, kinds, next_url),
        )
    return sections


def labels_of(records: dict) -> dict:
    """Each record's label, by ``(kind, id)``, for the documents' list."""
    return {key: record_label(key[0], row) for key, row in records.items()}


def _back(default: str) -> str:
    # Only a path of this site: an upload must never redirect elsewhere.
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _concerns(value: str) -> tuple[DocumentConcerns, int]:
    kind, _colon, record_id = (value or "").partition(":")
    try:
        return DocumentConcerns(kind), int(record_id)
    except ValueError:
        raise Invalid.field(
            "concerns", _("choose the record the document is evidence of")
        ) from None


def _refused(errors: dict[str, list[str]], status: int, *, body_read: bool = True):
    db_session().rollback()
    # A body refused for its size was never read: where to go back to is unknown.
    back = _back(url_for("pages.index")) if body_read else url_for("pages.index")
    return render_template("documents/refused.html", errors=errors, back=back), status


@blueprint.post("/documents")
def upload():
    """Attach the uploaded file to the chosen record, then go back to the page it came from."""
    principal = current_principal()
    if not principal.authenticated:
        raise NotSignedIn()
    if principal.role not in documents.ATTACHABLE:
        refuse(principal, "attach documents", request.path)
    form = UploadForm()
    if not form.validate_on_submit():
        errors = dict(form.errors)
        if "csrf_token" in errors:
            errors["csrf_token"] = [_("the form expired; reload the page and try again")]
        return _refused(errors, 400)
    file = request.files.get("file")
    if file is None or not file.filename:
        return _refused({"file": ["choose a file to attach"]}, 422)
    session = db_session()
    try:
        kind, record_id = _concerns(form.concerns.data)
        document = documents.attach(
            session,
            principal,
            document_store(),
            kind,
            record_id,
            documents.Upload(file.filename, file.read()),
            max_bytes=current_app.config["DOCUMENTS_MAX_BYTES"],
        )
    except Invalid as error:
        return _refused(error.errors, 422)
    except NotFound as error:
        return _refused({"concerns": [str(error)]}, 404)
    except Conflict as error:
        return _refused({"file": [error.message]}, 409)
    session.commit()
    flash(_("%(file)s is attached.", file=document.filename), "success")
    return redirect(_back(url_for("pages.index")), 303)


@blueprint.get("/documents/<id:document_id>")
def download(document_id: int):
    """The file, as a download, to those who may see it; 404 to everyone else."""
    principal = current_principal()
    if not principal.authenticated:
        raise NotSignedIn()
    try:
        document, data = documents.content_of(
            db_session(), principal, document_store(), document_id
        )
    except NotFound:
        return render_template("errors/404.html"), 404
    return download_response(document.filename, data)


def too_large_message() -> str:
    """What an upload larger than the limit is told."""
    limit = documents.size_in_words(current_app.config["DOCUMENTS_MAX_BYTES"])
    return _("the file is larger than %(limit)s, the largest accepted", limit=limit)


def init_app(app: Flask) -> None:
    """Let the upload views read a document's worth of body, and say so when it is more."""
    app.add_template_filter(documents.size_in_words, "filesize")
    app.jinja_env.globals["accept_documents"] = ACCEPT

    @app.url_value_preprocessor
    def _limit_upload_size(endpoint: str | None, _values) -> None:
        # URL value preprocessors run before every before_request hook (CSRFProtect's reads
        # the body): the limit must be in place before anything parses the upload.
        if endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = (
                current_app.config["DOCUMENTS_MAX_BYTES"] + FORM_ALLOWANCE_BYTES
            )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge):
        if request.path.startswith("/api/"):
            # The API answers every refusal as problem details, this one naming the file.
            api = current_app.extensions["job_guarantee_api"]
            if request.endpoint in UPLOAD_ENDPOINTS:
                error.data = {"messages": {"files": {"file": [too_large_message()]}}}
            return api.handle_http_exception(error)
        if request.endpoint not in UPLOAD_ENDPOINTS:
            return error
        return _refused({"file": [too_large_message()]}, 413, body_read=False)
