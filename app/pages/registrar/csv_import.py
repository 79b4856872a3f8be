"""The CSV import: every row is checked, and all are written only if none is wrong; after a
students file, the registrar invites the new students to their graduate accounts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from app import imports
from app.auth import current_principal
from app.database import db_session
from app.models import Student, User
from app.pages.registrar import audit, blueprint
from app.pages.registrar.forms import ImportForm, InvitationsForm
from app.services import accounts

#: Largest CSV file the import accepts.
IMPORT_MAX_BYTES = 5 * 1024 * 1024


@blueprint.url_value_preprocessor
def _limit_upload_size(endpoint: str | None, _values) -> None:
    # URL value preprocessors run before every before_request hook, CSRFProtect's included,
    # which reads the body: the limit must be in place before anything parses the upload.
    if endpoint == "registrar.import_csv":
        request.max_content_length = current_app.config.get("IMPORT_MAX_BYTES", IMPORT_MAX_BYTES)


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    if request.endpoint != "registrar.import_csv":
        return error
    limit = request.max_content_length or IMPORT_MAX_BYTES
    form = ImportForm(formdata=None)
    form.file.errors = [
        f"The file is larger than {_size(limit)}. Split it into smaller files and import each one."
    ]
    return _import_page(form, status=413)


class CheckedRows:
    """A ``Track`` for ``import_rows`` that counts the rows reached in each pass."""

    def __init__(self) -> None:
        self.passes: list[int] = []

    def __call__(self, items: Sequence, label: str) -> AbstractContextManager[Iterable]:
        return self._counting(items)

    @contextmanager
    def _counting(self, items: Sequence) -> Iterator[Iterable]:
        self.passes.append(0)
        number = len(self.passes) - 1

        def counted():
            for item in items:
                self.passes[number] += 1
                yield item

        yield counted()

    @property
    def checked(self) -> int:
        """Rows checked: the first pass goes over every row before anything is written."""
        return self.passes[0] if self.passes else 0


@blueprint.route("/import", methods=["GET", "POST"])
def import_csv():
    """Upload a CSV file: every row is checked, and all are written only if none is wrong."""
    form = ImportForm()
    if not form.is_submitted():
        return _import_page(form)
    if not form.validate():
        return _import_page(form, status=400)
    kind = form.kind.data
    upload = form.file.data
    try:
        rows = imports.read_csv(upload.read(), kind)
    except imports.ImportFileError as error:
        form.file.errors.append(f"{str(error)[:1].upper()}{str(error)[1:]}.")
        return _import_page(form, status=400)
    session = db_session()
    progress = CheckedRows()
    report = imports.import_rows(session, kind, rows, track=progress)
    if report.errors:
        session.rollback()
        return _import_page(form, report=report, checked=progress.checked, status=400)
    audit("import.written", f"import:{kind}", f"{report.written} rows from {upload.filename}")
    session.commit()
    flash(
        f"Checked {progress.checked} of {report.rows} rows: {report.written} rows written "
        f"({kind}).",
        "success",
    )
    if kind == "students":
        return _import_page(ImportForm(formdata=None), invite=_without_account(session, rows))
    return redirect(url_for(".import_csv"))


def _without_account(session, rows: Sequence[imports.SourceRow]) -> list[int]:
    """The students of the file's rows that have no account yet (all of them, just after the
    import; fewer when the page is used again)."""
    emails = [row.values.get("email", "").strip().lower() for row in rows]
    found: list[int] = []
    for start in range(0, len(emails), 500):  # a bounded number of parameters per query
        found.extend(
            session.scalars(
                select(Student.id).where(
                    Student.email.in_(emails[start : start + 500]),
                    ~select(User.id).where(User.student_id == Student.id).exists(),
                )
            )
        )
    return sorted(found)


@blueprint.post("/import/invitations")
def invite_imported():
    """Invite the students of an import to their graduate accounts: each is emailed a link to
    choose their password."""
    form = InvitationsForm()
    if not form.validate():
        flash("Nothing to invite: import a students file first.", "error")
        return _import_page(ImportForm(formdata=None), status=400)
    session = db_session()
    report = accounts.invite_students(session, current_principal(), student_ids=form.ids())
    session.commit()
    sent = accounts.send(report.emails)
    flash(
        f"{len(report.invited)} student{'' if len(report.invited) == 1 else 's'} invited;"
        f" {sent} email{'' if sent == 1 else 's'} sent.",
        "success" if sent == len(report.emails) else "error",
    )
    for asked, reason in report.skipped[:20]:
        flash(f"Student {asked} not invited: {reason}.", "info")
    return redirect(url_for(".import_csv"))


def _import_page(
    form: ImportForm,
    *,
    report: imports.ImportReport | None = None,
    checked: int = 0,
    status: int = 200,
    invite: list[int] | None = None,
):
    columns = {kind: imports.columns_of(kind) for kind in imports.KINDS}
    limit = request.max_content_length or IMPORT_MAX_BYTES
    return render_template(
        "registrar/import.html",
        form=form,
        report=report,
        checked=checked,
        columns=columns,
        limit=_size(limit),
        invite=invite,
        invitations_form=InvitationsForm(
            formdata=None, student_ids=",".join(map(str, invite or []))
        ),
    ), status


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):g} MB" if count >= 1024 * 1024 else f"{count} bytes"
