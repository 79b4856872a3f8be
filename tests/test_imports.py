"""The CSV import: ``flask import KIND FILE`` and the ``import_rows`` core behind it."""

from __future__ import annotations

import gc
import textwrap
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from sqlalchemy import func, select

from app import imports
from app.guarantee.terms import CirrIntent, PayerType, WorkAuthorisation
from app.imports import ImportFileError, SourceRow, import_rows, read_csv
from app.models import Base, Enrollment, Graduation, Student, TuitionPayment
from app.services import records
from app.services.errors import Conflict
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    ProgrammeFactory,
    StudentFactory,
    TuitionPaymentFactory,
)
from tests.statements import statements_sent


@pytest.fixture
def csv_file(tmp_path) -> Callable[..., Path]:
    """Write a CSV file from indented text (the first line is the header, line 1)."""

    def write(text: str, name: str = "import.csv") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def run_import(runner):
    def run(kind: str, path: Path):
        return runner.invoke(args=["import", kind, str(path)])

    return run


@pytest.fixture
def row_counts(session) -> Callable[[], dict[str, int]]:
    """The number of rows of every table, to prove a refused import wrote nothing."""

    def count() -> dict[str, int]:
        return {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }

    return count


@pytest.fixture
def data_science():
    """A EUR programme whose first policy is in force from 2024."""
    programme = ProgrammeFactory(name="Data Science", currency="EUR")
    GuaranteePolicyFactory(programme=programme, version=1, effective_from=date(2024, 1, 1))
    return programme


def _enrollment_of(student, programme, **kwargs):
    return EnrollmentFactory(
        student=student, programme=programme, policy=programme.policies[0], **kwargs
    )


# -- Good files --------------------------------------------------------------------------------


def test_import_students_writes_every_row(session, csv_file, run_import):
    path = csv_file("""
        name,email,country
        Ada Lovelace,Ada@Example.org,gb
        Grace Hopper,grace@example.org,US
    """)

    result = run_import("students", path)

    assert result.exit_code == 0, result.output
    assert f"imported 2 students from {path}" in result.output
    students = session.scalars(
        select(Student).where(Student.email.in_(["ada@example.org", "grace@example.org"]))
    ).all()
    assert sorted((s.name, s.email, s.country) for s in students) == [
        ("Ada Lovelace", "ada@example.org", "GB"),
        ("Grace Hopper", "grace@example.org", "US"),
    ]


STUDENTS_AS_TYPED = [
    ("name", "email", "country"),
    ("Chloé Dupré", "chloe@example.fr", "FR"),
    ("Zoë Ångström, PhD", "zoe@example.se", "SE"),
    ("François Lefèvre", "francois@example.ca", "CA"),
]


@pytest.mark.parametrize(
    ("how", "content"),
    [
        # English Excel, "CSV UTF-8": commas and a byte order mark.
        (
            "utf-8 with BOM, commas",
            "\ufeff"
            + "".join(
                ",".join(f'"{cell}"' if "," in cell else cell for cell in row) + "\r\n"
                for row in STUDENTS_AS_TYPED
            ),
        ),
        # French Excel, "CSV (séparateur: point-virgule)": semicolons in Windows-1252.
        ("windows-1252, semicolons", "".join(";".join(row) + "\r\n" for row in STUDENTS_AS_TYPED)),
        ("utf-8, tabs", "".join("\t".join(row) + "\n" for row in STUDENTS_AS_TYPED)),
    ],
)
def test_a_file_saved_by_french_or_english_excel_imports_the_same_rows(
    session, tmp_path, run_import, how, content
):
    path = tmp_path / "students.csv"
    path.write_bytes(content.encode("windows-1252" if "1252" in how else "utf-8"))

    result = run_import("students", path)

    assert result.exit_code == 0, result.output
    assert ("read as Windows-1252" in result.output) == ("1252" in how)
    imported = session.scalars(select(Student).where(Student.email.like("%@example.%"))).all()
    assert sorted((s.name, s.email, s.country) for s in imported) == sorted(
        (name, email, country) for name, email, country in STUDENTS_AS_TYPED[1:]
    )


def test_import_enrollments_binds_each_row_to_the_policy_in_force_on_signing(
    session, csv_file, run_import, data_science
):
    second = GuaranteePolicyFactory(
        programme=data_science, version=2, effective_from=date(2024, 6, 1)
    )
    ada = StudentFactory(email="ada@example.org")
    grace = StudentFactory(email="grace@example.org")
    path = csv_file("""
        student_email,programme,signed_on,guarantee_opt_in,scholarship_minor
        ADA@example.org,Data Science,2024-03-01,Yes,50000
        grace@example.org,Data Science,2024-06-01,false,
    """)

    result = run_import("enrollments", path)

    assert result.exit_code == 0, result.output
    assert "imported 2 enrollments" in result.output
    by_student = {
        e.student_id: e
        for e in session.scalars(select(Enrollment).where(Enrollment.programme == data_science))
    }
    assert by_student[ada.id].policy_id == data_science.policies[0].id
    assert (by_student[ada.id].guarantee_opt_in, by_student[ada.id].scholarship_minor) == (
        True,
        50_000,
    )
    assert by_student[grace.id].policy_id == second.id
    assert (by_student[grace.id].guarantee_opt_in, by_student[grace.id].scholarship_minor) == (
        False,
        0,
    )


