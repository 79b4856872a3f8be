"""Employers answering a hire confirmation: from the emailed link, and from their account."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.guarantee.terms import EmploymentType, OutcomeStatus
from app.models import AuditEvent, ConfirmationAnswer, HireConfirmation
from app.models.base import utc_now
from app.services.confirmations import request_confirmation, send_confirmation_email
from tests.factories import TEST_PASSWORD, JobOutcomeFactory
from tests.pages.conftest import post_form


def ask(session, **outcome_fields) -> HireConfirmation:
    """A reported job and the request to its employer to confirm it."""
    outcome = JobOutcomeFactory(
        title="Backend developer",
        annual_salary_minor=5_123_400,
        salary_currency="EUR",
        **outcome_fields,
    )
    return request_confirmation(session, outcome)


def emailed_link(app, mailbox, confirmation: HireConfirmation) -> str:
    """Send the confirmation email for real and return the path of the link it carries."""
    with app.test_request_context():
        assert send_confirmation_email(confirmation)
    message = mailbox.messages[-1]
    assert message["To"] == confirmation.sent_to
    return mailbox.link_path(message)


def answer_by_link(client, link: str, data: dict, *, token_from: str | None = None):
    """Post an answer as the employer's browser would; the CSRF token comes from the link's
    page, or from ``token_from`` when that page no longer has a form (the token is per session).
    """
    return post_form(client, link, data, token_from=token_from or link)


def hire_events(session) -> int:
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("hire.%"))
    )


@pytest.fixture
def confirmation(session):
    return ask(session, start_date=date(2026, 1, 5))


def test_link_page_shows_only_name_title_start_and_contract(
    app, client, session, mailbox, confirmation
):
    other = ask(session)

    page = client.get(emailed_link(app, mailbox, confirmation)).get_data(as_text=True)

    outcome = confirmation.job_outcome
    assert outcome.graduation.enrollment.student.name in page
    assert "Backend developer" in page and "5 Jan 2026" in page
    assert "full time permanent" in page
    assert "51,234" not in page and "€" not in page  # no salary, no refund amounts
    assert other.job_outcome.graduation.enrollment.student.name not in page


def test_link_used_twice_gets_a_gone_page_and_changes_nothing(
    app, client, session, mailbox, confirmation
):
    link = emailed_link(app, mailbox, confirmation)
    first = answer_by_link(client, link, {"decision": "confirm"})
    assert first.status_code == 302

    again = answer_by_link(
        client, link, {"decision": "deny", "comment": "changed my mind"}, token_from="/sign-in"
    )

    assert again.status_code == 410
    assert "was used already" in again.get_data(as_text=True)
    assert client.get(link).status_code == 410
    session.refresh(confirmation)
    session.refresh(confirmation.job_outcome)
    assert confirmation.answer is ConfirmationAnswer.CONFIRMED and confirmation.comment is None
    assert confirmation.job_outcome.status is OutcomeStatus.CONFIRMED
    assert hire_events(session) == 1


def test_expired_link_gets_a_gone_page_and_changes_nothing(
    app, client, session, mailbox, confirmation
):
    confirmation.expires_at = utc_now() - timedelta(minutes=1)
    session.commit()
    link = emailed_link(app, mailbox, confirmation)

    assert client.get(link).status_code == 410
    response = answer_by_link(client, link, {"decision": "deny"}, token_from="/sign-in")

    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    session.refresh(confirmation)
    assert confirmation.answered_at is None
    assert confirmation.job_outcome.status is OutcomeStatus.REPORTED


def test_tampered_link_is_not_found_and_changes_nothing(
    app, client, session, mailbox, confirmation
):
    link = emailed_link(app, mailbox, confirmation)
    tampered = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")

    assert client.get(tampered).status_code == 404
    response = answer_by_link(client, tampered, {"decision": "deny"}, token_from=link)

    assert response.status_code == 404
    assert "not valid" in response.get_data(as_text=True)
    assert client.get("/confirm/not-a-token").status_code == 404
    session.refresh(confirmation)
    assert confirmation.answered_at is None


def test_link_answer_without_csrf_token_is_refused(app, client, session, mailbox, confirmation):
    link = emailed_link(app, mailbox, confirmation)
    client.get(link)

    response = client.post(link, data={"decision": "deny"})

    assert response.status_code == 400
    session.refresh(confirmation)
    assert confirmation.answered_at is None


def test_link_answer_corrects_the_contract_type_and_audits_the_answer(
    app, client, session, mailbox, confirmation
):
    response = answer_by_link(
        client,
        emailed_link(app, mailbox, confirmation),
        {"decision": "confirm", "employment_type": EmploymentType.FIXED_TERM_CONTRACT.value},
    )

    assert response.status_code == 302
    session.refresh(confirmation)
    outcome = confirmation.job_outcome
    session.refresh(outcome)
    assert confirmation.answered_by == "link"
    assert confirmation.corrected_employment_type is EmploymentType.FIXED_TERM_CONTRACT
    assert outcome.employment_type is EmploymentType.FIXED_TERM_CONTRACT
    assert outcome.start_date == date(2026, 1, 5)  # not corrected: left as it was
    assert hire_events(session) == 1


def test_link_answer_without_a_decision_is_shown_again_with_the_error(
    app, client, session, mailbox, confirmation
):
    response = answer_by_link(
        client, emailed_link(app, mailbox, confirmation), {"start_date": "tomorrow"}
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="decision-error">Choose yes or no.' in page
    assert 'id="start_date-error">Not a valid date value.' in page
    session.refresh(confirmation)
    assert confirmation.answered_at is None


def test_employer_account_sees_only_its_companys_pending_confirmations(
    client, session, sign_in, accounts
):
    ours = ask(session, employer=accounts["employer_x"].employer)
    theirs = ask(session, employer=accounts["employer_y"].employer)
    answered = ask(session, employer=accounts["employer_x"].employer)
    answered.answered_at = utc_now()
    session.flush()
    sign_in(accounts["employer_x"])

    page = client.get("/employer").get_data(as_text=True)

    assert ours.job_outcome.graduation.enrollment.student.name in page
    assert theirs.job_outcome.graduation.enrollment.student.name not in page
    assert answered.job_outcome.graduation.enrollment.student.name not in page
    assert "51,234" not in page
    assert f"/employer/confirmations/{ours.id}" in page


def test_employer_account_confirms_its_own_hire_with_a_new_start_date(
    client, session, sign_in, accounts
):
    ours = ask(session, employer=accounts["employer_x"].employer, start_date=date(2026, 2, 2))
    sign_in(accounts["employer_x"])

    response = post_form(
        client,
        f"/employer/confirmations/{ours.id}",
        {"decision": "confirm", "start_date": "2026-02-09"},
        token_from="/employer",
    )

    assert response.status_code == 302 and response.headers["Location"] == "/employer"
    assert "is recorded" in client.get("/employer").get_data(as_text=True)
    session.refresh(ours)
    session.refresh(ours.job_outcome)
    assert ours.answered_by == accounts["employer_x"].actor
    assert ours.job_outcome.start_date == date(2026, 2, 9)
    assert ours.job_outcome.status is OutcomeStatus.CONFIRMED


def test_employer_account_answering_another_companys_confirmation_is_refused_and_audited(
    client, session, sign_in, accounts, audit_survives_rollback
):
    theirs = ask(session, employer=accounts["employer_y"].employer)
    sign_in(accounts["employer_x"])

    response = post_form(
        client,
        f"/employer/confirmations/{theirs.id}",
        {"decision": "deny"},
        token_from="/employer",
    )

    assert response.status_code == 403
    [refusal] = session.scalars(select(AuditEvent).where(AuditEvent.action == "access.refused"))
    assert refusal.actor == accounts["employer_x"].actor
    assert refusal.target == f"confirmation:{theirs.id}"
    session.refresh(theirs)
    assert theirs.answered_at is None


def test_each_role_is_refused_the_others_pages(app, client, sign_in, accounts):
    assert app.test_client().get("/employer").status_code == 302  # anonymous: sign in first
    sign_in(accounts["graduate_a"])
    assert client.get("/employer").status_code == 403

    employer = app.test_client()
    post_form(
        employer,
        "/sign-in",
        {"email": accounts["employer_x"].email, "password": TEST_PASSWORD},
    )
    assert employer.get("/me").status_code == 403


def test_an_employer_whose_browser_asks_for_french_answers_in_french(
    app, client, session, mailbox, confirmation
):
    link = emailed_link(app, mailbox, confirmation)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-FR,fr;q=0.9"

    page = client.get(link).get_data(as_text=True)
    name = confirmation.job_outcome.graduation.enrollment.student.name
    assert f"Avez-vous recruté {name}\u00a0?" in page
    assert "Intitulé du poste" in page and "5 janv. 2026" in page
    assert "CDI" in page or "temps plein" in page.lower()
    assert "Oui, nous l’avons recruté(e)" in page and "Envoyer la réponse" in page

    refused = answer_by_link(client, link, {})
    assert refused.status_code == 400
    assert "Choisissez oui ou non." in refused.get_data(as_text=True)

    answered = answer_by_link(client, link, {"decision": "deny"})
    thanks = client.get(answered.headers["Location"]).get_data(as_text=True)
    assert "Votre réponse est enregistrée\u00a0: l’école va l’examiner." in thanks

    again = client.get(link)
    assert again.status_code == 410
    assert "Ce lien a déjà été utilisé, le " in again.get_data(as_text=True)


def test_an_employer_account_in_french_reads_its_confirmations_in_french(
    client, session, sign_in, accounts
):
    employer = accounts["employer_x"]
    employer.locale = "fr_FR"
    ours = ask(session, employer=employer.employer, start_date=date(2026, 2, 2))
    sign_in(employer)

    page = client.get("/employer").get_data(as_text=True)
    assert "Recrutements à confirmer" in page and "Premier jour" in page

    post_form(
        client,
        f"/employer/confirmations/{ours.id}",
        {"decision": "confirm"},
        token_from="/employer",
    )
    page = client.get("/employer").get_data(as_text=True)
    name = ours.job_outcome.graduation.enrollment.student.name
    assert (
        f"Merci\u00a0: votre réponse au sujet de {name} (Backend developer) est enregistrée."
        in page
    )
