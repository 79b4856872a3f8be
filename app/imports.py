"""Bulk import of students, enrollments, payments and graduations from CSV files.

``read_csv`` turns a file into rows numbered by the line each starts on; ``import_rows`` checks
every row and, only when none has a problem, writes them all through the record services. The
``flask import KIND FILE`` command wraps the two; a page can do the same.

Checking covers the whole file before anything is written, so that a registrar fixes every
problem in one go instead of one per run: each row's shape (marshmallow), what the database
holds, and the earlier rows of the file. The services check their rules again while writing;
the import repeats the ones a file can break because a service stops at the first problem.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, ClassVar, TypeVar

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from app.api.fields import (
    MAX_MINOR_UNITS,
    AnyCaseCountryCode,
    AnyCaseCurrencyCode,
    Email,
    Text,
)
from app.api.schemas import PaymentIn, StudentIn
from app.guarantee.terms import CirrIntent, PayerType, WorkAuthorisation
from app.models import Enrollment, Programme, Student, TuitionPayment
from app.services import records
from app.services.errors import Conflict, Invalid, ServiceError

Item = TypeVar("Item")

#: Wraps one pass over the rows, e.g. in a progress bar: ``track(items, label)`` is a context
#: manager whose value iterates over ``items``. ``click.progressbar`` is one.
Track = Callable[[Sequence[Item], str], AbstractContextManager[Iterable[Item]]]

#: Writes one checked row through a record service.
Write = Callable[[Session], object]

#: A problem found in a row: the column (None for the row as a whole) and why.
Problem = tuple[str | None, str]


def untracked(items: Sequence[Item], label: str) -> AbstractContextManager[Iterable[Item]]:
    """A ``Track`` that shows nothing."""
    return nullcontext(items)


class ImportFileError(Exception):
    """The file cannot be read as rows of its kind: empty, not UTF-8, or a wrong header."""


@dataclass(frozen=True)
class SourceRow:
    """One row to import: the line it starts on (the header is line 1) and its values."""

    line: int
    #: The row's text by column name.
    values: dict[str, str]
    #: Why the row could not be split into the columns, when it could not.
    malformed: str | None = None


@dataclass(frozen=True)
class RowError:
    """One problem with one row."""

    line: int
    #: The column at fault; None when it is the row as a whole.
    column: str | None
    reason: str

    def __str__(self) -> str:
        if self.column is None:
            return f"line {self.line}: {self.reason}"
        return f"line {self.line}: {self.column}: {self.reason}"


@dataclass(frozen=True)
class ImportReport:
    """What an import did: every problem found, or how many records it wrote."""

    kind: str
    #: Rows read (blank lines and the header not counted).
    rows: int
    #: Records written; 0 whenever there are errors, since then nothing is.
    written: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every row was written."""
        return not self.errors

    @property
    def bad_lines(self) -> list[int]:
        """The lines with at least one problem, in order."""
        return sorted({error.line for error in self.errors})


# -- What a row's text must look like --------------------------------------------------------