def test_import_enrollments_records_the_cirr_intent_and_cohort_day_defaulting_to_in_field(
    session, csv_file, run_import, data_science
):
    ada = StudentFactory(email="ada@example.org")
    grace = StudentFactory(email="grace@example.org")
    path = csv_file("""
        student_email,programme,signed_on,guarantee_opt_in,cirr_intent,expected_graduation_on
        ada@example.org,Data Science,2024-03-01,yes,further_study,2024-12-20
        grace@example.org,Data Science,2024-03-01,yes,,
    """)

    result = run_import("enrollments", path)

    assert result.exit_code == 0, result.output
    by_student = {
        e.student_id: (e.cirr_intent, e.expected_graduation_on)
        for e in session.scalars(select(Enrollment).where(Enrollment.programme == data_science))
    }
    assert by_student == {
        ada.id: (CirrIntent.FURTHER_STUDY, date(2024, 12, 20)),
        grace.id: (CirrIntent.IN_FIELD_JOB, None),
    }


def test_import_enrollments_records_eligibility_defaulting_to_the_students_country(
    session, csv_file, run_import, data_science
):
    ada = StudentFactory(email="ada@example.org", country="FR")
    grace = StudentFactory(email="grace@example.org", country="GB")
    path = csv_file("""
        student_email,programme,signed_on,guarantee_opt_in,studies_started_on,search_country,work_authorisation
        ada@example.org,Data Science,2024-03-01,yes,2024-03-04,us,no
        grace@example.org,Data Science,2024-03-01,yes,,,
    """)

    result = run_import("enrollments", path)

    assert result.exit_code == 0, result.output
    by_student = {
        e.student_id: (e.studies_started_on, e.search_country, e.work_authorisation)
        for e in session.scalars(select(Enrollment).where(Enrollment.programme == data_science))
    }
    assert by_student == {
        ada.id: (date(2024, 3, 4), "US", WorkAuthorisation.NO),
        grace.id: (None, "GB", WorkAuthorisation.UNKNOWN),
    }


def test_import_enrollments_records_the_country_of_study_defaulting_to_the_students_country(
    session, csv_file, run_import, data_science
):
    ada = StudentFactory(email="ada@example.org", country="FR")
    grace = StudentFactory(email="grace@example.org", country="GB")
    alan = StudentFactory(email="alan@example.org", country="US")
    with_columns = run_import(
        "enrollments",
        csv_file("""
            student_email,programme,signed_on,guarantee_opt_in,study_country,study_work_authorisation
            ada@example.org,Data Science,2024-03-01,yes,ca,no
            grace@example.org,Data Science,2024-03-01,yes,,
        """),
    )
    without_them = run_import(
        "enrollments",
        csv_file("""
            student_email,programme,signed_on,guarantee_opt_in
            alan@example.org,Data Science,2024-03-01,yes
        """),
    )

    assert (with_columns.exit_code, without_them.exit_code) == (0, 0), with_columns.output
    by_student = {
        e.student_id: (e.study_country, e.study_work_authorisation)
        for e in session.scalars(select(Enrollment).where(Enrollment.programme == data_science))
    }
    assert by_student == {
        ada.id: ("CA", WorkAuthorisation.NO),
        grace.id: ("GB", WorkAuthorisation.UNKNOWN),
        alan.id: ("US", WorkAuthorisation.UNKNOWN),
    }


