"""Bulk import of students, enrollments, payments and graduations from CSV files.

``read_csv_file`` turns a file (as spreadsheets save it: UTF-8 or Windows-1252, commas,
semicolons or tabs) into rows numbered by the line each starts on; ``import_rows`` checks
every row and, only when none has a problem, writes them all. The ``flask import KIND FILE``
command wraps the two; a page can do the same.

Checking covers the whole file before anything is written, so that a registrar fixes every
problem in one go instead of one per run: each row's shape (marshmallow), what the database
holds, and the earlier rows of the file. What the database holds is read once for the whole
file (one query per kind of lookup, in batches of ``BATCH`` values), never once per row, and
the records are written with one multi-row INSERT per batch. The record services check their
rules again only when the database refuses a batch: the rows are then written one by one
through them, so the refusal names its line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, NamedTuple, TypeVar

import psycopg
from flask_babel import gettext
from marshmallow import Schema, ValidationError, fields, missing, validate
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Row,
    String,
    Table,
    any_,
    cast,
    insert,
    literal,
    select,
)
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from app import collector
from app.api.fields import (
    MAX_MINOR_UNITS,
    AnyCaseCountryCode,
    AnyCaseCurrencyCode,
    Email,
    Text,
    UTCInstant,
)
from app.api.schemas import PaymentIn, StudentIn
from app.guarantee.rules import claim_deadline, guarantee_deadline
from app.guarantee.terms import CirrIntent, PayerType, WorkAuthorisation
from app.models import (
    Base,
    Enrollment,
    Graduation,
    GuaranteePolicy,
    Programme,
    Student,
    TuitionPayment,
)
from app.services import records
from app.services.errors import Conflict, Invalid, ServiceError

Item = TypeVar("Item")

#: Wraps one pass over the rows, e.g. in a progress bar: ``track(items, label)`` is a context
#: manager whose value iterates over ``items``. ``click.progressbar`` is one.
Track = Callable[[Sequence[Item], str], AbstractContextManager[Iterable[Item]]]

#: A problem found in a row: the column (None for the row as a whole) and why.
Problem = tuple[str | None, str]


def untracked(items: Sequence[Item], label: str) -> AbstractContextManager[Iterable[Item]]:
    """A ``Track`` that shows nothing."""
    return nullcontext(items)


class ImportFileError(Exception):
    """The file cannot be read as rows of its kind: empty, unreadable text, or a wrong header."""


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
            return gettext("line %(line)s: %(reason)s", line=self.line, reason=self.reason)
        return gettext(
            "line %(line)s: %(column)s: %(reason)s",
            line=self.line,
            column=self.column,
            reason=self.reason,
        )


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
    # The outcomes report's: where the student studied from, and whether they may work there.
    study_country = AnyCaseCountryCode(load_default=None, allow_none=True)
    study_work_authorisation = fields.Enum(
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


# -- Reading the columns that differ on every row, quickly -----------------------------------
#
# Names, emails and instants differ on every row, so that reading each distinct text once does
# not help them, and the field's own ``deserialize`` (its layers of checks) is most of an
# import's time. Each reader below accepts a narrower set of texts than its field, giving
# the very value the field gives; for any other text it answers None and the field reads it,
# so a wrong value is refused in the field's own words.

#: An address both kept as the field keeps it and well inside what ``validate.Email`` takes:
#: dot-separated atoms of ASCII letters, digits, ``_``, ``+`` and ``-``; a domain of labels
#: (no hyphen at either end) and a final label of 2 to 63 letters.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
#: Text without any control character (nor half a surrogate pair), not starting or ending
#: blank: what every ``Text`` field takes as it is.
_PLAIN_CHARACTER = r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]"
_PLAIN_TEXT = re.compile(
    rf"(?!\s){_PLAIN_CHARACTER}(?:{_PLAIN_CHARACTER}*(?<!\s)(?<={_PLAIN_CHARACTER}))?"
)


def _quick_email(column: Email, text: str) -> str | None:
    if len(text) <= 254 and _PLAIN_EMAIL.fullmatch(text):
        return text.lower()
    return None


def _quick_text(column: Text, text: str) -> str | None:
    if len(text) <= column.max_length and _PLAIN_TEXT.fullmatch(text):
        return text
    return None


def _quick_instant(column: UTCInstant, text: str) -> datetime | None:
    if column.validators:
        return None
    try:
        instant = datetime.fromisoformat(text)
        if instant.tzinfo is None or instant.utcoffset() is None:
            return None  # the field says why
        return instant.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


#: A text not read yet.
_UNREAD = object()

_QUICK_READERS: dict[type, Callable[[Any, str], Any]] = {
    Email: _quick_email,
    Text: _quick_text,
    UTCInstant: _quick_instant,
}


# -- How each kind of row is checked and written ---------------------------------------------


#: The columns that name an enrollment in a row of payments or graduations.
_ENROLLMENT_KEY = ("student_email", "programme")

#: Values per lookup and rows per INSERT: well under the bound parameters SQLite and
#: PostgreSQL take in one statement, large enough that a big file needs few statements.
BATCH = 1000


def _any(column, keys: Sequence) -> ColumnElement[bool]:
    """``column`` is one of ``keys``, bound as one array (PostgreSQL).

    The array is bound as its text, which PostgreSQL reads in one go: psycopg would adapt the
    keys one by one in Python, which for a whole file's keys takes longer than the query."""
    # Text without the column's length, which the cast would cut a longer key to.
    element = String() if isinstance(column.type, String) else column.type
    return column == any_(cast(literal(_array_text(keys), String()), ARRAY(element)))


