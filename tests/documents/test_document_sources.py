"""Employers, registrars and finance attach documents to the records they concern."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from app.models import Document, DocumentConcerns, DocumentSource, Role
from tests import factories
from tests.documents.conftest import HTML, JPEG, PDF, PNG
from tests.pages.conftest import csrf_token
from tests.pages.test_employer import ask, emailed_link


def _multipart(client, path: str, data: dict, *, token_from: str):
    return client.post(
        path,
        data={**data, "csrf_token": csrf_token(client, token_from)},
        content_type="multipart/form-data",
    )


def test_an_employer_attaches_a_contract_to_the_hire_confirmation_through_its_link(
    app, client, session, mailbox
):
    confirmation = ask(session, start_date=date(2026, 1, 5))
    link = emailed_link(app, mailbox, confirmation)

    answer = _multipart(
        client,
        link,
        {"decision": "confirm", "document": (io.BytesIO(JPEG), "contract scan.jpeg")},
        token_from=link,
    )

    assert answer.status_code == 302
    document = session.scalar(select(Document))
    assert document.source is DocumentSource.EMPLOYER
    assert document.hire_confirmation_id == confirmation.id
    assert (document.concerns_kind, document.concerns_id) == (
        DocumentConcerns.JOB_OUTCOME,
        confirmation.job_outcome_id,
    )
    assert document.filename == "contract-scan.jpg"
    assert document.uploaded_by == "link"


def test_an_employers_html_file_is_refused_and_the_answer_is_not_recorded(
    app, client, session, mailbox
):
    confirmation = ask(session, start_date=date(2026, 1, 5))
    link = emailed_link(app, mailbox, confirmation)

    refused = _multipart(
        client,
        link,
        {"decision": "confirm", "document": (io.BytesIO(HTML), "contract.pdf")},
        token_from=link,
    )

    assert refused.status_code == 422
    assert "Only PDF, PNG or JPEG files are accepted" in refused.get_data(as_text=True)
    session.expire_all()
    assert confirmation.answered_at is None  # the link still works: they can try again
    assert session.scalar(select(Document)) is None


def test_a_registrar_attaches_a_pause_certificate_from_the_enrollment_page(
    client, session, accounts, sign_in
):
    pause = factories.SearchPauseFactory(graduation=accounts["graduation_a"])
    enrollment_id = accounts["graduation_a"].enrollment_id
    page = f"/registrar/enrollments/{enrollment_id}"
    sign_in(accounts["registrar"])
    assert f'value="search_pause:{pause.id}"' in client.get(page).get_data(as_text=True)

    answer = _multipart(
        client,
        "/documents",
        {
            "concerns": f"search_pause:{pause.id}",
            "next": page,
            "file": (io.BytesIO(PNG), "certificate.png"),
        },
        token_from=page,
    )

    assert answer.status_code == 303 and answer.headers["Location"] == page
    document = session.scalar(select(Document))
    assert document.source is DocumentSource.REGISTRAR
    assert document.content_type == "image/png"
    assert "certificate.png" in client.get(page).get_data(as_text=True)


def test_finance_attaches_a_bank_statement_to_a_claim_which_registrars_do_not_see(
    client, session, accounts, sign_in
):
    factories.TuitionPaymentFactory(enrollment=accounts["graduation_a"].enrollment)
    claim = factories.RefundClaimFactory(graduation=accounts["graduation_a"])
    page = f"/finance/claims/{claim.id}"
    sign_in(accounts["finance_1"])

    answer = _multipart(
        client,
        "/documents",
        {
            "concerns": f"refund_claim:{claim.id}",
            "next": page,
            "file": (io.BytesIO(PDF), "bank statement.pdf"),
        },
        token_from=page,
    )

    assert answer.status_code == 303
    document = session.scalar(select(Document))
    assert (document.concerns_kind, document.source) == (
        DocumentConcerns.REFUND_CLAIM,
        DocumentSource.FINANCE,
    )
    client.post("/sign-out", data={"csrf_token": csrf_token(client, page)})
    sign_in(accounts["registrar"])
    assert client.get(f"/documents/{document.id}").status_code == 404


def test_a_graduate_cannot_attach_to_a_claim(client, session, accounts, sign_in):
    claim = factories.RefundClaimFactory(graduation=accounts["graduation_a"])
    sign_in(accounts["graduate_a"])

    refused = _multipart(
        client,
        "/documents",
        {"concerns": f"refund_claim:{claim.id}", "file": (io.BytesIO(PDF), "x.pdf")},
        token_from="/me",
    )

    assert refused.status_code == 422
    assert "you attach documents to" in refused.get_data(as_text=True).lower()
    assert session.scalar(select(Document)) is None


def test_an_admin_sees_no_document(client, session, accounts, sign_in):
    job = factories.JobOutcomeFactory(graduation=accounts["graduation_a"])
    sign_in(accounts["graduate_a"])
    _multipart(
        client,
        "/documents",
        {"concerns": f"job_outcome:{job.id}", "file": (io.BytesIO(PDF), "x.pdf")},
        token_from="/me",
    )
    document = session.scalar(select(Document))
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/me")})
    admin = factories.UserFactory(role=Role.ADMIN)
    sign_in(admin)

    assert client.get(f"/documents/{document.id}").status_code == 404


@pytest.mark.parametrize("concerns", ["job_outcome:99999999999", "job_outcome:x", "nothing:1", ""])
def test_a_record_that_cannot_exist_is_refused_clearly(
    client, session, accounts, sign_in, concerns
):
    sign_in(accounts["graduate_a"])

    refused = _multipart(
        client,
        "/documents",
        {"concerns": concerns, "file": (io.BytesIO(PDF), "x.pdf")},
        token_from="/me",
    )

    assert refused.status_code in (400, 404, 422)
    assert "What it is evidence of" in refused.get_data(as_text=True)
    assert session.scalar(select(Document)) is None