def test_import_enrollments_with_a_bad_country_of_study_names_line_and_column(
    session, csv_file, run_import, data_science
):
    StudentFactory(email="ada@example.org")
    path = csv_file("""
        student_email,programme,signed_on,guarantee_opt_in,study_country,study_work_authorisation
        ada@example.org,Data Science,2024-03-01,yes,Canada,yes
        ada@example.org,Data Science,2024-03-02,yes,CA,maybe
    """)

    result = run_import("enrollments", path)

    assert result.exit_code != 0
    assert "line 2: study_country: Not an ISO 3166-1 alpha-2 country code" in result.output
    assert "line 3: study_work_authorisation: Must be one of: yes, no, unknown" in result.output
    assert session.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_import_enrollments_with_bad_eligibility_names_line_and_column(
    session, csv_file, run_import, data_science
):
    StudentFactory(email="ada@example.org")
    path = csv_file("""
        student_email,programme,signed_on,guarantee_opt_in,studies_started_on,search_country,work_authorisation
        ada@example.org,Data Science,2024-03-01,yes,2024-02-30,FR,yes
        ada@example.org,Data Science,2024-03-02,yes,,XX,yes
        ada@example.org,Data Science,2024-03-03,yes,,FR,maybe
    """)

    result = run_import("enrollments", path)

    assert result.exit_code != 0
    assert "line 2: studies_started_on: Not a valid date" in result.output
    assert "line 3: search_country: Not an ISO 3166-1 alpha-2 country code" in result.output
    assert "line 4: work_authorisation: Must be one of: yes, no, unknown" in result.output
    assert session.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_import_enrollments_with_a_bad_intent_or_cohort_day_names_line_and_column(
    session, csv_file, run_import, data_science
):
    StudentFactory(email="ada@example.org")
    path = csv_file("""
        student_email,programme,signed_on,guarantee_opt_in,cirr_intent,expected_graduation_on
        ada@example.org,Data Science,2024-03-01,yes,get_rich,
        ada@example.org,Data Science,2024-03-02,yes,in_field_job,2024-01-01
    """)

    result = run_import("enrollments", path)

    assert result.exit_code != 0
    assert "line 2: cirr_intent: Must be one of" in result.output
    assert "line 3: expected_graduation_on: the cohort cannot graduate" in result.output
    assert session.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_import_payments_writes_every_row_in_utc(session, csv_file, run_import, data_science):
    enrollment = _enrollment_of(StudentFactory(email="ada@example.org"), data_science)
    path = csv_file("""
        student_email,programme,amount_minor,currency,paid_at,payer_type,payer_name,stripe_payment_intent_id
        ada@example.org,Data Science,300000,eur,2024-03-05T10:00:00+02:00,,,pi_3Mtw
        ada@example.org,Data Science,250000,EUR,2024-04-05T10:00:00Z,sponsor,Acme Ltd,
    """)

    result = run_import("payments", path)

    assert result.exit_code == 0, result.output
    assert "imported 2 payments" in result.output
    payments = session.scalars(
        select(TuitionPayment)
        .where(TuitionPayment.enrollment_id == enrollment.id)
        .order_by(TuitionPayment.paid_at)
    ).all()
    assert [
        (p.amount_minor, p.currency, p.paid_at, p.payer_type, p.payer_name) for p in payments
    ] == [
        (300_000, "EUR", datetime(2024, 3, 5, 8, tzinfo=UTC), PayerType.STUDENT, None),
        (250_000, "EUR", datetime(2024, 4, 5, 10, tzinfo=UTC), PayerType.SPONSOR, "Acme Ltd"),
    ]
    assert [p.stripe_payment_intent_id for p in payments] == ["pi_3Mtw", None]


def test_import_payments_without_the_optional_columns(session, csv_file, run_import, data_science):
    enrollment = _enrollment_of(StudentFactory(email="ada@example.org"), data_science)
    path = csv_file("""
        paid_at,amount_minor,currency,programme,student_email
        2024-03-05T10:00:00+00:00,300000,EUR,Data Science,ada@example.org
    """)

    result = run_import("payments", path)

    assert result.exit_code == 0, result.output
    payment = session.scalar(
        select(TuitionPayment).where(TuitionPayment.enrollment_id == enrollment.id)
    )
    assert (payment.payer_type, payment.payer_name) == (PayerType.STUDENT, None)


def test_import_graduations_writes_every_row(session, csv_file, run_import, data_science):
    ada = _enrollment_of(StudentFactory(email="ada@example.org"), data_science)
    grace = _enrollment_of(StudentFactory(email="grace@example.org"), data_science)
    path = csv_file("""
        student_email,programme,qualified_on
        ada@example.org,Data Science,2025-08-31
        grace@example.org,Data Science,2025-09-15
    """)

    result = run_import("graduations", path)

    assert result.exit_code == 0, result.output
    assert "imported 2 graduations" in result.output
    graduations = session.scalars(
        select(Graduation).where(Graduation.enrollment_id.in_([ada.id, grace.id]))
    ).all()
    assert sorted((g.enrollment_id, g.qualified_on) for g in graduations) == [
        (ada.id, date(2025, 8, 31)),
        (grace.id, date(2025, 9, 15)),
    ]