def _array_text(keys: Sequence[str] | Sequence[int]) -> str:
    """``keys`` (all text or all whole numbers) written as a PostgreSQL array: ``{1,2}``,
    ``{"a","b c"}``, each text quoted and its quotes and backslashes escaped."""
    if not keys:
        return "{}"
    if isinstance(keys[0], int):
        return "{" + ",".join(map(str, keys)) + "}"
    joined = "".join(keys)
    if '"' in joined or "\\" in joined:
        keys = [key.replace("\\", "\\\\").replace('"', '\\"') for key in keys]
    return '{"' + '","'.join(keys) + '"}'


def _batches(items: Sequence[Item], size: int = BATCH) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _StudentRow(NamedTuple):
    """A student as the checks read them (a plain tuple: a file's checks read thousands, and a
    named tuple's fields are quicker to read than a result row's)."""

    id: int
    email: str
    country: str


class _EnrollmentRow(NamedTuple):
    """An enrollment as the checks read them."""

    id: int
    student_id: int
    programme_id: int
    policy_id: int
    signed_on: date


class _Kind:
    """Checks the rows of one kind against what the database and the earlier rows hold.

    Reading a row (``parse``), looking up what the whole file names (``look_up``, one query
    per kind of lookup, not one per row), checking a row against it (``check``) and writing
    (``write_one``, through the record service, when rows are written one by one) are kept
    apart, so a new column touches the schema and the record only.
    """

    #: The columns, in the order messages name them.
    columns: ClassVar[tuple[str, ...]]
    #: The columns a file may leave out.
    optional: ClassVar[frozenset[str]] = frozenset()
    schema: ClassVar[Schema]
    #: What a row becomes.
    model: ClassVar[type[Base]]

    def __init__(self, session: Session):
        self.session = session
        #: Each column's values by their text: a file repeats programmes, currencies and days.
        self._read: dict[str, dict[str, Any]] = {name: {} for name in self.schema.load_fields}
        #: Each field with what reading it needs: its column, its key in the values, how it
        #: may be read quickly, and what it read.
        self._columns = [
            (
                name,
                column.data_key or name,
                column.attribute or name,
                column,
                _QUICK_READERS.get(type(column)),
                self._read[name],
            )
            for name, column in self.schema.load_fields.items()
        ]
        #: What the database holds, as rows of the columns the checks read.
        self._students: dict[str, _StudentRow] = {}
        self._student_of_id: dict[int, _StudentRow] = {}
        self._programmes: dict[str, Row] = {}
        self._programme_of_id: dict[int, Row] = {}
        self._enrollments: dict[tuple[int, int], list[_EnrollmentRow]] = {}
        #: Each programme's policy versions, the newest first.
        self._policies: dict[int, list[GuaranteePolicy]] = {}

    def parse(self, row: SourceRow, problems: list[Problem]) -> dict[str, Any] | None:
        """The values of ``row`` when its shape is right; else add what is wrong to ``problems``."""
        if row.malformed:
            problems.append((None, row.malformed))
            return None
        # The schema's own hooks (a check across columns) run only in ``load``.
        values = None if self.schema._hooks else self._read_columns(row.values)
        if values is not None:
            return values
        try:
            return self.schema.load({name: text for name, text in row.values.items() if text})
        except ValidationError as error:
            problems.extend(_problems_of(error.messages))
            return None

    def _read_columns(self, texts: dict[str, str]) -> dict[str, Any] | None:
        """What ``schema.load`` gives for a right row, column by column, each distinct text
        read once per file; None as soon as a column is wrong, and the schema then reads the
        row again to word every problem as it always does."""
        values = {}
        for name, key, attribute, column, quick, read in self._columns:
            text = texts.get(key)
            if not text:
                if column.required:
                    return None
                if column.load_default is not missing:
                    default = column.load_default
                    values[attribute] = default() if callable(default) else default
                continue
            value = read.get(text, _UNREAD)
            if value is _UNREAD:
                try:
                    value = quick(column, text) if quick else None
                    if value is None:
                        value = column.deserialize(text, name, texts)
                except ValidationError:
                    return None
                read[text] = value
            values[attribute] = value
        return values

    def look_up(self, rows: list[dict[str, Any]]) -> None:
        """Read what the database holds about the rows whose shape is right, all at once."""
        raise NotImplementedError

    def check(self, line: int, values: dict[str, Any], problems: list[Problem]) -> dict | None:
        """Check a row whose shape is right; return the record to write (column values)."""
        raise NotImplementedError

    def write_one(self, session: Session, record: dict[str, Any]) -> None:
        """Write one checked record through its record service, which names what it refuses."""
        raise NotImplementedError

    def _rows(
        self, statement_of: Callable[[ColumnElement[bool]], Any], column, keys: Iterable
    ) -> list:
        """The rows ``statement_of(column among keys)`` selects, for the distinct ``keys``.

        PostgreSQL takes them all as one array (``= ANY``): a statement whose text does not
        grow with the file, parsed once. Elsewhere they go in batches of ``BATCH``."""
        keys = sorted(set(keys))
        if not keys:
            return []
        if self._on_postgresql():
            return self.session.execute(statement_of(_any(column, keys))).all()
        return [
            row
            for batch in _batches(keys)
            for row in self.session.execute(statement_of(column.in_(batch)))
        ]

    def _on_postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _scalars(self, statement_of: Callable[[ColumnElement[bool]], Any], column, keys):
        return (row[0] for row in self._rows(statement_of, column, keys))

    def look_up_students(self, emails: Iterable[str]) -> None:
        # Rows, not ORM objects: a check reads a few columns of thousands of them.
        for student in self._rows(
            lambda among: select(Student.id, Student.email, Student.country).where(among),
            Student.email,
            emails,
        ):
            student = _StudentRow(*student)
            self._students[student.email] = student
            self._student_of_id[student.id] = student

    def look_up_enrollments(self, rows: list[dict[str, Any]]) -> None:
        """The students, programmes and enrollments that the rows name."""
        self.look_up_students(values["student_email"] for values in rows)
        self.look_up_programmes(values["programme"] for values in rows)
        programme_ids = [programme.id for programme in self._programmes.values()]
        if not programme_ids:
            return
        for enrollment in self._rows(
            lambda among: (
                select(
                    Enrollment.id,
                    Enrollment.student_id,
                    Enrollment.programme_id,
                    Enrollment.policy_id,
                    Enrollment.signed_on,
                )
                .where(among, Enrollment.programme_id.in_(programme_ids))
                .order_by(Enrollment.signed_on, Enrollment.id)
            ),
            Enrollment.student_id,
            (student.id for student in self._students.values()),
        ):
            key = (enrollment.student_id, enrollment.programme_id)
            self._enrollments.setdefault(key, []).append(_EnrollmentRow(*enrollment))

    def look_up_programmes(self, names: Iterable[str]) -> None:
        for programme in self._rows(
            lambda among: select(Programme.id, Programme.name, Programme.currency).where(among),
            Programme.name,
            names,
        ):
            self._programmes[programme.name] = programme
            self._programme_of_id[programme.id] = programme

    def look_up_policies(self) -> None:
        """Every policy version of the programmes found, for ``policy_in_force``."""
        for policy in self._scalars(
            lambda among: (
                select(GuaranteePolicy)
                .where(among)
                .order_by(GuaranteePolicy.effective_from.desc(), GuaranteePolicy.version.desc())
            ),
            GuaranteePolicy.programme_id,
            (programme.id for programme in self._programmes.values()),
        ):
            self._policies.setdefault(policy.programme_id, []).append(policy)

    def policy_in_force(self, programme: Row, on: date) -> GuaranteePolicy | None:
        """As ``records.policy_in_force``: the newest version effective by ``on``."""
        return next(
            (
                policy
                for policy in self._policies.get(programme.id, ())
                if policy.effective_from <= on
            ),
            None,
        )

    def find_student(self, email: str, problems: list[Problem]) -> Row | None:
        student = self._students.get(email)
        if student is None:
            problems.append(
                ("student_email", gettext("no student has email %(email)s", email=email))
            )
        return student

    def find_programme(self, name: str, problems: list[Problem]) -> Row | None:
        programme = self._programmes.get(name)
        if programme is None:
            problems.append(
                ("programme", gettext("no programme is named %(name)s", name=repr(name)))
            )
        return programme

    def enrollments(self, student: _StudentRow, programme: Row) -> list[_EnrollmentRow]:
        return self._enrollments.get((student.id, programme.id), [])

    def find_enrollment(self, values: dict[str, Any], problems: list[Problem]) -> Row | None:
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
                    gettext(
                        "%(email)s has %(count)s enrollments in %(programme)s, so the row is"
                        " ambiguous",
                        email=student.email,
                        count=len(enrollments),
                        programme=repr(programme.name),
                    ),
                )
            )
        else:
            problems.append(
                (
                    "programme",
                    gettext(
                        "%(email)s is not enrolled in %(programme)s",
                        email=student.email,
                        programme=repr(programme.name),
                    ),
                )
            )
        return None


