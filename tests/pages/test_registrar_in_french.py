"""The registrar's pages read in French for a registrar whose account says so: every page, a
form's refusal, a service's refusal, a flash and the problems of an import's lines."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from app.models import Role, Student
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    ProgrammeFactory,
    StudentFactory,
    UserFactory,
)
from tests.pages.conftest import post_form

NBSP = "\u00a0"


@pytest.fixture
def registrar(sign_in):
    user = UserFactory(role=Role.REGISTRAR, locale="fr_FR")
    sign_in(user)
    return user


def post(client, path, data, **kwargs):
    return post_form(client, path, data, token_from="/registrar", **kwargs)


def upload(client, kind: str, data: bytes):
    return post(
        client,
        "/registrar/import",
        {"kind": kind, "file": (io.BytesIO(data), "rows.csv")},
        content_type="multipart/form-data",
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def graduated(session):
    programme = ProgrammeFactory(name="Data Science", currency="EUR")
    policy = GuaranteePolicyFactory(programme=programme, effective_from=date(2024, 1, 1))
    enrollment = EnrollmentFactory(programme=programme, policy=policy, signed_on=date(2024, 2, 1))
    GraduationFactory(enrollment=enrollment, qualified_on=date(2024, 12, 20))
    return enrollment


@pytest.mark.parametrize(
    ("path", "sentences"),
    [
        ("/registrar", ["Vue d’ensemble des dossiers", "Enregistré récemment"]),
        ("/registrar/programmes", ["Enregistrer une formation", "Prix catalogue"]),
        (
            "/registrar/programmes/{programme}",
            ["Publier la version 2", "Versions des conditions de la garantie de Data Science"],
        ),
        (
            "/registrar/enrollments",
            ["Inscrire un étudiant", "Rechercher et trier les inscriptions"],
        ),
        (
            "/registrar/enrollments/{enrollment}",
            ["Enregistrer un paiement", "Suspensions et situation exclue", "Questions au diplômé"],
        ),
        ("/registrar/graduations", ["Enregistrer une diplomation", "Garantie aujourd’hui"]),
        ("/registrar/import", ["Importer un fichier CSV", "Colonnes de chaque type de fichier"]),
    ],
)
def test_each_registrar_page_reads_in_french_for_a_french_registrar(
    client, registrar, graduated, path, sentences
):
    response = client.get(path.format(programme=graduated.programme_id, enrollment=graduated.id))

    assert response.status_code == 200
    page = text_of(response)
    assert 'lang="fr"' in page
    for sentence in sentences:
        assert sentence in page


def test_a_french_registrar_reads_a_form_error_in_french(client, session, registrar, graduated):
    response = post(client, "/registrar/graduations", {"enrollment_id": str(graduated.id)})

    assert response.status_code == 400
    page = text_of(response)
    assert "Saisissez le jour où l’étudiant(e) a été diplômé(e)." in page
    assert "Rien n’a été enregistré." in page


def test_a_french_registrar_reads_a_record_services_refusal_in_french(client, session, registrar):
    StudentFactory(email="ada@example.org")

    response = post(
        client,
        "/registrar/students",
        {"student-name": "Ada", "student-email": "ada@example.org", "student-country": "GB"},
    )

    assert response.status_code == 409
    assert "Un étudiant avec l’adresse ada@example.org existe déjà." in text_of(response)


def test_a_french_registrar_is_told_in_french_what_was_recorded(client, session, registrar):
    response = post(
        client,
        "/registrar/programmes",
        {"name": "Cybersécurité", "currency": "EUR", "tuition": "6 500,00"},
    )

    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    assert "Formation Cybersécurité enregistrée." in page
    assert "6\u202f500,00\u00a0€" in page


def test_an_import_lists_its_problems_in_french_for_a_french_registrar(client, session, registrar):
    StudentFactory(email="taken@example.org")
    text = (
        "name;email;country\r\n"
        "Ada Lovelace;ada@example.org;GB\r\n"
        "Bad Email;not-an-email;FR\r\n"
        "Taken;taken@example.org;FR\r\n"
        "Short;short@example.org\r\n"
    )

    response = upload(client, "students", text.encode("utf-8"))

    assert response.status_code == 400
    page = text_of(response)
    assert "4 lignes vérifiées sur 4" in page
    assert "3 lignes avec des problèmes (3 en tout)." in page
    assert "<tr><td>3</td><td>email</td><td>Adresse électronique non valide.</td></tr>" in page
    assert (
        "<tr><td>4</td><td>email</td><td>un étudiant avec l’adresse taken@example.org existe"
        " déjà</td></tr>" in page
    )
    assert "a 2 valeurs mais l’en-tête nomme 3 colonnes" in page
    assert session.scalar(select(Student.id).where(Student.email == "ada@example.org")) is None


def test_a_file_french_excel_saved_and_the_same_english_excel_saved_import_the_same_rows(
    client, session, registrar
):
    """French Excel writes semicolons in Windows-1252; English Excel commas in UTF-8 with a byte
    order mark. Through the page, both give the same students (the first with a warning)."""
    rows = [
        ("name", "email", "country"),
        ("Chloé Dupré", "chloe@example.fr", "FR"),
        ("François Lefèvre", "francois@example.ca", "CA"),
    ]
    french = "".join(";".join(row) + "\r\n" for row in rows).encode("windows-1252")
    english = b"\xef\xbb\xbf" + "".join(",".join(row) + "\r\n" for row in rows).encode("utf-8")
    imported = []
    for data in (french, english):
        response = upload(client, "students", data)
        assert response.status_code == 302, text_of(response)[:2000]
        page = text_of(client.get("/registrar/import"))
        assert ("lu en Windows-1252" in page) == (data is french)
        assert f"2 lignes vérifiées sur 2{NBSP}: 2 lignes enregistrées (étudiants)." in page
        students = session.scalars(select(Student).where(Student.email.like("%@example.%"))).all()
        imported.append(sorted((s.name, s.email, s.country) for s in students))
        for student in students:
            session.delete(student)
        session.flush()

    assert imported[0] == imported[1] == sorted(rows[1:])