def test_import_finds_records_whatever_characters_their_names_hold(session):
    # A file's names are looked up all at once (on PostgreSQL, as the text of one array):
    # quotes, backslashes, commas, braces, inner blanks and the word NULL are names like any.
    names = ['Data "Science"', "C:\\Web\\", "UX, {UI}", "NULL", "a  b", "Ünïcode ✓", '\\"']
    enrollments = []
    for number, name in enumerate(names):
        programme = ProgrammeFactory(name=name)
        GuaranteePolicyFactory(programme=programme, version=1, effective_from=date(2024, 1, 1))
        student = StudentFactory(email=f"o'brien+{number}@example.org")
        enrollments.append(_enrollment_of(student, programme))
    rows = [
        SourceRow(
            line,
            {
                "student_email": f"o'brien+{number}@example.org",
                "programme": name,
                "qualified_on": "2025-06-30",
            },
        )
        for line, (number, name) in enumerate(enumerate(names), start=2)
    ]
    near = SourceRow(
        len(rows) + 2,
        {
            "student_email": "o'brien+0@example.org",
            "programme": "Data",
            "qualified_on": "2025-06-30",
        },
    )

    refused = import_rows(session, "graduations", [*rows, near])
    report = import_rows(session, "graduations", rows)

    assert [str(error) for error in refused.errors] == [
        f"line {near.line}: programme: no programme is named 'Data'"
    ]
    assert report.ok, report.errors
    assert session.scalars(
        select(Graduation.enrollment_id).order_by(Graduation.enrollment_id)
    ).all() == sorted(enrollment.id for enrollment in enrollments)


def test_import_accepts_a_byte_order_mark_crlf_and_blank_lines(session, tmp_path, run_import):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufeffName,Email,Country\r\n\r\nZoë Ångström,zoe@example.org,SE\r\n,,\r\n".encode()
    )

    result = run_import("students", path)

    assert result.exit_code == 0, result.output
    assert "imported 1 students" in result.output
    assert session.scalar(select(Student.name).where(Student.email == "zoe@example.org")) == (
        "Zoë Ångström"
    )


# -- Bad rows ----------------------------------------------------------------------------------


def test_import_students_reports_each_bad_row_by_line_and_writes_nothing(
    csv_file, run_import, row_counts
):
    StudentFactory(email="taken@example.org")
    before = row_counts()
    path = csv_file("""
        name,email,country
        Ada Lovelace,ada@example.org,FR
        ,not-an-email,XX

        Bob,Taken@example.org,FR
        Cy,cy@example.org
        Dee,dee@example.org,DE
    """)

    result = run_import("students", path)

    assert result.exit_code == 1
    out = result.output
    assert "line 3: name: Missing data for required field." in out
    assert "line 3: email: Not a valid email address." in out
    assert "line 3: country: Not an ISO 3166-1 alpha-2 country code." in out
    assert "line 5: email: a student with email taken@example.org exists already" in out
    assert "line 6: has 2 values but the header names 3 columns" in out
    assert "line 2:" not in out
    assert "line 7:" not in out
    assert "3 of 5 rows have problems; nothing was written" in out
    assert row_counts() == before


def test_import_students_duplicate_email_within_the_file_is_an_error_on_the_later_line(
    session, csv_file, run_import
):
    path = csv_file("""
        name,email,country
        Ada Lovelace,ada@example.org,GB
        Grace Hopper,grace@example.org,US
        Ada L.,ADA@example.org,FR
    """)

    result = run_import("students", path)

    assert result.exit_code == 1
    assert "line 4: email: ada@example.org is on line 2 already" in result.output
    assert "line 2:" not in result.output
    assert session.scalar(select(func.count(Student.id))) == 0


def test_import_enrollments_reports_unknown_records_and_missing_policy(
    csv_file, run_import, row_counts, data_science
):
    ada = StudentFactory(email="ada@example.org")
    _enrollment_of(ada, data_science, signed_on=date(2024, 2, 1))
    before = row_counts()
    path = csv_file("""
        student_email,programme,signed_on,guarantee_opt_in,scholarship_minor
        nobody@example.org,Data Science,2024-03-01,yes,0
        ada@example.org,Web Design,2024-03-01,yes,0
        ada@example.org,Data Science,2023-12-31,yes,0
        ada@example.org,Data Science,2024-02-30,maybe,-5
        ada@example.org,Data Science,2024-02-01,true,0
        ada@example.org,Data Science,2024-05-01,1,12.50
        ada@example.org,Data Science,2024-04-01,no,
        ada@example.org,Data Science,2024-04-01,no,
    """)

    result = run_import("enrollments", path)

    assert result.exit_code == 1
    out = result.output
    assert "line 2: student_email: no student has email nobody@example.org" in out
    assert "line 3: programme: no programme is named 'Web Design'" in out
    assert (
        "line 4: signed_on: no guarantee policy of 'Data Science' is in force on 2023-12-31"
    ) in out
    assert "line 5: signed_on: Not a valid date." in out
    assert "line 5: guarantee_opt_in: Not one of true/false, yes/no, 1/0." in out
    assert "line 5: scholarship_minor: Must be greater than or equal to 0" in out
    assert (
        "line 6: signed_on: ada@example.org is enrolled in 'Data Science' on 2024-02-01 already"
    ) in out
    assert "line 7: scholarship_minor: Not a whole number of minor units (cents)." in out
    assert "line 8:" not in out
    assert "line 9: signed_on: the same enrollment is on line 8" in out
    assert row_counts() == before