class _Students(_Kind):
    columns = ("name", "email", "country")
    schema = StudentRow()
    model = Student

    def __init__(self, session: Session):
        super().__init__(session)
        self._line_of_email: dict[str, int] = {}

    def look_up(self, rows):
        self.look_up_students(values["email"] for values in rows)

    def check(self, line, values, problems):
        email = values["email"]
        if email in self._students:
            problems.append(
                ("email", gettext("a student with email %(email)s exists already", email=email))
            )
        elif email in self._line_of_email:
            problems.append(
                (
                    "email",
                    gettext(
                        "%(email)s is on line %(line)s already",
                        email=email,
                        line=self._line_of_email[email],
                    ),
                )
            )
        else:
            self._line_of_email[email] = line
        return {**values, "email": email.lower()}

    def write_one(self, session, record):
        records.create_student(session, **record)


#: An enrollment's optional eligibility columns: empty cells leave the start of studies
#: unrecorded, the search country the student's, the work authorisation unknown.
ELIGIBILITY_COLUMNS = ("studies_started_on", "search_country", "work_authorisation")
#: An enrollment's optional columns for the outcomes report: empty cells leave the country of
#: study the student's, the work authorisation there unknown.
STUDY_COLUMNS = ("study_country", "study_work_authorisation")


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
        *STUDY_COLUMNS,
    )
    optional = frozenset(
        {
            "scholarship_minor",
            "cirr_intent",
            "expected_graduation_on",
            *ELIGIBILITY_COLUMNS,
            *STUDY_COLUMNS,
        }
    )
    schema = EnrollmentRow()
    model = Enrollment

    def __init__(self, session: Session):
        super().__init__(session)
        self._line_of_enrollment: dict[tuple[int, int, date], int] = {}

    def look_up(self, rows):
        self.look_up_enrollments(rows)
        self.look_up_policies()

    def check(self, line, values, problems):
        student = self.find_student(values["student_email"], problems)
        programme = self.find_programme(values["programme"], problems)
        signed_on = values["signed_on"]
        policy = None if programme is None else self.policy_in_force(programme, signed_on)
        if programme is not None and policy is None:
            problems.append(
                (
                    "signed_on",
                    gettext(
                        "no guarantee policy of %(programme)s is in force on %(day)s",
                        programme=repr(programme.name),
                        day=signed_on,
                    ),
                )
            )
        expected = values["expected_graduation_on"]
        if expected is not None and expected < signed_on:
            problems.append(
                (
                    "expected_graduation_on",
                    gettext("the cohort cannot graduate before the enrollment is signed"),
                )
            )
        if student is None or programme is None or policy is None:
            return None
        # A second enrollment on the same day is a file imported twice, not a re-enrollment.
        key = (student.id, programme.id, signed_on)
        if any(
            enrolled.signed_on == signed_on for enrolled in self.enrollments(student, programme)
        ):
            problems.append(
                (
                    "signed_on",
                    gettext(
                        "%(email)s is enrolled in %(programme)s on %(day)s already",
                        email=student.email,
                        programme=repr(programme.name),
                        day=signed_on,
                    ),
                )
            )
        elif key in self._line_of_enrollment:
            problems.append(
                (
                    "signed_on",
                    gettext(
                        "the same enrollment is on line %(line)s",
                        line=self._line_of_enrollment[key],
                    ),
                )
            )
        else:
            self._line_of_enrollment[key] = line
        return {
            **{name: value for name, value in values.items() if name not in _ENROLLMENT_KEY},
            "student_id": student.id,
            "programme_id": programme.id,
            "policy_id": policy.id,
            # An empty cell: the student's own country, as the record service sets it.
            "search_country": values["search_country"] or student.country,
            "study_country": values["study_country"] or student.country,
        }

    def write_one(self, session, record):
        # The service binds the policy itself, as it does for the API.
        records.enroll(session, **{name: v for name, v in record.items() if name != "policy_id"})


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
    model = TuitionPayment

    def __init__(self, session: Session):
        super().__init__(session)
        self._line_of_intent: dict[str, int] = {}
        self._line_of_payment: dict[tuple[int, int, datetime], int] = {}
        self._recorded_intents: set[str] = set()
        self._recorded_payments: set[tuple[int, int, datetime]] = set()

    def look_up(self, rows):
        self.look_up_enrollments(rows)
        intents = [values["stripe_payment_intent_id"] for values in rows]
        self._recorded_intents.update(
            self._scalars(
                lambda among: select(TuitionPayment.stripe_payment_intent_id).where(among),
                TuitionPayment.stripe_payment_intent_id,
                (intent for intent in intents if intent is not None),
            )
        )
        # Only a payment between the file's first and last instants can be one of its rows
        # recorded again: the others are left in the database (the index on enrollment and
        # instant reads only those).
        instants = [values["paid_at"] for values in rows]
        between = TuitionPayment.paid_at.between(min(instants), max(instants)) if rows else None
        self._recorded_payments.update(
            tuple(row)
            for row in self._rows(
                lambda among: select(
                    TuitionPayment.enrollment_id,
                    TuitionPayment.amount_minor,
                    TuitionPayment.paid_at,
                ).where(among, between),
                TuitionPayment.enrollment_id,
                (e.id for found in self._enrollments.values() for e in found),
            )
        )

    def check(self, line, values, problems):
        enrollment = self.find_enrollment(values, problems)
        if values["payer_type"] is PayerType.SPONSOR and not values["payer_name"]:
            problems.append(("payer_name", gettext("name the sponsor who paid")))
        intent = values["stripe_payment_intent_id"]
        if intent is not None:
            self._check_intent(line, intent, problems)
        if enrollment is None:
            return None
        programme = self._programme_of_id[enrollment.programme_id]
        currency = programme.currency
        if values["currency"] != currency:
            problems.append(
                (
                    "currency",
                    gettext(
                        "tuition of %(programme)s is paid in %(currency)s",
                        programme=repr(programme.name),
                        currency=currency,
                    ),
                )
            )
        self._check_payment(line, enrollment, values, problems)
        return {
            "enrollment_id": enrollment.id,
            **{name: value for name, value in values.items() if name not in _ENROLLMENT_KEY},
        }

    def write_one(self, session, record):
        records.record_payment(session, **record)

    def _check_intent(self, line: int, intent: str, problems: list[Problem]) -> None:
        if intent in self._recorded_intents:
            problems.append(
                (
                    "stripe_payment_intent_id",
                    gettext("payment %(intent)s is recorded already", intent=intent),
                )
            )
        elif intent in self._line_of_intent:
            problems.append(
                (
                    "stripe_payment_intent_id",
                    gettext(
                        "payment %(intent)s is on line %(line)s already",
                        intent=intent,
                        line=self._line_of_intent[intent],
                    ),
                )
            )
        else:
            self._line_of_intent[intent] = line

    def _check_payment(
        self, line: int, enrollment: Row, values: dict[str, Any], problems: list[Problem]
    ) -> None:
        # The same amount for the same enrollment at the same instant is a file imported twice,
        # and would inflate what a refund pays back.
        key = (enrollment.id, values["amount_minor"], values["paid_at"])
        if key in self._recorded_payments:
            problems.append(
                ("paid_at", gettext("the same payment at the same instant is recorded already"))
            )
        elif key in self._line_of_payment:
            problems.append(
                (
                    "paid_at",
                    gettext(
                        "the same payment is on line %(line)s", line=self._line_of_payment[key]
                    ),
                )
            )
        else:
            self._line_of_payment[key] = line


