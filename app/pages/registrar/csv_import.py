"""The CSV import: every row is checked, and all are written only if none is wrong."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from app import imports
from app.database import db_session
from app.pages.registrar import audit, blueprint
from app.pages.registrar.forms import ImportForm

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
    return redirect(url_for(".import_csv"))


def _import_page(
    form: ImportForm,
    *,
    report: imports.ImportReport | None = None,
    checked: int = 0,
    status: int = 200,
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
    ), status


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):g} MB" if count >= 1024 * 1024 else f"{count} bytes"
