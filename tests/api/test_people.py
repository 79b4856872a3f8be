"""``/api/v1/students`` and ``/api/v1/employers``."""

from __future__ import annotations

import pytest

from app.auth.tokens import create_token
from app.models import Role
from tests.factories import EmployerFactory, StudentFactory, UserFactory
from tests.signing_in import sign_in_client
from tests.statements import statements_sent

STUDENT = {"name": "Ada Lovelace", "email": " Ada@Example.ORG ", "country": "GB"}
EMPLOYER = {"name": "Analytical Engines Ltd", "contact_email": "Hiring@Engines.example"}


def pagination(response) -> dict:
    return response.json["pagination"]


def test_create_student_stores_the_email_in_lower_case(client):
    response = client.post("/api/v1/students", json=STUDENT)

    assert response.status_code == 201
    body = response.json
    assert (body["name"], body["email"], body["country"]) == (
        "Ada Lovelace",
        "ada@example.org",
        "GB",
    )
    assert client.get(f"/api/v1/students/{body['id']}").json == body


@pytest.mark.parametrize("email", ["ada@example.org", "ADA@EXAMPLE.ORG", "aDa@eXample.org"])
def test_create_student_with_a_taken_email_in_any_case_is_409_and_writes_nothing(
    client, refused, email
):
    assert client.post("/api/v1/students", json=STUDENT).status_code == 201

    response = refused(
        "POST", "/api/v1/students", json={**STUDENT, "name": "Someone else", "email": email}
    )

    assert response.status_code == 409
    assert list(response.json["errors"]["json"]) == ["email"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "a\x00b"),
        ("name", "y" * 201),
        ("name", ["Ada"]),
        ("email", "not an email"),
        ("email", "ada@"),
        ("email", "a" * 250 + "@x.org"),
        ("email", "ada\x00@example.org"),
        ("email", 12),
        ("country", "ZZ"),
        ("country", "GBR"),
        ("country", "ß"),
        ("country", ""),
        ("country", "gb"),
    ],
)
def test_create_student_with_a_bad_field_is_422_naming_it(client, refused, field, value):
    response = refused("POST", "/api/v1/students", json={**STUDENT, field: value})

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == [field]


def test_list_students_by_name_with_pagination(client, session):
    for name in ("Carol", "Alice", "Bob"):
        StudentFactory(name=name)

    response = client.get("/api/v1/students?page_size=2&page=2")

    assert [row["name"] for row in response.json["items"]] == ["Carol"]
    assert pagination(response)["total"] == 3
    assert pagination(response)["page"] == 2


def test_list_students_filters_by_email_in_any_case(client, session):
    StudentFactory(email="grace@example.org")
    StudentFactory(email="alan@example.org")

    response = client.get("/api/v1/students?email=GRACE@Example.org")

    assert [row["email"] for row in response.json["items"]] == ["grace@example.org"]


def test_list_students_filters_by_country(client, session):
    StudentFactory(name="In France", country="FR")
    StudentFactory(name="In Canada", country="CA")

    response = client.get("/api/v1/students?country=CA")

    assert [row["name"] for row in response.json["items"]] == ["In Canada"]


@pytest.mark.parametrize("query", ["email=nobody", "country=XX", "country=%00%00"])
def test_list_students_with_a_bad_filter_is_422_naming_it(client, query):
    response = client.get(f"/api/v1/students?{query}")

    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == [query.split("=")[0]]


def test_get_student_unknown_is_404(client):
    assert client.get("/api/v1/students/31337").status_code == 404
    assert client.get(f"/api/v1/students/{2**31}").status_code == 404


def test_a_student_is_read_with_its_token_in_one_statement(client, session, connection):
    student = StudentFactory(name="Ada", country="GB")
    session.flush()

    with statements_sent(connection) as sent:
        read = client.get(f"/api/v1/students/{student.id}")
        missing = client.get("/api/v1/students/31337")

    assert read.json == {
        "id": student.id,
        "name": "Ada",
        "email": student.email,
        "country": "GB",
        "created_at": student.created_at.isoformat(),
    }
    assert missing.status_code == 404
    # One statement per request (the test's savepoints aside), the token's and the student's.
    reads = [statement for statement in sent if "SAVEPOINT" not in statement]
    assert len(reads) == 2
    assert all("api_tokens" in statement and "students" in statement for statement in reads)