class _Graduations(_Kind):
    columns = ("student_email", "programme", "qualified_on")
    schema = GraduationRow()
    model = Graduation

    def __init__(self, session: Session):
        super().__init__(session)
        self._line_of_graduation: dict[int, int] = {}
        self._qualified_on: dict[int, date] = {}

    def look_up(self, rows):
        self.look_up_enrollments(rows)
        self.look_up_policies()
        self._qualified_on.update(
            tuple(row)
            for row in self._rows(
                lambda among: select(Graduation.enrollment_id, Graduation.qualified_on).where(
                    among
                ),
                Graduation.enrollment_id,
                (e.id for found in self._enrollments.values() for e in found),
            )
        )

    def check(self, line, values, problems):
        enrollment = self.find_enrollment(values, problems)
        if enrollment is None:
            return None
        qualified_on = values["qualified_on"]
        if qualified_on < enrollment.signed_on:
            problems.append(
                (
                    "qualified_on",
                    gettext(
                        "a student cannot qualify before enrolling (signed on %(day)s)",
                        day=enrollment.signed_on,
                    ),
                )
            )
        elif not self._deadline_representable(enrollment, qualified_on):
            problems.append(
                (
                    "qualified_on",
                    gettext("too late: the guarantee's claim deadline would be after 9999-12-31"),
                )
            )
        student = self._student_of_id[enrollment.student_id]
        programme = self._programme_of_id[enrollment.programme_id]
        of_whom = f"{student.email} in {programme.name!r}"
        if enrollment.id in self._qualified_on:
            problems.append(
                (
                    "programme",
                    gettext(
                        "%(whom)s has a graduation already (qualified on %(day)s)",
                        whom=of_whom,
                        day=self._qualified_on[enrollment.id],
                    ),
                )
            )
        elif enrollment.id in self._line_of_graduation:
            problems.append(
                (
                    "programme",
                    gettext(
                        "%(whom)s graduates on line %(line)s",
                        whom=of_whom,
                        line=self._line_of_graduation[enrollment.id],
                    ),
                )
            )
        else:
            self._line_of_graduation[enrollment.id] = line
        return {"enrollment_id": enrollment.id, "qualified_on": qualified_on}

    def write_one(self, session, record):
        records.record_graduation(session, **record)

    def _deadline_representable(self, enrollment: Row, qualified_on: date) -> bool:
        # As the service: dates stop at 9999-12-31, and a later deadline could never be judged.
        policy = next(
            policy
            for policy in self._policies[enrollment.programme_id]
            if policy.id == enrollment.policy_id
        )
        try:
            claim_deadline(
                guarantee_deadline(qualified_on, policy.window_months, policy.window_starts),
                policy.claim_deadline_days,
            )
        except (OverflowError, ValueError):
            return False
        return True


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
        gettext("%(column)s (optional)", column=name) if name in spec.optional else name
        for name in spec.columns
    )