def test_import_payments_reports_each_rule_a_row_breaks(
    csv_file, run_import, row_counts, data_science
):
    ada = _enrollment_of(StudentFactory(email="ada@example.org"), data_science)
    StudentFactory(email="grace@example.org")
    TuitionPaymentFactory(
        enrollment=ada,
        amount_minor=100_000,
        paid_at=datetime(2024, 2, 1, 9, tzinfo=UTC),
        stripe_payment_intent_id="pi_old",
    )
    before = row_counts()
    path = csv_file("""
        student_email,programme,amount_minor,currency,paid_at,payer_type,payer_name,stripe_payment_intent_id
        ada@example.org,Data Science,300000,USD,2024-03-05T10:00:00Z,student,,
        grace@example.org,Data Science,300000,EUR,2024-03-05T10:00:00Z,student,,
        ada@example.org,Data Science,300000,EUR,2024-03-05T10:00:00Z,sponsor,,
        ada@example.org,Data Science,300000,EUR,2024-03-06T10:00:00Z,student,,pi_old
        ada@example.org,Data Science,300000,EUR,2024-03-07T10:00:00Z,student,,pi_new
        ada@example.org,Data Science,300000,EUR,2024-03-08T10:00:00Z,student,,pi_new
        ada@example.org,Data Science,100000,EUR,2024-02-01T10:00:00+01:00,student,,
        ada@example.org,Data Science,3000.00,EUR,2024-03-05T10:00:00,bank,,
    """)

    result = run_import("payments", path)

    assert result.exit_code == 1
    out = result.output
    assert "line 2: currency: tuition of 'Data Science' is paid in EUR" in out
    assert "line 3: programme: grace@example.org is not enrolled in 'Data Science'" in out
    assert "line 4: payer_name: name the sponsor who paid" in out
    assert "line 5: stripe_payment_intent_id: payment pi_old is recorded already" in out
    assert "line 6:" not in out
    assert "line 7: stripe_payment_intent_id: payment pi_new is on line 6 already" in out
    assert "line 8: paid_at: the same payment at the same instant is recorded already" in out
    assert "line 9: amount_minor: Not a whole number of minor units (cents)." in out
    assert "line 9: paid_at: Not a valid aware datetime." in out
    assert "line 9: payer_type: Must be one of: student, sponsor." in out
    assert row_counts() == before


def test_import_graduations_refuses_a_second_graduation_of_an_enrollment(
    csv_file, run_import, row_counts, data_science
):
    ada = _enrollment_of(StudentFactory(email="ada@example.org"), data_science)
    GraduationFactory(enrollment=ada, qualified_on=date(2025, 6, 30))
    _enrollment_of(
        StudentFactory(email="grace@example.org"), data_science, signed_on=date(2024, 9, 1)
    )
    before = row_counts()
    path = csv_file("""
        student_email,programme,qualified_on
        ada@example.org,Data Science,2025-08-31
        grace@example.org,Data Science,2024-08-31
        grace@example.org,Data Science,2025-08-31
        grace@example.org,Data Science,2025-09-30
    """)

    result = run_import("graduations", path)

    assert result.exit_code == 1
    out = result.output
    assert (
        "line 2: programme: ada@example.org in 'Data Science' has a graduation already "
        "(qualified on 2025-06-30)"
    ) in out
    assert (
        "line 3: qualified_on: a student cannot qualify before enrolling (signed on 2024-09-01)"
    ) in out
    # Line 3 is wrong on its date, but it is still a graduation of the same enrollment.
    assert "line 4: programme: grace@example.org in 'Data Science' graduates on line 3" in out
    assert "line 5: programme: grace@example.org in 'Data Science' graduates on line 3" in out
    assert row_counts() == before


@pytest.mark.parametrize(
    ("kind", "header", "row"),
    [
        (
            "payments",
            "student_email,programme,amount_minor,currency,paid_at",
            "ada@example.org,Data Science,300000,EUR,2024-03-05T10:00:00Z",
        ),
        (
            "graduations",
            "student_email,programme,qualified_on",
            "ada@example.org,Data Science,2025-08-31",
        ),
    ],
)
def test_import_row_naming_a_student_enrolled_twice_in_the_programme_is_ambiguous(
    kind, header, row, csv_file, run_import, row_counts, data_science
):
    ada = StudentFactory(email="ada@example.org")
    _enrollment_of(ada, data_science, signed_on=date(2024, 1, 15))
    _enrollment_of(ada, data_science, signed_on=date(2025, 1, 15))
    before = row_counts()
    path = csv_file(f"{header}\n{row}\n")

    result = run_import(kind, path)

    assert result.exit_code == 1
    assert (
        "line 2: programme: ada@example.org has 2 enrollments in 'Data Science', "
        "so the row is ambiguous"
    ) in result.output
    assert row_counts() == before


