"""Evidence documents through the pages: a graduate attaches, finance downloads, nobody else."""

from __future__ import annotations

import hashlib
import io
import re

from sqlalchemy import select

from app.guarantee.terms import EmploymentType
from app.models import Document, DocumentConcerns, DocumentSource
from tests import factories
from tests.documents.conftest import HTML, PDF
from tests.pages.conftest import csrf_token

_DOWNLOAD = re.compile(r'href="(/documents/\d+)"')


def _upload(client, concerns: str, data: bytes, filename: str, *, back: str = "/me"):
    return client.post(
        "/documents",
        data={
            "csrf_token": csrf_token(client, back),
            "concerns": concerns,
            "next": back,
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def _job_with_claim(accounts):
    graduation = accounts["graduation_a"]
    job = factories.JobOutcomeFactory(
        graduation=graduation, employment_type=EmploymentType.FIXED_TERM_CONTRACT
    )
    factories.TuitionPaymentFactory(enrollment=graduation.enrollment)
    claim = factories.RefundClaimFactory(graduation=graduation)
    return job, claim


def test_graduate_uploads_a_contract_to_their_job_and_finance_downloads_it_from_the_claim_page(
    client, session, accounts, sign_in
):
    job, claim = _job_with_claim(accounts)
    sign_in(accounts["graduate_a"])
    me = client.get("/me").get_data(as_text=True)
    assert f'value="job_outcome:{job.id}"' in me  # offered on /me

    answer = _upload(client, f"job_outcome:{job.id}", PDF, "../My Contract (signed).PDF")

    assert answer.status_code == 303 and answer.headers["Location"] == "/me"
    document = session.scalar(select(Document))
    assert (document.concerns_kind, document.concerns_id) == (DocumentConcerns.JOB_OUTCOME, job.id)
    assert document.source is DocumentSource.GRADUATE
    assert document.filename == "My-Contract-signed.pdf"
    assert document.content_type == "application/pdf"
    assert document.size_bytes == len(PDF)
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.storage_key not in document.filename
    assert f"/documents/{document.id}" in client.get("/me").get_data(as_text=True)

    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/me")})
    sign_in(accounts["finance_1"])
    page = client.get(f"/finance/claims/{claim.id}").get_data(as_text=True)
    assert "My-Contract-signed.pdf" in page
    link = _DOWNLOAD.search(page).group(1)
    download = client.get(link)

    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Type"] == "application/octet-stream"
    disposition = download.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="My-Contract-signed.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"].startswith("sandbox")


def test_another_graduate_gets_404_for_a_document_that_is_not_theirs(
    client, session, accounts, sign_in
):
    job, _claim = _job_with_claim(accounts)
    sign_in(accounts["graduate_a"])
    _upload(client, f"job_outcome:{job.id}", PDF, "contract.pdf")
    document = session.scalar(select(Document))
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/me")})

    sign_in(accounts["graduate_b"])
    assert client.get(f"/documents/{document.id}").status_code == 404
    assert client.get(f"/documents/{document.id + 1000}").status_code == 404
    # Nor can they attach to the other graduate's job: it does not exist for them.
    refused = _upload(client, f"job_outcome:{job.id}", PDF, "mine.pdf")
    assert refused.status_code == 404
    assert session.scalar(select(Document).where(Document.filename == "mine.pdf")) is None


def test_an_html_page_named_pdf_is_refused_with_a_clear_error(client, session, accounts, sign_in):
    job, _claim = _job_with_claim(accounts)
    sign_in(accounts["graduate_a"])

    refused = _upload(client, f"job_outcome:{job.id}", HTML, "contract.pdf")

    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "<strong>File</strong>: Only PDF, PNG or JPEG files are accepted" in text
    assert "whatever its name says" in text
    assert session.scalar(select(Document)) is None


def test_an_oversized_file_is_refused_with_a_clear_error(
    client, session, accounts, sign_in, small_document_limit
):
    job, _claim = _job_with_claim(accounts)
    sign_in(accounts["graduate_a"])

    refused = _upload(client, f"job_outcome:{job.id}", PDF + b"0" * 3000, "contract.pdf")

    assert refused.status_code == 422
    assert "<strong>File</strong>: The file is 3 KB; the largest accepted is 2 KB." in (
        refused.get_data(as_text=True)
    )
    assert session.scalar(select(Document)) is None


def test_a_body_larger_than_the_document_limit_is_refused_before_it_is_read(
    client, session, accounts, sign_in, small_document_limit
):
    job, _claim = _job_with_claim(accounts)
    sign_in(accounts["graduate_a"])

    refused = _upload(client, f"job_outcome:{job.id}", PDF + b"0" * 100_000, "contract.pdf")

    assert refused.status_code == 413
    assert "The file is larger than 2 KB, the largest accepted" in refused.get_data(as_text=True)
    assert session.scalar(select(Document)) is None