class YesNo(fields.Boolean):
    """true/false, yes/no or 1/0, in any case."""

    truthy = {"true", "yes", "1"}
    falsy = {"false", "no", "0"}
    default_error_messages = {"invalid": "Not one of true/false, yes/no, 1/0."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = value.lower() if isinstance(value, str) else value
        return super()._deserialize(text, attr, data, **kwargs)


#: An integer in plain digits; longer numbers than this are out of range anyway.
_INTEGER = re.compile(r"-?[0-9]{1,20}")


class WholeMinorUnits(fields.Integer):
    """An amount of money in minor units written in digits: ``450000`` for 4,500.00.

    The API's ``MinorUnits`` refuses text (JSON has numbers); a CSV cell is always text.
    """

    default_error_messages = {"invalid": "Not a whole number of minor units (cents)."}

    def __init__(self, *, allow_zero: bool = False, **kwargs):
        super().__init__(
            strict=True,
            validate=validate.Range(min=0 if allow_zero else 1, max=MAX_MINOR_UNITS),
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class EnrollmentRow(Schema):
    student_email = Email(required=True)
    programme = Text(required=True)
    signed_on = fields.Date(required=True)
    guarantee_opt_in = YesNo(required=True)
    scholarship_minor = WholeMinorUnits(allow_zero=True, load_default=0)
    cirr_intent = fields.Enum(CirrIntent, by_value=True, load_default=CirrIntent.IN_FIELD_JOB)
    expected_graduation_on = fields.Date(load_default=None, allow_none=True)
    # Eligibility (the policy's terms read them); prerequisites are verified on the page or
    # through the API, where the registrar who verified them is known.
    studies_started_on = fields.Date(load_default=None, allow_none=True)
    search_country = AnyCaseCountryCode(load_default=None, allow_none=True)
    work_authorisation = fields.Enum(
        WorkAuthorisation, by_value=True, load_default=WorkAuthorisation.UNKNOWN
    )


class StudentRow(StudentIn):
    """``StudentIn``, the country in any case."""

    country = AnyCaseCountryCode(required=True)


class PaymentRow(PaymentIn):
    """``PaymentIn``, naming the enrollment by student and programme."""

    currency = AnyCaseCurrencyCode(required=True)

    student_email = Email(required=True)
    programme = Text(required=True)
    amount_minor = WholeMinorUnits(required=True)


class GraduationRow(Schema):
    student_email = Email(required=True)
    programme = Text(required=True)
    qualified_on = fields.Date(required=True)


# -- How each kind of row is checked and written ---------------------------------------------


#: The columns that name an enrollment in a row of payments or graduations.
_ENROLLMENT_KEY = ("student_email", "programme")


class _Kind:
    """Checks the rows of one kind, remembering what the file and the database hold."""

    #: The columns, in the order messages name them.
    columns: ClassVar[tuple[str, ...]]
    #: The columns a file may leave out.
    optional: ClassVar[frozenset[str]] = frozenset()
    schema: ClassVar[Schema]

    def __init__(self, session: Session):
        self.session = session
        self._students: dict[str, Student | None] = {}
        self._programmes: dict[str, Programme | None] = {}
        self._enrollments: dict[tuple[int, int], list[Enrollment]] = {}

    def check_row(self, row: SourceRow, problems: list[Problem]) -> Write | None:
        """Check ``row``, adding what is wrong to ``problems``; return how to write it."""
        if row.malformed:
            problems.append((None, row.malformed))
            return None
        try:
            values = self.schema.load({name: text for name, text in row.values.items() if text})
        except ValidationError as error:
            problems.extend(_problems_of(error.messages))
            return None
        return self.check(row.line, values, problems)

    def check(self, line: int, values: dict[str, Any], problems: list[Problem]) -> Write | None:
        """Check a row whose shape is right against the database and the earlier rows."""
        raise NotImplementedError

    def student_with_email(self, email: str) -> Student | None:
        if email not in self._students:
            self._students[email] = self.session.scalar(
                select(Student).where(Student.email == email)
            )
        return self._students[email]

    def find_student(self, email: str, problems: list[Problem]) -> Student | None:
        student = self.student_with_email(email)
        if student is None:
            problems.append(("student_email", f"no student has email {email}"))
        return student

    def find_programme(self, name: str, problems: list[Problem]) -> Programme | None:
        if name not in self._programmes:
            self._programmes[name] = self.session.scalar(
                select(Programme).where(Programme.name == name)
            )
        programme = self._programmes[name]
        if programme is None:
            problems.append(("programme", f"no programme is named {name!r}"))
        return programme

    def enrollments(self, student: Student, programme: Programme) -> list[Enrollment]:
        key = (student.id, programme.id)
        if key not in self._enrollments:
            self._enrollments[key] = list(
                self.session.scalars(
                    select(Enrollment)
                    .where(Enrollment.student_id == student.id)
                    .where(Enrollment.programme_id == programme.id)
                    .order_by(Enrollment.signed_on, Enrollment.id)
                )
            )
        return self._enrollments[key]

    def find_enrollment(self, values: dict[str, Any], problems: list[Problem]) -> Enrollment | None:
        """The one enrollment of the row's student in the row's programme."""
        student = self.find_student(values["student_email"], problems)
        programme = self.find_programme(values["programme"], problems)
        if student is None or programme is None:
            return None
        enrollments = self.enrollments(student, programme)
        if len(enrollments) == 1:
            return enrollments[0]
        if enrollments:
            problems.append(
                (
                    "programme",
                    f"{student.email} has {len(enrollments)} enrollments in {programme.name!r}, "
                    "so the row is ambiguous",
                )
            )
        else:
            problems.append(("programme", f"{student.email} is not enrolled in {programme.name!r}"))
        return None


class _Students(_Kind):
    columns = ("name", "email", "country")
    schema = StudentRow()

    def __init__(self, session: Session):
        super().__init__(session)
        self._line_of_email: dict[str, int] = {}

    def check(self, line, values, problems):
        email = values["email"]
        if self.student_with_email(email) is not None:
            problems.append(("email", f"a student with email {email} exists already"))
        elif email in self._line_of_email:
            problems.append(("email", f"{email} is on line {self._line_of_email[email]} already"))
        else:
            self._line_of_email[email] = line
        return partial(records.create_student, **values)


#: An enrollment's optional eligibility columns: empty cells leave the start of studies
#: unrecorded, the search country the student's, the work authorisation unknown.
ELIGIBILITY_COLUMNS = ("studies_started_on", "search_country", "work_authorisation")


class _Enrollments(_Kind):
    columns = (
        "student_email",
        "programme",
        "signed_on",
        "guarantee_opt_in",
        "scholarship_minor",
        "cirr_intent",
        "expected_graduation_on",
        *ELIGIBILITY_COLUMNS,
    )
    optional = frozenset(
        {"scholarship_minor", "cirr_intent", "expected_graduation_on", *ELIGIBILITY_COLUMNS}
    )
    schema = EnrollmentRow()

    def __init__(self, session: Session):
        super().__init__(session)
        self._line_of_enrollment: dict[tuple[int, int, date], int] = {}

    def check(self, line, values, problems):
        student = self.find_student(values["student_email"], problems)
        programme = self.find_programme(values["programme"], problems)
        signed_on = values["signed_on"]
        if programme is not None and not records.policy_in_force(
            self.session, programme.id, signed_on
        ):
            problems.append(
                (
                    "signed_on",
                    f"no guarantee policy of {programme.name!r} is in force on {signed_on}",
                )
            )
        expected = values["expected_graduation_on"]
        if expected is not None and expected < signed_on:
            problems.append(
                (
                    "expected_graduation_on",
                    "the cohort cannot graduate before the enrollment is signed",
                )
            )
        if student is None or programme is None:
            return None
        # A second enrollment on the same day is a file imported twice, not a re-enrollment.
        key = (student.id, programme.id, signed_on)
        if any(
            enrolled.signed_on == signed_on for enrolled in self.enrollments(student, programme)
        ):
            problems.append(
                (
                    "signed_on",
                    f"{student.email} is enrolled in {programme.name!r} on {signed_on} already",
                )
            )
        elif key in self._line_of_enrollment:
            problems.append(
                ("signed_on", f"the same enrollment is on line {self._line_of_enrollment[key]}")
            )
        else:
            self._line_of_enrollment[key] = line
        return partial(
            records.enroll,
            student_id=student.id,
            programme_id=programme.id,
            signed_on=signed_on,
            guarantee_opt_in=values["guarantee_opt_in"],
            scholarship_minor=values["scholarship_minor"],
            cirr_intent=values["cirr_intent"],
            expected_graduation_on=values["expected_graduation_on"],
            **{column: values[column] for column in ELIGIBILITY_COLUMNS},
        )


class _Payments(_Kind):
    columns = (
        "student_email",
        "programme",
        "amount_minor",
        "currency",
        "paid_at",
        "payer_type",
        "payer_name",
        "stripe_payment_intent_id",
    )
    optional = frozenset({"payer_type", "payer_name", "stripe_payment_intent_id"})
    schema = PaymentRow()

    def __init__(self, session: Session):
        super().__init__(session)
        self._line_of_intent: dict[str, int] = {}
        self._line_of_payment: dict[tuple[int, int, datetime], int] = {}

    def check(self, line, values, problems):
        enrollment = self.find_enrollment(values, problems)
        if values["payer_type"] is PayerType.SPONSOR and not values["payer_name"]:
            problems.append(("payer_name", "name the sponsor who paid"))
        intent = values["stripe_payment_intent_id"]
        if intent is not None:
            self._check_intent(line, intent, problems)
        if enrollment is None:
            return None
        currency = enrollment.programme.currency
        if values["currency"] != currency:
            problems.append(
                (
                    "currency",
                    f"tuition of {enrollment.programme.name!r} is paid in {currency}",
                )
            )
        self._check_payment(line, enrollment, values, problems)
        return partial(
            records.record_payment,
            enrollment_id=enrollment.id,
            **{name: value for name, value in values.items() if name not in _ENROLLMENT_KEY},
        )

    def _check_intent(self, line: int, intent: str, problems: list[Problem]) -> None:
        recorded = select(TuitionPayment.id).where(
            TuitionPayment.stripe_payment_intent_id == intent
        )
        if self.session.scalar(recorded) is not None:
            problems.append(("stripe_payment_intent_id", f"payment {intent} is recorded already"))
        elif intent in self._line_of_intent:
            problems.append(
                (
                    "stripe_payment_intent_id",
                    f"payment {intent} is on line {self._line_of_intent[intent]} already",
                )
            )
        else:
            self._line_of_intent[intent] = line

    def _check_payment(
        self, line: int, enrollment: Enrollment, values: dict[str, Any], problems: list[Problem]
    ) -> None:
        # The same amount for the same enrollment at the same instant is a file imported twice,
        # and would inflate what a refund pays back.
        key = (enrollment.id, values["amount_minor"], values["paid_at"])
        recorded = select(TuitionPayment.id).where(
            TuitionPayment.enrollment_id == enrollment.id,
            TuitionPayment.amount_minor == values["amount_minor"],
            TuitionPayment.paid_at == values["paid_at"],
        )
        if self.session.scalar(recorded) is not None:
            problems.append(("paid_at", "the same payment at the same instant is recorded already"))
        elif key in self._line_of_payment:
            problems.append(
                ("paid_at", f"the same payment is on line {self._line_of_payment[key]}")
            )
        else:
            self._line_of_payment[key] = line


class _Graduations(_Kind):
    columns = ("student_email", "programme", "qualified_on")
    schema = GraduationRow()

    def __init__(self, session: Session):
        super().__init__(session)
        self._line_of_graduation: dict[int, int] = {}

    def check(self, line, values, problems):
        enrollment = self.find_enrollment(values, problems)
        if enrollment is None:
            return None
        qualified_on = values["qualified_on"]
        if qualified_on < enrollment.signed_on:
            problems.append(
                (
                    "qualified_on",
                    f"a student cannot qualify before enrolling (signed on {enrollment.signed_on})",
                )
            )
        of_whom = f"{enrollment.student.email} in {enrollment.programme.name!r}"
        if enrollment.graduation is not None:
            problems.append(
                (
                    "programme",
                    f"{of_whom} has a graduation already "
                    f"(qualified on {enrollment.graduation.qualified_on})",
                )
            )
        elif enrollment.id in self._line_of_graduation:
            problems.append(
                (
                    "programme",
                    f"{of_whom} graduates on line {self._line_of_graduation[enrollment.id]}",
                )
            )
        else:
            self._line_of_graduation[enrollment.id] = line
        return partial(
            records.record_graduation, enrollment_id=enrollment.id, qualified_on=qualified_on
        )


_KINDS: dict[str, type[_Kind]] = {
    "students": _Students,
    "enrollments": _Enrollments,
    "payments": _Payments,
    "graduations": _Graduations,
}

#: What can be imported.
KINDS = tuple(_KINDS)


def columns_of(kind: str) -> str:
    """The columns of ``kind``, for messages: ``name, email (optional), ...``."""
    spec = _kind(kind)
    return ", ".join(
        f"{name} (optional)" if name in spec.optional else name for name in spec.columns
    )


# -- Reading and importing -------------------------------------------------------------------


def read_csv(data: bytes, kind: str) -> list[SourceRow]:
    """The rows of a CSV file of ``kind``, each numbered by the line it starts on.

    The file is UTF-8, with or without a byte order mark; its first line names the columns
    (in any order and case); blank lines are skipped but counted. Raises ``ImportFileError``
    when the file is not UTF-8, has no header or no rows, or its header is wrong.
    """
    spec = _kind(kind)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportFileError(f"line {line} is not UTF-8 text; save the file as UTF-8") from error
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[SourceRow] = []
    next_line = 1
    try:
        for cells in reader:
            # A quoted value may span lines: a row starts where the previous one ended.
            line, next_line = next_line, reader.line_num + 1
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                continue
            if header is None:
                header = _checked_header(line, cells, spec, kind)
            elif len(cells) != len(header):
                rows.append(
                    SourceRow(
                        line,
                        {},
                        malformed=f"has {len(cells)} values but the header names "
                        f"{len(header)} columns",
                    )
                )
            else:
                rows.append(SourceRow(line, dict(zip(header, cells, strict=True))))
    except csv.Error as error:
        raise ImportFileError(f"line {reader.line_num} is not valid CSV: {error}") from error
    if header is None:
        raise ImportFileError(
            f"the file is empty; its first line must name the columns: {columns_of(kind)}"
        )
    if not rows:
        raise ImportFileError("the file has a header but no rows")
    return rows


def import_rows(
    session: Session, kind: str, rows: Sequence[SourceRow], *, track: Track = untracked
) -> ImportReport:
    """Check every row of ``kind``, then, if none has a problem, write them all.

    Nothing is written when any row has a problem, nor when a service refuses a row while
    writing (another transaction wrote the same record since it was checked): the writes
    share one savepoint, rolled back whole. The caller commits.
    """
    checker = _kind(kind)(session)
    errors: list[RowError] = []
    writes: list[tuple[int, Write]] = []
    with track(rows, f"Checking {len(rows)} {kind}") as checking:
        for row in checking:
            problems: list[Problem] = []
            write = checker.check_row(row, problems)
            errors.extend(RowError(row.line, column, reason) for column, reason in problems)
            if not problems and write is not None:
                writes.append((row.line, write))
    if errors:
        return ImportReport(kind, rows=len(rows), errors=errors)

    line_written = 0
    try:
        with session.begin_nested(), track(writes, f"Writing {len(writes)} {kind}") as writing:
            for line, write in writing:
                line_written = line
                write(session)
    except (ServiceError, DataError) as error:
        return ImportReport(kind, rows=len(rows), errors=_write_errors(line_written, error))
    return ImportReport(kind, rows=len(rows), written=len(writes))


def _kind(kind: str) -> type[_Kind]:
    try:
        return _KINDS[kind]
    except KeyError:
        raise ValueError(f"cannot import {kind!r}; choose one of {', '.join(KINDS)}") from None


def _checked_header(line: int, cells: list[str], spec: type[_Kind], kind: str) -> list[str]:
    names = [cell.lower() for cell in cells]
    problems = []
    unknown = [name for name in names if name and name not in spec.columns]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    missing = [name for name in spec.columns if name not in spec.optional and name not in names]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    repeated = [name for name in spec.columns if names.count(name) > 1]
    if repeated:
        problems.append(f"repeated column(s): {', '.join(repeated)}")
    nameless = [str(number) for number, name in enumerate(names, start=1) if not name]
    if nameless:
        problems.append(f"column(s) {', '.join(nameless)} have no name")
    if problems:
        raise ImportFileError(
            f"line {line}: {'; '.join(problems)} (the columns of {kind} are: {columns_of(kind)})"
        )
    return names


def _problems_of(messages: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for column, reasons in messages.items():
        for reason in reasons if isinstance(reasons, list) else [reasons]:
            problems.append((None if column == "_schema" else column, str(reason)))
    return problems


#: The column a service's field stands for in an import file.
_COLUMN_OF_FIELD = {
    "student_id": "student_email",
    "programme_id": "programme",
    "enrollment_id": "programme",
}


def _write_errors(line: int, error: ServiceError | DataError) -> list[RowError]:
    if isinstance(error, Invalid):
        return [
            RowError(line, _COLUMN_OF_FIELD.get(name, name), reason)
            for name, reasons in error.errors.items()
            for reason in reasons
        ]
    if isinstance(error, Conflict):
        column = _COLUMN_OF_FIELD.get(error.field, error.field) if error.field else None
        return [RowError(line, column, error.message)]
    if isinstance(error, DataError):
        return [RowError(line, None, "the database refused a value of this row")]
    return [RowError(line, None, str(error))]