def test_a_token_whose_role_reads_no_records_gets_no_student(client, session):
    student = StudentFactory()
    _, secret = create_token(session, user=UserFactory(role=Role.ADMIN), name="accounts")
    session.flush()

    refused = client.get(
        f"/api/v1/students/{student.id}", headers={"Authorization": f"Bearer {secret}"}
    )

    assert refused.status_code == 403
    assert student.email not in refused.get_data(as_text=True)


def test_a_signed_in_person_reads_a_student_too(anonymous_client, session):
    student = StudentFactory(name="Ada")
    session.commit()
    signed_in = sign_in_client(anonymous_client, UserFactory(role=Role.REGISTRAR))
    assert signed_in.status_code == 302

    assert anonymous_client.get(f"/api/v1/students/{student.id}").json["name"] == "Ada"
    assert anonymous_client.get("/api/v1/students/31337").status_code == 404


def test_create_employer_stores_the_contact_email_in_lower_case(client):
    response = client.post("/api/v1/employers", json=EMPLOYER)

    assert response.status_code == 201
    assert response.json["contact_email"] == "hiring@engines.example"
    assert response.json["is_school"] is False
    assert client.get(f"/api/v1/employers/{response.json['id']}").json == response.json


def test_create_employer_marks_the_school_itself(client):
    response = client.post("/api/v1/employers", json={**EMPLOYER, "is_school": True})

    assert response.status_code == 201
    assert client.get(f"/api/v1/employers/{response.json['id']}").json["is_school"] is True


def test_two_employers_may_share_a_name(client):
    assert client.post("/api/v1/employers", json=EMPLOYER).status_code == 201
    assert client.post("/api/v1/employers", json=EMPLOYER).status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", " "),
        ("name", "\x1f"),
        ("name", None),
        ("contact_email", "hiring"),
        ("contact_email", None),
        ("is_school", "maybe"),
    ],
)
def test_create_employer_with_a_bad_field_is_422_naming_it(client, refused, field, value):
    response = refused("POST", "/api/v1/employers", json={**EMPLOYER, field: value})

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == [field]


def test_list_employers_filters_by_part_of_the_name_in_any_case(client, session):
    EmployerFactory(name="Initech")
    EmployerFactory(name="Globex")
    EmployerFactory(name="Initrode")

    response = client.get("/api/v1/employers?name=INIT")

    assert [row["name"] for row in response.json["items"]] == ["Initech", "Initrode"]
    assert pagination(response)["total"] == 2


def test_list_employers_with_a_blank_name_filter_lists_all(client, session):
    EmployerFactory()
    EmployerFactory()

    assert pagination(client.get("/api/v1/employers?name="))["total"] == 2


def test_get_employer_unknown_is_404(client):
    assert client.get("/api/v1/employers/8").status_code == 404
    assert client.get(f"/api/v1/employers/{10**30}").status_code == 404


def test_a_record_written_through_the_api_is_in_the_audit_log_with_its_actor(client, session):
    from sqlalchemy import select

    from app.models import AuditEvent

    response = client.post(
        "/api/v1/students", json={"name": "Ada", "email": "ada@audit.example", "country": "GB"}
    )

    assert response.status_code == 201
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action.like("api.%")))
    assert event.action == "api.people_create_student"
    # The registrar token acts as its account: the audit log names the person.
    assert event.actor.startswith("registrar:") and event.target == "/api/v1/students"


def test_create_student_strips_the_name_whose_length_counts_as_sent(client, refused):
    stripped = client.post("/api/v1/students", json={**STUDENT, "name": "  Ada Lovelace  "})
    too_long = refused("POST", "/api/v1/students", json={**STUDENT, "name": " " * 5 + "x" * 196})

    assert stripped.status_code == 201
    assert stripped.json["name"] == "Ada Lovelace"
    # The document counts the characters sent, as the API does: 201 is more than 200.
    assert too_long.status_code == 422
    assert list(too_long.json["errors"]["json"]) == ["name"]


@pytest.mark.parametrize("value", [0, 1, "true", "yes", None])
def test_create_employer_with_is_school_not_a_json_boolean_is_422(refused, value):
    response = refused("POST", "/api/v1/employers", json={**EMPLOYER, "is_school": value})

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["is_school"]