def test_import_line_numbers_count_blank_lines_and_values_spanning_lines(csv_file):
    path = csv_file("""
        name,email,country

        "Ada
        Lovelace",ada@example.org,GB
        Grace Hopper,grace@example.org,US
    """)

    rows = read_csv(path.read_bytes(), "students")

    assert [(row.line, row.values["email"]) for row in rows] == [
        (3, "ada@example.org"),
        (5, "grace@example.org"),
    ]


# -- Writing -----------------------------------------------------------------------------------


def _racing(session, track=imports.untracked):
    """A ``Track`` through which another registrar records grace@example.org once the rows
    are checked, before they are written."""

    def track_racing(items, label):
        if label.startswith("Writing"):
            session.add(Student(name="Grace", email="grace@example.org", country="US"))
            session.flush()
        return track(items, label)

    return track_racing


def test_import_refused_while_writing_rolls_back_every_row(
    session, csv_file, run_import, row_counts, monkeypatch
):
    monkeypatch.setattr(imports, "untracked", _racing(session))
    before = row_counts()
    path = csv_file("""
        name,email,country
        Ada Lovelace,ada@example.org,GB
        Grace Hopper,grace@example.org,US
    """)

    result = run_import("students", path)

    assert result.exit_code == 1
    assert "line 3: email: a student with email grace@example.org exists already" in result.output
    assert "nothing was written" in result.output
    assert row_counts() == before


def test_import_rows_refused_while_writing_rolls_back_its_own_writes(session):
    rows = [
        SourceRow(2, {"name": "Ada", "email": "ada@example.org", "country": "GB"}),
        SourceRow(3, {"name": "Grace", "email": "grace@example.org", "country": "US"}),
    ]

    report = import_rows(session, "students", rows, track=_racing(session))

    assert [str(error) for error in report.errors] == [
        "line 3: email: a student with email grace@example.org exists already"
    ]
    # Without the caller rolling back, Ada's row is gone too; the other registrar's stays.
    assert session.scalars(select(Student.email)).all() == ["grace@example.org"]


def test_import_row_the_service_refuses_while_writing_is_named_by_its_line(session, monkeypatch):
    # Written one by one (after the database refused a batch), each row goes through its
    # service, and the service's refusal names the row's line.
    create_student = records.create_student

    def refusing_create_student(session, **values):
        if values["email"] == "ada@example.org":
            raise Conflict("a student with email ada@example.org exists already", "email")
        return create_student(session, **values)

    monkeypatch.setattr(records, "create_student", refusing_create_student)
    rows = [
        SourceRow(2, {"name": "Ada", "email": "ada@example.org", "country": "GB"}),
        SourceRow(3, {"name": "Grace", "email": "grace@example.org", "country": "US"}),
    ]

    report = import_rows(session, "students", rows, track=_racing(session))

    assert [str(error) for error in report.errors] == [
        "line 2: email: a student with email ada@example.org exists already"
    ]
    assert report.written == 0


@pytest.mark.parametrize(
    ("kind", "header", "row"),
    [
        ("students", "name,email,country", "S {n},s{n}@example.org,FR"),
        (
            "enrollments",
            "student_email,programme,signed_on,guarantee_opt_in",
            "s{n}@example.org,Data Science,2024-03-01,yes",
        ),
        (
            "payments",
            "student_email,programme,amount_minor,currency,paid_at,stripe_payment_intent_id",
            "s{n}@example.org,Data Science,1000,EUR,2024-03-05T10:00:00Z,pi_{n}",
        ),
        (
            "graduations",
            "student_email,programme,qualified_on",
            "s{n}@example.org,Data Science,2025-01-31",
        ),
    ],
)
def test_import_sends_as_many_statements_for_many_rows_as_for_few(
    kind, header, row, session, data_science
):
    # Every lookup is one query for the whole file and every write one INSERT per batch, so
    # a file of 60 rows costs what a file of 3 does.
    def sent_for(numbers: range) -> list[str]:
        if kind != "students":
            for n in numbers:
                student = StudentFactory(email=f"s{n}@example.org")
                if kind != "enrollments":
                    _enrollment_of(student, data_science, signed_on=date(2024, 3, 1))
        session.flush()
        rows = [
            SourceRow(n + 2, dict(zip(header.split(","), row.format(n=n).split(","), strict=True)))
            for n in numbers
        ]
        with statements_sent(session.connection()) as sent:
            report = import_rows(session, kind, rows)
        assert report.ok, report.errors
        return sent

    few = sent_for(range(3))
    many = sent_for(range(100, 160))

    assert len(many) == len(few)


