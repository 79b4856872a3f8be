"""The CSV import: every row is checked, and all are written only if none is wrong; after a
students file, the registrar invites the new students to their graduate accounts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from babel.numbers import format_decimal
from flask import current_app, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from app import imports
from app.auth import current_principal
from app.database import db_session
from app.models import Student, User
from app.pages.formatting import reader_locale
from app.pages.registrar import audit, blueprint
from app.pages.registrar.forms import IMPORT_KINDS, ImportForm, InvitationsForm
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
        _(
            "The file is larger than %(limit)s. Split it into smaller files and import each one.",
            limit=_size(limit),
        )
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
        imported = _imported_students()
        invite = _without_account(db_session(), imported) if imported else None
        return _import_page(form, invite=invite)
    if not form.validate():
        return _import_page(form, status=400)
    kind = form.kind.data
    upload = form.file.data
    try:
        csv_file = imports.read_csv_file(upload.read(), kind)
    except imports.ImportFileError as error:
        form.file.errors.append(f"{str(error)[:1].upper()}{str(error)[1:]}.")
        return _import_page(form, status=400)
    for warning in csv_file.warnings:
        flash(f"{warning[:1].upper()}{warning[1:]}.", "warning")
    session = db_session()
    progress = CheckedRows()
    report = imports.import_rows(session, kind, csv_file.rows, track=progress)
    if report.errors:
        session.rollback()
        return _import_page(form, report=report, checked=progress.checked, status=400)
    audit("import.written", f"import:{kind}", f"{report.written} rows from {upload.filename}")
    session.commit()
    flash(
        _(
            "Checked %(checked)s of %(rows)s rows: %(written)s rows written (%(kind)s).",
            checked=progress.checked,
            rows=report.rows,
            written=report.written,
            kind=IMPORT_KINDS[kind].lower(),
        ),
        "success",
    )
    if kind == "students":
        imported = _students_of(session, [row.values.get("email", "") for row in csv_file.rows])
        flask_session[IMPORTED_STUDENTS] = _as_ranges(imported)
    return redirect(url_for(".import_csv"))


#: Where the session cookie keeps the students of the last students import, to invite them.
IMPORTED_STUDENTS = "imported_students"

#: Parameters in one query's IN list.
_CHUNK = 500


def _students_of(session, emails: Sequence[str]) -> list[int]:
    """The ids of the students with ``emails``."""
    emails = [email.strip().lower() for email in emails]
    found: list[int] = []
    for start in range(0, len(emails), _CHUNK):
        found.extend(
            session.scalars(
                select(Student.id).where(Student.email.in_(emails[start : start + _CHUNK]))
            )
        )
    return sorted(found)


def _without_account(session, student_ids: Sequence[int]) -> list[int]:
    """Those of ``student_ids`` that have no account yet."""
    found: list[int] = []
    for start in range(0, len(student_ids), _CHUNK):
        found.extend(
            session.scalars(
                select(Student.id).where(
                    Student.id.in_(student_ids[start : start + _CHUNK]),
                    ~select(User.id).where(User.student_id == Student.id).exists(),
                )
            )
        )
    return sorted(found)


def _as_ranges(ids: Sequence[int]) -> list[list[int]]:
    """Sorted ids as [first, last] runs: an import's students are mostly consecutive, so the
    cookie stays small however long the file."""
    runs: list[list[int]] = []
    for student_id in ids:
        if runs and runs[-1][1] == student_id - 1:
            runs[-1][1] = student_id
        else:
            runs.append([student_id, student_id])
    return runs


def _imported_students() -> list[int]:
    runs = flask_session.get(IMPORTED_STUDENTS)
    if not isinstance(runs, list):
        return []
    return [n for first, last in runs for n in range(first, last + 1)]


@blueprint.post("/import/invitations")
def invite_imported():
    """Invite the students of an import to their graduate accounts: each is emailed a link to
    choose their password."""
    form = InvitationsForm()
    if not form.validate():
        flash(_("Nothing to invite: import a students file first."), "error")
        return _import_page(ImportForm(formdata=None), status=400)
    session = db_session()
    report = accounts.invite_students(session, current_principal(), student_ids=form.ids())
    session.commit()
    flask_session.pop(IMPORTED_STUDENTS, None)
    sent = accounts.send(report.emails)
    invited = len(report.invited)
    flash(
        ngettext("%(num)s student invited;", "%(num)s students invited;", invited)
        + " "
        + ngettext("%(num)s email sent.", "%(num)s emails sent.", sent),
        "success" if sent == len(report.emails) else "error",
    )
    for asked, reason in report.skipped[:20]:
        flash(
            _("Student %(student)s not invited: %(reason)s.", student=asked, reason=reason), "info"
        )
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
        import_kinds=IMPORT_KINDS,
        import_problem=import_problem,
        limit=_size(limit),
        invite=invite,
        invitations_form=InvitationsForm(
            formdata=None, student_ids=",".join(map(str, invite or []))
        ),
    ), status


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return _(
            "%(count)s MB", count=format_decimal(count / (1024 * 1024), locale=reader_locale())
        )
    return ngettext("%(num)s byte", "%(num)s bytes", count)


#: What the reading of a row's shape says (marshmallow's words, and the API fields' the import
#: shares), as the page says it to its reader; the import's own messages are translated
#: where they are written.
_SHAPE_PROBLEMS = {
    "Missing data for required field.": lazy_gettext("Missing data for required field."),
    "Field may not be null.": lazy_gettext("Field may not be null."),
    "Not a valid string.": lazy_gettext("Not a valid string."),
    "Not a valid date.": lazy_gettext("Not a valid date."),
    "Not a valid datetime.": lazy_gettext("Not a valid datetime."),
    "Not a valid email address.": lazy_gettext("Not a valid email address."),
    "Not a valid integer.": lazy_gettext("Not a valid integer."),
    "Not a valid boolean.": lazy_gettext("Not a valid boolean."),
    "Unknown field.": lazy_gettext("Unknown field."),
    "Invalid value.": lazy_gettext("Invalid value."),
    "Not one of true/false, yes/no, 1/0.": lazy_gettext("Not one of true/false, yes/no, 1/0."),
    "Not a whole number of minor units (cents).": lazy_gettext(
        "Not a whole number of minor units (cents)."
    ),
    "Write it on one line.": lazy_gettext("Write it on one line."),
    "Must not contain control characters.": lazy_gettext("Must not contain control characters."),
    "Not a Stripe PaymentIntent id.": lazy_gettext("Not a Stripe PaymentIntent id."),
    "Out of the range of representable instants.": lazy_gettext(
        "Out of the range of representable instants."
    ),
}
_MUST_BE_ONE_OF = re.compile(r"Must be one of: (?P<choices>.*)\.")
_BETWEEN = re.compile(
    r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\."
)
_LONGER = re.compile(r"Longer than maximum length (?P<max>\d+)\.")


def import_problem(reason: str) -> str:
    """A problem of an import line in the reader's language."""
    known = _SHAPE_PROBLEMS.get(reason)
    if known is not None:
        return str(known)
    if match := _MUST_BE_ONE_OF.fullmatch(reason):
        return _("Must be one of: %(choices)s.", choices=match["choices"])
    if match := _LONGER.fullmatch(reason):
        return _("Longer than maximum length %(max)s.", max=match["max"])
    if match := _BETWEEN.fullmatch(reason):
        return _(
            "Must be greater than or equal to %(min)s and less than or equal to %(max)s.",
            min=match["min"],
            max=match["max"],
        )
    return reason
