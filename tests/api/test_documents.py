"""``/api/v1/documents``: list a record's documents, attach one (multipart), read, download."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from app.auth.tokens import create_token
from app.models import Role
from tests import factories
from tests.documents.conftest import HTML, PDF
from tests.factories import TEST_PASSWORD
from tests.pages.conftest import csrf_token


@pytest.fixture
def job(session):
    return factories.JobOutcomeFactory()


def _graduate_client(app, student) -> tuple[FlaskClient, dict]:
    """A graduate's signed-in browser session, and the CSRF header its API writes need."""
    user = factories.UserFactory(role=Role.GRADUATE, student=student)
    app.test_client_class = FlaskClient
    client = app.test_client()
    client.post(
        "/sign-in",
        data={
            "email": user.email,
            "password": TEST_PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    return client, {"X-CSRFToken": csrf_token(client, "/me")}


def _upload(client, kind: str, record_id: int, data: bytes, filename: str, **kwargs):
    return client.post(
        "/api/v1/documents",
        data={
            "concerns_kind": kind,
            "concerns_id": str(record_id),
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
        **kwargs,
    )


def test_a_registrar_attaches_lists_reads_and_downloads_a_document(client, job):
    created = _upload(client, "job_outcome", job.id, PDF, "offer letter.pdf")

    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["filename"] == "offer-letter.pdf"
    assert body["content_type"] == "application/pdf"
    assert body["source"] == "registrar"
    assert body["size_bytes"] == len(PDF)
    listed = client.get(f"/api/v1/documents?concerns_kind=job_outcome&concerns_id={job.id}")
    assert [item["id"] for item in listed.get_json()["items"]] == [body["id"]]
    assert client.get(f"/api/v1/documents/{body['id']}").get_json() == body
    download = client.get(body["download"])
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"] == 'attachment; filename="offer-letter.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"].startswith("sandbox")


def test_an_html_file_named_pdf_is_a_422_naming_the_file(client, refused, job):
    answer = refused(
        "POST",
        "/api/v1/documents",
        data={
            "concerns_kind": "job_outcome",
            "concerns_id": str(job.id),
            "file": (io.BytesIO(HTML), "contract.pdf"),
        },
        content_type="multipart/form-data",
    )

    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
    (reason,) = answer.get_json()["errors"]["form_and_files"]["file"]
    assert reason.startswith("only PDF, PNG or JPEG files are accepted")


def test_an_oversized_file_is_a_422_naming_the_file_and_its_size(app, client, refused, job):
    app.config["DOCUMENTS_MAX_BYTES"] = 2048

    answer = refused(
        "POST",
        "/api/v1/documents",
        data={
            "concerns_kind": "job_outcome",
            "concerns_id": str(job.id),
            "file": (io.BytesIO(PDF + b"0" * 4000), "contract.pdf"),
        },
        content_type="multipart/form-data",
    )

    assert answer.status_code == 422
    assert answer.get_json()["errors"]["form_and_files"]["file"] == [
        "the file is 4 KB; the largest accepted is 2 KB"
    ]


def test_a_body_past_the_limit_is_a_413_problem_naming_the_file(app, client, refused, job):
    app.config["DOCUMENTS_MAX_BYTES"] = 2048

    answer = refused(
        "POST",
        "/api/v1/documents",
        data={
            "concerns_kind": "job_outcome",
            "concerns_id": str(job.id),
            "file": (io.BytesIO(PDF + b"0" * 200_000), "contract.pdf"),
        },
        content_type="multipart/form-data",
    )

    assert answer.status_code == 413
    assert answer.content_type == "application/problem+json"
    assert answer.get_json()["errors"]["files"]["file"] == [
        "the file is larger than 2 KB, the largest accepted"
    ]


def test_a_json_body_is_a_415_saying_multipart(client, job):
    answer = client.post(
        "/api/v1/documents", json={"concerns_kind": "job_outcome", "concerns_id": job.id}
    )

    assert answer.status_code == 415
    assert "multipart/form-data" in answer.get_json()["detail"]


def test_a_graduate_uploads_to_their_job_and_another_graduate_gets_404(app, session, job):
    owner, headers = _graduate_client(app, job.graduation.enrollment.student)
    created = _upload(owner, "job_outcome", job.id, PDF, "contract.pdf", headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    document_id = created.get_json()["id"]
    assert owner.get(f"/api/v1/documents/{document_id}/content").data == PDF

    other, other_headers = _graduate_client(app, factories.StudentFactory())
    assert other.get(f"/api/v1/documents/{document_id}").status_code == 404
    assert other.get(f"/api/v1/documents/{document_id}/content").status_code == 404
    listed = other.get(f"/api/v1/documents?concerns_kind=job_outcome&concerns_id={job.id}")
    assert listed.status_code == 404
    attached = _upload(other, "job_outcome", job.id, PDF, "x.pdf", headers=other_headers)
    assert attached.status_code == 422
    assert attached.get_json()["errors"]["form_and_files"]["concerns_id"] == [
        f"Job outcome {job.id} does not exist"
    ]


def test_finance_reads_a_claims_documents_and_a_registrar_gets_404(app, client, session):
    claim = factories.RefundClaimFactory()
    finance = {"Authorization": f"Bearer {client.tokens[Role.FINANCE]}"}
    created = _upload(client, "refund_claim", claim.id, PDF, "statement.pdf", headers=finance)
    assert created.status_code == 201, created.get_data(as_text=True)
    document_id = created.get_json()["id"]

    assert client.get(f"/api/v1/documents/{document_id}", headers=finance).status_code == 200
    assert client.get(f"/api/v1/documents/{document_id}").status_code == 404  # a registrar
    registrar_upload = _upload(client, "refund_claim", claim.id, PDF, "x.pdf")
    assert registrar_upload.status_code == 422
    assert "concerns_kind" in registrar_upload.get_json()["errors"]["form_and_files"]


def test_an_admin_token_is_refused_every_document_operation(client, session, job):
    admin = factories.UserFactory(role=Role.ADMIN)
    token = create_token(session, user=admin, name="tests")[1]
    headers = {"Authorization": f"Bearer {token}"}

    assert (
        client.get(
            f"/api/v1/documents?concerns_kind=job_outcome&concerns_id={job.id}", headers=headers
        ).status_code
        == 403
    )
    assert _upload(client, "job_outcome", job.id, PDF, "x.pdf", headers=headers).status_code == 403


def test_the_same_file_attached_twice_to_a_record_is_a_409_naming_the_first(client, job):
    first = _upload(client, "job_outcome", job.id, PDF, "contract.pdf").get_json()

    again = _upload(client, "job_outcome", job.id, PDF, "contract (copy).pdf")

    assert again.status_code == 409
    assert again.get_json()["errors"]["form_and_files"]["file"] == [
        f"this file is attached to this record already (document {first['id']})"
    ]


def test_an_unknown_form_field_is_a_422_naming_it(client, refused, job):
    answer = refused(
        "POST",
        "/api/v1/documents",
        data={
            "concerns_kind": "job_outcome",
            "concerns_id": str(job.id),
            "file": (io.BytesIO(PDF), "contract.pdf"),
            "no_such_field": "1",
        },
        content_type="multipart/form-data",
    )

    assert answer.status_code == 422
    assert answer.get_json()["errors"]["form_and_files"]["no_such_field"] == ["Unknown field."]