# -- Reading and importing -------------------------------------------------------------------


#: What spreadsheets put between values: English Excel a comma, French Excel a semicolon.
DELIMITERS = (",", ";", "\t")
_UTF8_BOM = b"\xef\xbb\xbf"
#: A character UTF-8 writes in two to four bytes: a file holding one is UTF-8 (or broken).
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


@dataclass(frozen=True)
class CsvFile:
    """A CSV file as read: its rows, how it was written, and what the reader should check."""

    rows: list[SourceRow]
    encoding: str
    delimiter: str
    warnings: tuple[str, ...] = ()


def read_csv(data: bytes, kind: str) -> list[SourceRow]:
    """The rows of a CSV file of ``kind``, each numbered by the line it starts on (see
    ``read_csv_file``)."""
    return read_csv_file(data, kind).rows


@collector.paused()
def read_csv_file(data: bytes, kind: str) -> CsvFile:
    """A CSV file of ``kind`` as spreadsheets save it, read into rows numbered by their line.

    The file is UTF-8 (with or without a byte order mark) or, as Excel saves "CSV" in Western
    Europe, Windows-1252 (read with a warning to check the accents); its values are separated by
    commas, semicolons (French Excel) or tabs, whichever its header line uses. The first line
    names the columns (in any order and case); blank lines are skipped but counted. Raises
    ``ImportFileError``, naming the line, when the file cannot be read, has no header or no
    rows, or its header is wrong.
    """
    spec = _kind(kind)
    text, encoding = _decoded(data)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[SourceRow] = []
    next_line = 1
    try:
        for cells in reader:
            # A quoted value may span lines: a row starts where the previous one ended.
            line, next_line = next_line, reader.line_num + 1
            cells = list(map(str.strip, cells))
            if not any(cells):
                continue
            if header is None:
                header = _checked_header(line, cells, spec, kind)
            elif len(cells) != len(header):
                rows.append(
                    SourceRow(
                        line,
                        {},
                        malformed=gettext(
                            "has %(values)s values but the header names %(columns)s columns",
                            values=len(cells),
                            columns=len(header),
                        ),
                    )
                )
            else:
                rows.append(SourceRow(line, dict(zip(header, cells, strict=True))))
    except csv.Error as error:
        raise ImportFileError(
            gettext("line %(line)s is not valid CSV: %(error)s", line=reader.line_num, error=error)
        ) from error
    if header is None:
        raise ImportFileError(
            gettext(
                "the file is empty; its first line must name the columns: %(columns)s",
                columns=columns_of(kind),
            )
        )
    if not rows:
        raise ImportFileError(gettext("the file has a header but no rows"))
    warnings = ()
    if encoding == "windows-1252":
        warnings = (
            gettext(
                "the file is not UTF-8: it was read as Windows-1252, the way Excel saves CSV in"
                " Western Europe; check that names with accents read right"
            ),
        )
    return CsvFile(rows, encoding, delimiter, warnings)


