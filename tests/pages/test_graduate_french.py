"""The graduate's pages for a reader who chose French: /me, each form, their errors and refusals
say it in French, with amounts and dates as France writes them."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from app.guarantee.rules import guarantee_deadline
from app.guarantee.terms import EmploymentType
from app.models import JobOutcome, Role, SearchActivity, SearchPause
from app.models.base import utc_now
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    TuitionPaymentFactory,
    UserFactory,
)
from tests.pages.conftest import post_form

NEW_JOB = "/me/jobs/new"


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def today() -> date:
    return utc_now().date()


@pytest.fixture
def french_graduate(session, today):
    """A graduate who chose French, five weeks into a window that asks for 3 applications a week
    (none logged), with a €30,000 pay floor, pauses allowed, and a job under the floor."""
    policy = GuaranteePolicyFactory(
        min_annual_salary_minor=3_000_000, weekly_applications=3, max_pause_days=30
    )
    enrollment = EnrollmentFactory(policy=policy)
    TuitionPaymentFactory(enrollment=enrollment, amount_minor=650_000)
    graduation = GraduationFactory(enrollment=enrollment, qualified_on=today - timedelta(days=35))
    job = JobOutcomeFactory(
        graduation=graduation,
        title="Assistant analyste",
        employment_type=EmploymentType.FULL_TIME_PERMANENT,
        in_field=True,
        start_date=today - timedelta(days=2),
        annual_salary_minor=2_000_000,
        salary_currency="EUR",
    )
    user = UserFactory(role=Role.GRADUATE, student=enrollment.student, locale="fr_FR")
    return user, graduation, job


def test_me_for_a_french_reader_is_in_french_with_french_amounts_dates_and_reasons(
    client, sign_in, french_graduate
):
    user, graduation, _job = french_graduate
    sign_in(user)

    page = text_of(client.get("/me"))

    assert '<html lang="fr"' in page
    for sentence in (
        "Ma garantie d’emploi",
        "Date limite de début d’un emploi qualifiant",
        "Jours restants",
        "Vos conditions",
        "Emplois déclarés",
        "Vos obligations de recherche",
        "Tant que votre période est ouverte, vos conditions demandent\u00a0:",
        "3 candidatures par semaine",
        "Obligations non respectées",
        "Vos documents",
        "Votre demande de remboursement",
    ):
        assert sentence in page, sentence
    # Amounts and dates as France writes them.
    assert "Au moins 30\u202f000,00\u00a0€ par an" in page
    assert "6\u202f500,00\u00a0€" in page
    policy = graduation.enrollment.policy
    deadline = guarantee_deadline(
        graduation.qualified_on, policy.window_months, policy.window_starts
    )
    assert format_date(deadline, "medium", locale="fr_FR") in page
    # The rule's reasons, said again in French (they are stored and served in English).
    assert "Le salaire est inférieur au salaire minimum des conditions" in page
    assert re.search(r"Semaine 1 \(du [^)]+\)\u00a0: 0 candidatures sur 3", page)
    assert "salary is under" not in page
    assert "My job guarantee" not in page


def test_a_reader_without_a_choice_whose_browser_asks_for_french_reads_me_in_french(
    client, session, sign_in, french_graduate
):
    user, _graduation, _job = french_graduate
    user.locale = None
    session.flush()
    sign_in(user)

    page = text_of(client.get("/me", headers={"Accept-Language": "fr-FR,fr;q=0.9"}))

    assert "Ma garantie d’emploi" in page


@pytest.mark.parametrize(
    ("path", "sentences"),
    [
        (
            NEW_JOB,
            [
                "Déclarer un emploi ou une offre",
                "Intitulé du poste",
                "Type de contrat",
                "L’emploi est-il dans le domaine de vos études\u00a0?",
                "Salaire annuel brut (facultatif)",
                "Salaire de base annuel brut, hors primes, par exemple 42\u202f000.",
                "Déclarer cet emploi",
            ],
        ),
        (
            "/me/search/new?kind=application",
            ["Enregistrer une candidature", "Le jour de votre candidature."],
        ),
        (
            "/me/search/new?kind=offer",
            ["Enregistrer une offre d’emploi", "L’offre", "Votre réponse pour l’instant"],
        ),
        ("/me/messages", ["Messages qui vous ont été envoyés", "Aucun message pour l’instant."]),
    ],
)
def test_each_graduate_form_for_a_french_reader_is_in_french(
    client, sign_in, french_graduate, path, sentences
):
    user, _graduation, _job = french_graduate
    sign_in(user)

    page = text_of(client.get(path))

    for sentence in sentences:
        assert sentence in page, sentence


def test_the_correction_form_for_a_french_reader_is_in_french_with_the_salary_as_france_types_it(
    client, sign_in, french_graduate
):
    user, _graduation, job = french_graduate
    sign_in(user)

    page = text_of(client.get(f"/me/jobs/{job.id}/edit"))

    assert "Corriger Assistant analyste" in page
    assert "Retirer cet emploi" in page
    assert "Enregistrer la correction" in page
    assert 'value="20\u202f000"' in page


def test_a_french_reader_reporting_a_job_sees_french_field_errors_and_nothing_is_stored(
    client, session, sign_in, french_graduate, today
):
    user, graduation, _job = french_graduate
    sign_in(user)
    before = count(session, JobOutcome)

    response = post_form(
        client,
        NEW_JOB,
        {
            "graduation_id": str(graduation.id),
            "employer_id": "new",
            "new_employer_name": "Acme",
            "new_employer_email": "rh@acme.example",
            "title": "",
            "employment_type": "full_time_permanent",
            "in_field": "yes",
            "start_date": today.isoformat(),
            "annual_salary": "42.000",
            "salary_currency": "EUR",
        },
        token_from=NEW_JOB,
    )

    assert response.status_code == 400
    page = text_of(response)
    assert "Saisissez l’intitulé du poste." in page
    assert "42.000 peut se lire de deux façons" in page
    assert count(session, JobOutcome) == before


def test_a_french_reader_logging_a_future_application_is_refused_in_french(
    client, session, sign_in, french_graduate, today
):
    user, graduation, _job = french_graduate
    sign_in(user)

    response = post_form(
        client,
        "/me/search/new",
        {
            "kind": "application",
            "graduation_id": str(graduation.id),
            "occurred_on": (today + timedelta(days=3)).isoformat(),
            "employer_name": "Acme",
            "position": "Analyste",
        },
        token_from="/me/search/new?kind=application",
    )

    assert response.status_code == 400
    assert "Ne peut pas être dans le futur." in text_of(response)
    assert count(session, SearchActivity) == 0


def test_a_french_reader_pausing_with_no_first_day_is_refused_in_french(
    client, session, sign_in, french_graduate, today
):
    user, graduation, _job = french_graduate
    sign_in(user)
    prefix = f"pause-{graduation.id}-"

    response = post_form(
        client,
        f"/me/graduations/{graduation.id}/pauses",
        {
            f"{prefix}starts_on": "",
            f"{prefix}ends_on": (today + timedelta(days=5)).isoformat(),
            f"{prefix}reason": "illness",
            f"{prefix}note": "",
        },
        token_from="/me",
    )

    assert response.status_code == 400
    page = text_of(response)
    assert "Rien n’a été enregistré" in page
    assert "Saisissez le premier jour de la suspension." in page
    assert count(session, SearchPause) == 0


def test_a_french_reader_pausing_past_the_deadline_reads_the_day_as_france_writes_it(
    client, session, sign_in, french_graduate, today
):
    user, graduation, _job = french_graduate
    sign_in(user)
    policy = graduation.enrollment.policy
    deadline = guarantee_deadline(
        graduation.qualified_on, policy.window_months, policy.window_starts
    )
    prefix = f"pause-{graduation.id}-"

    response = post_form(
        client,
        f"/me/graduations/{graduation.id}/pauses",
        {
            f"{prefix}starts_on": (deadline + timedelta(days=1)).isoformat(),
            f"{prefix}ends_on": (deadline + timedelta(days=5)).isoformat(),
            f"{prefix}reason": "illness",
            f"{prefix}note": "",
        },
        token_from="/me",
    )

    assert response.status_code == 400
    page = text_of(response)
    written = format_date(deadline, "medium", locale="fr_FR")
    assert f"La période se termine le {written}" in page
    assert f"le {deadline.isoformat()}" not in page
    assert count(session, SearchPause) == 0


def test_an_english_reader_still_reads_me_in_english(client, session, sign_in, french_graduate):
    user, _graduation, _job = french_graduate
    user.locale = None
    session.flush()
    sign_in(user)

    page = text_of(client.get("/me"))

    assert "My job guarantee" in page
    assert "The salary is under the policy's pay floor" in page