def test_import_large_file_shows_progress_and_writes_every_row(session, csv_file, run_import):
    lines = "\n".join(f"Student {n},student-{n}@example.org,FR" for n in range(500))
    path = csv_file(f"name,email,country\n{lines}\n")

    result = run_import("students", path)

    assert result.exit_code == 0, result.output
    assert "Checking 500 students" in result.output
    assert "Writing 500 students" in result.output
    assert "imported 500 students" in result.output
    assert session.scalar(select(func.count(Student.id))) == 500


def test_import_small_file_shows_no_progress_bar(csv_file, run_import):
    path = csv_file("""
        name,email,country
        Ada Lovelace,ada@example.org,GB
    """)

    result = run_import("students", path)

    assert result.exit_code == 0, result.output
    assert "Checking" not in result.output


def test_import_rows_checks_and_writes_without_the_command(session):
    report = import_rows(
        session,
        "students",
        [
            SourceRow(2, {"name": "Ada", "email": "ada@example.org", "country": "GB"}),
            SourceRow(3, {"name": "Ada", "email": "ada@example.org", "country": "GB"}),
        ],
    )

    assert not report.ok
    assert [str(error) for error in report.errors] == [
        "line 3: email: ada@example.org is on line 2 already"
    ]
    assert report.written == 0
    assert session.scalar(select(func.count(Student.id))) == 0


# -- Bad files ---------------------------------------------------------------------------------


def test_reading_and_importing_leave_the_garbage_collector_running(session):
    # Both pause it while they make their rows' objects, whether they end well or not.
    with pytest.raises(ImportFileError):
        read_csv(b"name,email,country\n", "students")
    with pytest.raises(ValueError, match="cannot import"):
        import_rows(session, "teachers", [])
    report = import_rows(session, "students", [SourceRow(2, {"name": "Ada"})])

    assert not report.ok
    assert gc.isenabled()


def test_import_missing_file_is_refused(tmp_path, run_import):
    result = run_import("students", tmp_path / "missing.csv")

    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_import_unknown_kind_is_refused(csv_file, run_import):
    result = run_import("employers", csv_file("name\nAcme\n"))

    assert result.exit_code == 2
    assert "'employers' is not one of" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty; its first line must name the columns: name, email, country"),
        (b"\n \n", "the file is empty"),
        (b"name,email,country\n\n", "the file has a header but no rows"),
        (
            b"name,e-mail,country,age\nAda,ada@example.org,GB,36\n",
            "line 1: unknown column(s): e-mail, age; missing column(s): email",
        ),
        (b"name,email,country,email\n", "line 1: repeated column(s): email"),
        (b"name,email,country,\n", "line 1: column(s) 4 have no name"),
        # UTF-8 ("é" on line 2) with a stray byte on line 3: broken, not Windows-1252.
        (
            b"name,email,country\nCl\xc3\xa9a,clea@example.org,FR\nZo\xeb,zoe@example.org,SE\n",
            "line 3 is not UTF-8 text (byte 0xeb)",
        ),
        # The same after a byte order mark, which says UTF-8 and takes three bytes.
        (
            b"\xef\xbb\xbfname,email,country\nZo\xeb,zoe@example.org,SE\n",
            "line 2 is not UTF-8 text (byte 0xeb)",
        ),
        # A byte Windows-1252 leaves undefined, in a file with no UTF-8 character.
        (b"name,email,country\nAda,ada@example.org,GB\nZo\x81,z@example.org,SE\n", "line 3"),
    ],
)
def test_import_unreadable_file_is_refused_with_a_message(
    content, message, tmp_path, run_import, row_counts
):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = row_counts()

    result = run_import("students", path)

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert row_counts() == before


def test_import_header_error_names_the_columns_of_the_kind():
    with pytest.raises(ImportFileError) as error:
        read_csv(b"student_email,programme\n", "enrollments")

    assert str(error.value) == (
        "line 1: missing column(s): signed_on, guarantee_opt_in (the columns of enrollments "
        "are: student_email, programme, signed_on, guarantee_opt_in, "
        "scholarship_minor (optional), cirr_intent (optional), "
        "expected_graduation_on (optional), studies_started_on (optional), "
        "search_country (optional), work_authorisation (optional), "
        "study_country (optional), study_work_authorisation (optional))"
    )


def test_import_of_an_unknown_kind_is_a_programming_error(session):
    with pytest.raises(ValueError, match="cannot import 'employers'"):
        import_rows(session, "employers", [])
    assert imports.KINDS == ("students", "enrollments", "payments", "graduations")


def test_import_graduation_whose_claim_deadline_passes_9999_is_refused_on_its_line(
    csv_file, run_import, row_counts, data_science
):
    _enrollment_of(StudentFactory(email="ada@example.org"), data_science)
    _enrollment_of(StudentFactory(email="grace@example.org"), data_science)
    before = row_counts()
    path = csv_file("""
        student_email,programme,qualified_on
        ada@example.org,Data Science,2025-06-30
        grace@example.org,Data Science,9999-10-01
    """)

    result = run_import("graduations", path)

    assert result.exit_code == 1
    assert (
        "line 3: qualified_on: too late: the guarantee's claim deadline would be after 9999-12-31"
    ) in result.output
    assert "line 2" not in result.output
    assert row_counts() == before