def _decoded(data: bytes) -> tuple[str, str]:
    """The file's text and its encoding: UTF-8 (a byte order mark dropped) or Windows-1252."""
    marked_utf8 = data.startswith(_UTF8_BOM)
    body = data.removeprefix(_UTF8_BOM)
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = error
    if not marked_utf8 and not _UTF8_SEQUENCE.search(body):
        # No character of more than one byte anywhere: a file Excel saved as Windows-1252.
        try:
            return body.decode("windows-1252"), "windows-1252"
        except UnicodeDecodeError as error:
            utf8_error = error  # a byte Windows-1252 leaves undefined
    line = body[: utf8_error.start].count(b"\n") + 1
    raise ImportFileError(
        gettext(
            "line %(line)s is not UTF-8 text (byte %(byte)s); save the file as CSV UTF-8",
            line=line,
            byte=format(body[utf8_error.start], "#04x"),
        )
    ) from utf8_error


def _delimiter(text: str) -> str:
    """The separator the header line uses most: a comma, a semicolon or a tab."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return max(DELIMITERS, key=header.count)


@collector.paused()
def import_rows(
    session: Session, kind: str, rows: Sequence[SourceRow], *, track: Track = untracked
) -> ImportReport:
    """Check every row of ``kind``, then, if none has a problem, write them all.

    The rows are read first, then what the whole file names is looked up at once, then each
    row is checked. The records are written in batches of one INSERT each; when the database
    refuses a batch (another transaction wrote the same record since it was checked), they
    are written again one by one through the record services, which name the line and why.
    Nothing is written when any row has a problem, nor when a row is refused while writing:
    the writes share one savepoint, rolled back whole. The caller commits.
    """
    checker = _kind(kind)(session)
    problems_of: dict[int, list[Problem]] = {}
    parsed: list[tuple[int, dict[str, Any]]] = []
    with track(rows, f"Checking {len(rows)} {kind}") as checking:
        for row in checking:
            problems = problems_of.setdefault(row.line, [])
            values = checker.parse(row, problems)
            if values is not None:
                parsed.append((row.line, values))
    checker.look_up([values for _, values in parsed])
    writes: list[tuple[int, dict[str, Any]]] = []
    for line, values in parsed:
        problems = problems_of[line]
        record = checker.check(line, values, problems)
        if not problems and record is not None:
            writes.append((line, record))
    errors = [
        RowError(row.line, column, reason)
        for row in rows
        for column, reason in problems_of.pop(row.line, ())
    ]
    if errors:
        return ImportReport(kind, rows=len(rows), errors=errors)
    try:
        with track(writes, f"Writing {len(writes)} {kind}") as writing, session.begin_nested():
            _insert(session, checker.model, (record for _, record in writing))
    except (IntegrityError, DataError, psycopg.IntegrityError, psycopg.DataError):
        return _write_one_by_one(session, checker, kind, len(rows), writes)
    return ImportReport(kind, rows=len(rows), written=len(writes))


def _insert(session: Session, model: type[Base], records: Iterable[dict]) -> None:
    """Insert ``records``: by COPY on PostgreSQL, else one multi-row INSERT per ``BATCH``."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy(connection, model.__table__, records)
    else:
        _insert_in_batches(session, model, records)


