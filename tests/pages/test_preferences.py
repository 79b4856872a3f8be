"""Each person's language, formats and time zone: chosen, else the browser's, else the school's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.i18n import for_account
from app.models import AuditEvent, Role, TuitionPayment
from app.pages.formatting import day, money
from tests.factories import (
    EnrollmentFactory,
    StudentFactory,
    TuitionPaymentFactory,
    UserFactory,
)
from tests.pages.conftest import post_form

FRENCH_CANADA = {"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}


def test_a_browser_asking_for_french_canadian_gets_french_and_quebec_formats(
    client, session, sign_in
):
    registrar = UserFactory(role=Role.REGISTRAR)
    sign_in(registrar)
    enrollment = EnrollmentFactory()
    TuitionPaymentFactory(enrollment=enrollment, amount_minor=650000, currency="EUR")

    preferences = client.get("/account/preferences", headers=FRENCH_CANADA).get_data(as_text=True)
    page = client.get(f"/registrar/enrollments/{enrollment.id}", headers=FRENCH_CANADA).get_data(
        as_text=True
    )

    assert '<html lang="fr">' in preferences and "Langue et fuseau horaire" in preferences
    assert "6\xa0500,00\xa0€" in page  # as Quebec writes it, not €6,500.00


def test_the_account_choice_wins_over_the_browser_and_the_browser_over_the_school(
    client, session, sign_in
):
    user = UserFactory(role=Role.REGISTRAR, locale="en_US")
    sign_in(user)
    assert '<html lang="en">' in client.get("/registrar", headers=FRENCH_CANADA).get_data(
        as_text=True
    )
    user.locale = None
    session.flush()
    assert '<html lang="fr">' in client.get("/registrar", headers=FRENCH_CANADA).get_data(
        as_text=True
    )
    school = client.get("/registrar", headers={"Accept-Language": "de-DE"})  # not offered
    assert '<html lang="en">' in school.get_data(as_text=True)  # DEFAULT_LOCALE en_GB


def test_saving_preferences_applies_and_audits_them(client, session, sign_in):
    user = UserFactory(role=Role.GRADUATE, student=StudentFactory(country="CA"))
    sign_in(user)

    response = post_form(
        client,
        "/account/preferences",
        {"locale": "fr_CA", "time_zone": "America/Vancouver"},
        token_from="/account/preferences",
    )

    assert response.status_code == 302
    session.refresh(user)
    assert (user.locale, user.time_zone) == ("fr_CA", "America/Vancouver")
    page = client.get("/account/preferences").get_data(as_text=True)
    assert "Vos préférences sont enregistrées." in page and "America/Vancouver" in page
    [event] = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "account.preferences_changed")
    )
    assert event.actor == user.actor


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"locale": "xx_YY", "time_zone": ""}, "locale"),
        ({"locale": "", "time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ],
)
def test_a_choice_not_offered_is_refused_and_saves_nothing(client, session, sign_in, data, field):
    user = UserFactory(role=Role.FINANCE)
    sign_in(user)

    response = post_form(client, "/account/preferences", data, token_from="/account/preferences")

    assert response.status_code == 400
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    session.refresh(user)
    assert (user.locale, user.time_zone) == (None, None)


def test_times_are_shown_in_the_readers_zone_their_choice_else_their_country(app, session):
    moment = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)
    in_quebec = UserFactory(role=Role.GRADUATE, student=StudentFactory(country="CA"))
    in_quebec.locale = "fr_CA"
    in_california = UserFactory(
        role=Role.GRADUATE,
        student=StudentFactory(country="US"),
        locale="en_US",
        time_zone="America/Los_Angeles",
    )
    with app.test_request_context():
        with for_account(in_quebec):
            quebec = (day(moment), money(4200050, "CAD"))
        with for_account(in_california):
            california = day(moment)
        school = day(moment)

    assert quebec == ("5 déc. 2026, 13 h 00 (Toronto)", "42\xa0000,50\xa0$")
    assert california == "Dec 5, 2026, 10:00\u202fAM (Los Angeles)"
    assert school == "5 Dec 2026, 19:00 (Paris)"  # the school's zone, Europe/Paris


def test_a_registrar_writing_french_numbers_records_the_amount_they_meant(client, session, sign_in):
    sign_in(UserFactory(role=Role.REGISTRAR, locale="fr_FR"))
    enrollment = EnrollmentFactory()

    response = post_form(
        client,
        f"/registrar/enrollments/{enrollment.id}/payments",
        {
            "amount": "6 500,50",
            "currency": "EUR",
            "paid_on": "2026-03-02",
            "paid_time": "09:30",
            "payer_type": "student",
        },
        token_from="/registrar",
    )

    assert response.status_code == 302
    [payment] = session.scalars(select(TuitionPayment))
    assert payment.amount_minor == 650050


def test_a_sentence_wrapped_over_lines_in_a_template_is_found_in_the_catalogue(
    client, session, sign_in
):
    """{% trans %} blocks are looked up trimmed, as they were extracted: line breaks inside a
    sentence do not hide its translation."""
    sign_in(UserFactory(role=Role.REGISTRAR, locale="fr_FR"))
    page = client.get("/account/preferences").get_data(as_text=True)
    assert "Les pages et les courriels sont rédigés dans la langue choisie" in page


def test_the_api_answers_in_english_whatever_the_browser_asks(app):
    from app.i18n import select_locale

    with app.test_request_context("/api/v1/students/1", headers=FRENCH_CANADA):
        assert select_locale() == "en_GB"
    with app.test_request_context("/account/preferences", headers=FRENCH_CANADA):
        assert select_locale() == "fr_CA"
