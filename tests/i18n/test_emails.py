"""Every email is written in its reader's language: each template renders in English and in
French (French subject, no English sentence), and each kind of recipient gets their own
language: a graduate's choice, else what their browser asked for at sign-in; an employer's
account, else the graduate who named them, else the school's."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from app import catalogue
from app.mail import Reader, render
from app.models import Role
from app.models.base import utc_now
from app.services.claim_notices import send_claim_notices
from app.services.confirmations import request_confirmation, send_confirmation_email
from app.services.readers import employer_reader, graduate_reader, shared_reader
from refunds.states import ClaimState
from tests.factories import (
    ClaimTransitionFactory,
    JobOutcomeFactory,
    RefundClaimFactory,
    StudentFactory,
    UserFactory,
)
from tests.signing_in import sign_in_client

TEMPLATES = sorted(
    path.stem
    for path in (catalogue.ROOT / "templates" / "email").glob("*.txt")
    if not path.stem.startswith("_")
)

_SHARES = [
    SimpleNamespace(amount="1 500,00 €", to="Visa 4242", on=date(2026, 3, 2)),
    SimpleNamespace(amount="2 000,00 €", to="Visa 4242", on=None),
]
_APPEAL = SimpleNamespace(created_at=datetime(2026, 2, 10, 9, 0, tzinfo=UTC))
_LINK = "https://guarantee.example/link/abc"

#: A representative context of each email, with data that reads the same in both languages.
CONTEXTS = {
    "account_invitation": {"name": "Zoé Martin", "purpose": "", "link": _LINK, "days": 7},
    "appeal_decided": {
        "name": "Zoé Martin",
        "programme": "Développement Web",
        "state": "rejected",
        "appeal": _APPEAL,
        "on": date(2026, 2, 20),
        "amount": "6 500,00 €",
        "note": "Lettre reçue.",
    },
    "appeal_received": {
        "name": "Zoé Martin",
        "programme": "Développement Web",
        "reasons": "Hôpital.",
        "on": date(2026, 2, 10),
    },
    "claim_approved": {
        "name": "Zoé Martin",
        "programme": "Développement Web",
        "amount": "6 500,00 €",
        "on": date(2026, 2, 20),
        "note": "Lettre reçue.",
    },
    "claim_opened": {
        "name": "Zoé Martin",
        "programme": "Développement Web",
        "amount": "6 500,00 €",
        "on": date(2026, 2, 1),
    },
    "claim_refunded": {
        "name": "Zoé Martin",
        "programme": "Développement Web",
        "amount": "3 500,00 €",
        "shares": _SHARES,
        "note": None,
    },
    "claim_rejected": {
        "name": "Zoé Martin",
        "programme": "Développement Web",
        "on": date(2026, 2, 20),
        "note": None,
    },
    "claim_settled_manually": {
        "name": "Zoé Martin",
        "programme": "Développement Web",
        "shares": _SHARES,
        "note": "Virement SEPA.",
    },
    "deadline_approaching": {
        "name": "Zoé Martin",
        "programme": "Développement Web",
        "deadline": date(2026, 6, 30),
        "days_left": 7,
        "as_of": date(2026, 6, 23),
    },
    "email_change": {"name": "Zoé Martin", "link": _LINK, "minutes": 30},
    "employer_reminder": {
        "graduate_name": "Zoé Martin",
        "employer_name": "Société Générale",
        "title": "Développeuse",
        "start_date": date(2026, 4, 1),
        "employment_type": "CDI",
        "requested_on": datetime(2026, 3, 20, 10, 0, tzinfo=UTC),
        "link": _LINK,
        "expires_at": datetime(2026, 4, 10, 10, 0, tzinfo=UTC),
    },
    "falling_behind": {
        "name": "Zoé Martin",
        "programme": "Développement Web",
        "as_of": date(2026, 5, 6),
        "todo": ["Candidatures : 2."],
        "missed": ["Semaine 3."],
        "week_number": 4,
        "week_ends_on": date(2026, 5, 10),
        "deadline": date(2026, 6, 30),
    },
    "hire_confirmation": {
        "graduate_name": "Zoé Martin",
        "employer_name": "Société Générale",
        "title": "Développeuse",
        "start_date": date(2026, 4, 1),
        "employment_type": "CDI",
        "link": _LINK,
        "expires_at": datetime(2026, 4, 15, 10, 0, tzinfo=UTC),
    },
    "new_claims": {
        "claims": [
            {
                "name": "Zoé Martin",
                "amount": "6 500,00 €",
                "flagged_on": date(2026, 2, 1),
                "state": "ouverte",
                "link": _LINK,
            }
        ]
    },
    "password_reset": {"name": "Zoé Martin", "link": _LINK, "minutes": 30},
}

#: Each email's subject in both languages (with the context above).
SUBJECTS = {
    "account_invitation": (
        "Your École Lumière account: choose a password",
        "Votre compte École Lumière\u00a0: choisissez un mot de passe",
    ),
    "appeal_decided": (
        "Your appeal was heard: the rejection stands",
        "Votre recours a été examiné\u00a0: le refus est maintenu",
    ),
    "appeal_received": ("We received your appeal", "Nous avons reçu votre recours"),
    "claim_approved": (
        "Your refund claim was approved",
        "Votre demande de remboursement a été approuvée",
    ),
    "claim_opened": ("Your refund claim is open", "Votre demande de remboursement est ouverte"),
    "claim_refunded": (
        "Your refund of 3 500,00 € was paid",
        "Votre remboursement de 3 500,00 € a été payé",
    ),
    "claim_rejected": (
        "Your refund claim was rejected",
        "Votre demande de remboursement a été refusée",
    ),
    "claim_settled_manually": (
        "Your refund was paid by bank transfer",
        "Votre remboursement a été payé par virement bancaire",
    ),
    "deadline_approaching": (
        "Your job guarantee deadline is in 7 days",
        "L’échéance de votre garantie d’emploi est dans 7 jours",
    ),
    "email_change": ("Confirm your new email address", "Confirmez votre nouvelle adresse e-mail"),
    "employer_reminder": (
        "Reminder: please confirm the hire of Zoé Martin",
        "Rappel\u00a0: merci de confirmer le recrutement de Zoé Martin",
    ),
    "falling_behind": (
        "You are behind on your job search (week 4 of your window)",
        "Vous êtes en retard sur votre recherche d’emploi (semaine 4 de votre période de garantie)",
    ),
    "hire_confirmation": (
        "Please confirm the hire of Zoé Martin",
        "Merci de confirmer le recrutement de Zoé Martin",
    ),
    "new_claims": (
        "New refund claim to review: Zoé Martin",
        "Nouvelle demande de remboursement à examiner\u00a0: Zoé Martin",
    ),
    "password_reset": ("Reset your password", "Réinitialisez votre mot de passe"),
}

#: Words any English sentence holds and no French one does.
_ENGLISH = re.compile(
    r"\b(the|your|you|and|was|were|is|are|we|will|this|it|to|of|for|with|from|on|by|if)\b",
    re.I,
)
_ADDRESSES = re.compile(r"https?://\S+|mailto:\S+|[\w.+-]+@[\w.-]+")


def english_words(text: str) -> list[str]:
    """The English words of ``text``, outside its addresses and markup."""
    prose = re.sub(r"<[^>]*>", " ", _ADDRESSES.sub(" ", text))
    return _ENGLISH.findall(prose)


@pytest.fixture
def school(app):
    app.config.update(SCHOOL_NAME="École Lumière", MAIL_REPLY_TO="garantie@ecole-lumiere.example")
    return app


def test_every_email_template_has_a_context_here():
    assert sorted(CONTEXTS) == TEMPLATES == sorted(SUBJECTS)


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_email_is_written_in_english_and_in_french(school, template):
    english_subject, french_subject = SUBJECTS[template]
    with school.app_context():
        english = render(template, reader=Reader(locale="en_GB"), **CONTEXTS[template])
        french = render(template, reader=Reader(locale="fr_FR"), **CONTEXTS[template])

    assert english.subject == english_subject
    assert english_words(english.text), "the English email is English"
    assert french.subject == french_subject
    assert english_words(french.subject) == []
    assert english_words(french.text) == []
    assert english_words(french.html) == []
    assert '<html lang="fr">' in french.html
    assert french.text != english.text


def test_an_email_names_its_days_as_the_reader_writes_them(school):
    context = CONTEXTS["deadline_approaching"]
    with school.app_context():
        english = render("deadline_approaching", reader=Reader(locale="en_GB"), **context)
        french = render("deadline_approaching", reader=Reader(locale="fr_FR"), **context)

    assert "Tuesday 30 June 2026, 7 days from 23 June 2026" in english.text
    assert "mardi 30 juin 2026, dans 7 jours à compter du 23 juin 2026" in french.text


def test_an_instant_in_an_email_is_the_day_it_is_where_the_reader_lives(school):
    """The link expires at 02:00 UTC on the 15th: still the 14th in Toronto."""
    context = {
        **CONTEXTS["hire_confirmation"],
        "expires_at": datetime(2026, 4, 15, 2, 0, tzinfo=UTC),
    }
    with school.app_context():
        paris = render("hire_confirmation", reader=Reader("fr_FR", "Europe/Paris"), **context)
        toronto = render("hire_confirmation", reader=Reader("fr_CA", "America/Toronto"), **context)

    assert "jusqu’au 15 avril 2026" in paris.text
    assert "jusqu’au 14 avril 2026" in toronto.text


def _flagged_claim(session):
    claim = RefundClaimFactory(state=ClaimState.FLAGGED, amount_minor=650_000, currency="EUR")
    ClaimTransitionFactory(claim=claim, at=utc_now())
    return claim


def _notify(app, session_factory):
    with app.app_context():
        return send_claim_notices(session_factory, utc_now())


def test_a_graduate_who_chose_french_gets_their_claim_notice_in_french_through_smtp(
    app, session, session_factory, mailbox
):
    claim = _flagged_claim(session)
    student = claim.enrollment.student
    UserFactory(role=Role.GRADUATE, student=student, email=student.email, locale="fr_FR")
    session.commit()

    _notify(app, session_factory)

    message = mailbox.only()
    assert message["Subject"] == "Votre demande de remboursement est ouverte"
    text = mailbox.body(message)
    assert f"Bonjour {student.name}," in text
    assert "6\u202f500,00\u00a0€" in text, "the amount as French writes it"
    programme = claim.enrollment.programme.name
    data = (programme, student.name, app.config["SCHOOL_NAME"])
    assert english_words(re.sub("|".join(map(re.escape, data)), "", text)) == []


def test_a_graduate_who_chose_nothing_gets_the_language_their_browser_asked_for_at_sign_in(
    app, session, session_factory, mailbox
):
    claim = _flagged_claim(session)
    student = claim.enrollment.student
    graduate = UserFactory(role=Role.GRADUATE, student=student, email=student.email)
    session.commit()
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-CA,fr;q=0.8,en;q=0.5"
    assert sign_in_client(browser, graduate).status_code == 302
    session.refresh(graduate)
    assert graduate.locale is None and graduate.browser_locale == "fr_CA"

    _notify(app, session_factory)

    message = mailbox.only()
    assert message["Subject"] == "Votre demande de remboursement est ouverte"
    assert "6\u00a0500,00\u00a0€" in mailbox.body(message), "as Quebec writes euros"


def test_a_language_chosen_beats_the_one_the_browser_asked_for(app, session):
    graduate = UserFactory(locale="en_GB", browser_locale="fr_FR")
    with app.app_context():
        email = render("password_reset", reader=graduate, **CONTEXTS["password_reset"])
    assert email.subject == "Reset your password"


def test_a_browser_that_asks_for_nothing_we_write_keeps_the_locale_remembered(app, session):
    graduate = UserFactory(browser_locale="fr_FR")
    session.commit()
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE"
    assert sign_in_client(browser, graduate).status_code == 302
    session.refresh(graduate)
    assert graduate.browser_locale == "fr_FR"


def test_a_graduate_without_account_reads_the_schools_language_in_their_countrys_time(app, session):
    student = StudentFactory(country="CA")
    with app.app_context():
        reader = graduate_reader(student)
    assert reader == Reader(locale=None, time_zone="America/Toronto")


def test_an_employers_contact_with_an_account_reads_its_language(app, session):
    outcome = JobOutcomeFactory()
    contact = UserFactory(
        role=Role.EMPLOYER,
        employer=outcome.employer,
        email=outcome.employer.contact_email,
        locale="fr_CA",
    )
    student = outcome.graduation.enrollment.student
    UserFactory(role=Role.GRADUATE, student=student, email=student.email, locale="en_US")
    with app.app_context():
        assert employer_reader(outcome) is contact


def test_an_employers_contact_without_account_reads_the_language_of_the_graduate_who_named_them(
    app, session, mailbox
):
    outcome = JobOutcomeFactory(title="Développeuse", start_date=date(2026, 4, 1))
    student = outcome.graduation.enrollment.student
    UserFactory(
        role=Role.GRADUATE,
        student=student,
        email=student.email,
        locale="fr_FR",
        time_zone="Europe/Paris",
    )
    confirmation = request_confirmation(session, outcome)
    with app.app_context():
        assert employer_reader(outcome) == Reader(locale="fr_FR", time_zone="Europe/Paris")
        assert send_confirmation_email(confirmation)

    message = mailbox.only()
    assert message["Subject"] == f"Merci de confirmer le recrutement de {student.name}"
    assert "1 avril 2026" in mailbox.body(message)


def test_an_employers_contact_nobody_chose_a_language_for_reads_the_schools(app, session):
    outcome = JobOutcomeFactory()
    app.config["DEFAULT_LOCALE"] = "fr_FR"
    with app.app_context():
        reader = employer_reader(outcome)
        email = render("hire_confirmation", reader=reader, **CONTEXTS["hire_confirmation"])
    assert reader.locale == "fr_FR"
    assert email.subject == "Merci de confirmer le recrutement de Zoé Martin"


def test_finance_s_digest_is_in_the_language_every_reader_shares_else_the_schools(app, session):
    ada = UserFactory(role=Role.FINANCE, locale="fr_FR")
    grace = UserFactory(role=Role.FINANCE, browser_locale="fr_CA")
    alan = UserFactory(role=Role.FINANCE, locale="en_US")
    with app.app_context():
        assert shared_reader(session, [ada.email]) is ada
        assert shared_reader(session, [ada.email, alan.email]) == Reader()
        assert shared_reader(session, [ada.email, grace.email]) == Reader()