def _copy(connection: Connection, table: Table, records: Iterable[dict]) -> None:
    """COPY ``records`` into ``table``, with what an INSERT would add: each column's default
    when the record has none, and each value as the column's type writes it (instants in UTC,
    enumerations by value)."""
    records = list(records)
    if not records:
        return
    first = records[0]
    columns = [column for column in table.columns if column.key in first or column.default]
    # Column by column: each column's type is asked how to write its values once.
    values = [_column_values(column, first, records, connection.dialect) for column in columns]
    names = ", ".join(column.name for column in columns)
    driver = connection.connection.driver_connection
    # In PostgreSQL's binary format when psycopg knows every column's type by its name: the
    # values are then written by its compiled dumpers, not one by one as text.
    types = [_type_name(column, connection.dialect) for column in columns]
    binary = all(driver.adapters.types.get(name) is not None for name in types)
    cursor = driver.cursor()
    with cursor.copy(
        f"COPY {table.name} ({names}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")
    ) as copy:
        if binary:
            copy.set_types(types)
        for row in zip(*values, strict=True):
            copy.write_row(row)


def _type_name(column, dialect) -> str:
    """``column``'s type as PostgreSQL names it, without its length: ``character varying``."""
    return re.sub(r"\(.*\)", "", column.type.compile(dialect=dialect)).strip().lower()