#: Texts a cell of each column may hold: right ones (an empty cell where the column may be
#: left empty), then wrong ones.
_TEXTS = {
    "name": (["Ada", "  Ada  "], ["", "x" * 300]),
    "email": (["ada@example.org", "ADA@Example.org"], ["not-an-email", ""]),
    "country": (["gb", "GB"], ["XX", ""]),
    "student_email": (["ada@example.org"], ["nope", ""]),
    "programme": (["Data Science"], [""]),
    "signed_on": (["2024-03-01"], ["2024-02-30", ""]),
    "guarantee_opt_in": (["yes", "No"], ["maybe", ""]),
    "scholarship_minor": (["0", "100", ""], ["-1", "1.5"]),
    "cirr_intent": (["in_field_job", "further_study", ""], ["continuing_education", "x"]),
    "expected_graduation_on": (["2025-01-31", ""], ["soon"]),
    "studies_started_on": (["2023-09-01", ""], ["2023-02-30", "autumn"]),
    "search_country": (["de", "DE", " de ", ""], ["XX", "EU"]),
    "work_authorisation": (["yes", "no", "unknown", ""], ["YES", "maybe"]),
    "study_country": (["ca", "CA", " ca ", ""], ["XX", "Canada"]),
    "study_work_authorisation": (["yes", "no", "unknown", ""], ["No", "maybe"]),
    "amount_minor": (["1000"], ["0", "abc", ""]),
    "currency": (["eur", "EUR"], ["XYZ", ""]),
    "paid_at": (["2024-03-05T10:00:00Z", "2024-03-05T10:00:00+02:00"], ["2024-03-05", ""]),
    "payer_type": (["student", "sponsor", ""], ["bank"]),
    "payer_name": (["Acme", ""], []),
    "stripe_payment_intent_id": (["pi_3Mtw", ""], ["ch_1"]),
    "qualified_on": (["2025-06-30"], ["30/06/2025", ""]),
}


@st.composite
def _row_texts(draw, columns: tuple[str, ...]) -> dict[str, str]:
    """A right row, some of whose cells may then be made wrong: every right text of a column
    is tried in right rows, every wrong one in rows otherwise right as well."""
    texts = {name: draw(st.sampled_from(_TEXTS[name][0])) for name in columns}
    wrong = [name for name in columns if _TEXTS[name][1]]
    for name in draw(st.lists(st.sampled_from(wrong), unique=True)):
        texts[name] = draw(st.sampled_from(_TEXTS[name][1]))
    return texts


def _loaded(schema, texts: dict[str, str]) -> dict | None:
    try:
        return schema.load({name: text for name, text in texts.items() if text})
    except ValidationError:
        return None


@given(data=st.data(), kind=st.sampled_from(imports.KINDS))
@settings(max_examples=300, deadline=None)
def test_reading_a_row_column_by_column_gives_what_the_schema_loads(data, kind):
    # The import reads each column on its own (each distinct text once per file); the schema
    # reads a row only when a column is wrong, to word the problems.
    checker = imports._KINDS[kind](session=None)
    rows = data.draw(st.lists(_row_texts(checker.columns), min_size=1, max_size=8))

    for texts in rows:  # one file's rows: a text read on an earlier row is remembered
        assert checker._read_columns(texts) == _loaded(checker.schema, texts)
    for texts in rows:  # read again, from what it remembers
        assert checker._read_columns(texts) == _loaded(checker.schema, texts)


_QUICK_FIELDS = {
    "email": imports.Email(),
    "name": imports.Text(),
    "one_line": imports.Text(max_length=20, one_line=True),
    "search": imports.Text(min_length=0),
    "paid_at": imports.UTCInstant(),
}
#: Texts near the edges of what the fields take: any characters, and ones shaped like an
#: address or an instant.
_NEAR_TEXTS = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="aZ09_+-.@é \t\u00a0", max_size=30),
    st.from_regex(r"[a-z0-9_.+-]{1,8}@[a-z0-9.-]{1,12}\.[a-z]{1,8}", fullmatch=True),
    st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,7})?)?)?"
        r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?",
        fullmatch=True,
    ),
)


@given(name=st.sampled_from(sorted(_QUICK_FIELDS)), text=_NEAR_TEXTS)
@settings(max_examples=1000, deadline=None)
def test_a_quick_reader_gives_what_its_field_gives_or_leaves_the_text_to_it(name, text):
    column = _QUICK_FIELDS[name]
    quick = imports._QUICK_READERS[type(column)](column, text)

    if quick is not None:
        assert quick == column.deserialize(text)
        assert type(quick) is type(column.deserialize(text))