def _column_values(column, first: dict, records: list[dict], dialect) -> list:
    """``column``'s value in each of ``records`` (its default when ``first`` has none), as its
    type writes it."""
    if column.key in first:
        values = [record[column.key] for record in records]
    elif column.default.is_callable:
        # A default that takes no context, as every model's does.
        values = [column.default.arg(None) for _ in records]
    else:
        values = [column.default.arg] * len(records)
    write = column.type.bind_processor(dialect)
    if write is None:
        return values
    return [None if value is None else write(value) for value in values]


def _insert_in_batches(session: Session, model: type[Base], records: Iterable[dict]) -> None:
    """Insert ``records`` into ``model``'s table, one multi-row INSERT per ``BATCH``."""
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) == BATCH:
            session.execute(insert(model), batch)
            batch = []
    if batch:
        session.execute(insert(model), batch)


def _write_one_by_one(
    session: Session,
    checker: _Kind,
    kind: str,
    rows: int,
    writes: list[tuple[int, dict[str, Any]]],
) -> ImportReport:
    line_written = 0
    try:
        with session.begin_nested():
            for line, record in writes:
                line_written = line
                checker.write_one(session, record)
    except (ServiceError, DataError) as error:
        return ImportReport(kind, rows=rows, errors=_write_errors(line_written, error))
    return ImportReport(kind, rows=rows, written=len(writes))


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
        problems.append(gettext("unknown column(s): %(columns)s", columns=", ".join(unknown)))
    missing = [name for name in spec.columns if name not in spec.optional and name not in names]
    if missing:
        problems.append(gettext("missing column(s): %(columns)s", columns=", ".join(missing)))
    repeated = [name for name in spec.columns if names.count(name) > 1]
    if repeated:
        problems.append(gettext("repeated column(s): %(columns)s", columns=", ".join(repeated)))
    nameless = [str(number) for number, name in enumerate(names, start=1) if not name]
    if nameless:
        problems.append(gettext("column(s) %(columns)s have no name", columns=", ".join(nameless)))
    if problems:
        raise ImportFileError(
            gettext(
                "line %(line)s: %(problems)s (the columns of %(kind)s are: %(columns)s)",
                line=line,
                problems="; ".join(problems),
                kind=kind,
                columns=columns_of(kind),
            )
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
        return [RowError(line, None, gettext("the database refused a value of this row"))]
    return [RowError(line, None, str(error))]
