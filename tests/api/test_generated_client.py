"""A school's integration, written against a client generated from the served document.

openapi-python-client reads ``/api/openapi.json`` from the API served over HTTP, writes a
client package into a temporary folder, and the test imports it from there: every call below
goes through that client, as a registrar's system and a finance integration would use it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from app.models import Role
from refunds.sweep import sweep
from tests import factories
from tests.api.live import live_api

PACKAGE = "job_guarantee_client"
GENERATOR_CONFIG = f"""\
package_name_override: {PACKAGE}
project_name_override: {PACKAGE}
post_hooks: []
"""


def generate_client(document_url: str, folder) -> object:
    """Generate the client of the document at ``document_url`` into ``folder`` and import it."""
    config = folder / "generator.yml"
    config.write_text(GENERATOR_CONFIG)
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--url",
            document_url,
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(folder / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    return importlib.import_module(PACKAGE)


@pytest.fixture
def client_package(tmp_path, monkeypatch):
    """A place to generate the client into, importable, and forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def every_page(list_operation, client, **filters) -> list:
    """Every item of a list, page after page, as the client pages it: until ``next_page`` is
    null."""
    items, page, pages_read = [], 1, 0
    while page is not None:
        answer = list_operation.sync(client=client, page=page, page_size=2, **filters)
        items.extend(answer.items)
        pages_read += 1
        assert answer.pagination.page == page
        page = answer.pagination.next_page
    assert pages_read == answer.pagination.total_pages == answer.pagination.last_page
    assert len(items) == answer.pagination.total
    return items


def test_an_integration_written_against_the_generated_client(committed_database, client_package):
    url, engine = committed_database
    with live_api(url, engine) as api:
        programme = factories.ProgrammeFactory(name="Data Science", currency="EUR")
        policy = factories.GuaranteePolicyFactory(
            programme=programme, effective_from=date(2020, 1, 1)
        )
        for name in ("Android", "Backend", "Cloud", "DevOps"):
            factories.ProgrammeFactory(name=name)
        for _ in range(4):
            factories.EnrollmentFactory()
        api.session.commit()
        registrar_token = api.bearer(Role.REGISTRAR)["Authorization"].removeprefix("Bearer ")
        finance_token = api.bearer(Role.FINANCE)["Authorization"].removeprefix("Bearer ")

        jg = generate_client(f"{api.url}/api/openapi.json", client_package)
        from job_guarantee_client.api.claims import approve_claim, get_claim, list_claims
        from job_guarantee_client.api.enrollments import (
            create_enrollment,
            list_enrollments,
            record_payment,
        )
        from job_guarantee_client.api.graduations import create_graduation, get_guarantee
        from job_guarantee_client.api.programmes import list_programmes
        from job_guarantee_client.api.students import create_student, list_students
        from job_guarantee_client.models import (
            ApprovalIn,
            ClaimDetailOut,
            EnrollmentIn,
            GraduationIn,
            PaymentIn,
            PaymentInCurrency,
            PaymentInPayerType,
            Problem,
            StudentIn,
            StudentInCountry,
        )

        registrar = jg.AuthenticatedClient(base_url=api.url, token=registrar_token)
        finance = jg.AuthenticatedClient(base_url=api.url, token=finance_token)

        # Page through the records to the last page.
        programmes = every_page(list_programmes, registrar)
        assert [row.name for row in programmes][:4] == [
            "Android",
            "Backend",
            "Cloud",
            "Data Science",
        ]
        assert len(programmes) == 5 + 4  # each enrollment came with a programme of its own
        students_before = every_page(list_students, registrar)
        assert len(students_before) == 4
        assert len(every_page(list_enrollments, registrar)) == 4

        # Record a student, their enrollment, a payment and the graduation.
        student = create_student.sync(
            client=registrar,
            body=StudentIn(
                name="Ada Lovelace", email="ada@example.org", country=StudentInCountry.GB
            ),
        )
        assert student.id not in {row.id for row in students_before}
        enrollment = create_enrollment.sync(
            client=registrar,
            body=EnrollmentIn(
                student_id=student.id,
                programme_id=programme.id,
                signed_on=date(2024, 3, 1),
                guarantee_opt_in=True,
            ),
        )
        assert enrollment.policy_id == policy.id
        payment = record_payment.sync(
            enrollment.id,
            client=registrar,
            body=PaymentIn(
                amount_minor=300_000,
                currency=PaymentInCurrency.EUR,
                paid_at=datetime(2024, 3, 5, 10, tzinfo=UTC),
                payer_type=PaymentInPayerType.STUDENT,
            ),
        )
        assert payment.amount_minor == 300_000
        graduation = create_graduation.sync(
            client=registrar,
            body=GraduationIn(enrollment_id=enrollment.id, qualified_on=date(2024, 12, 20)),
        )
        assert [
            row.id for row in every_page(list_students, registrar, email="ada@example.org")
        ] == [student.id]

        # Read the guarantee: no job within six months, the whole tuition is owed.
        guarantee = get_guarantee.sync(graduation.id, client=registrar, as_of=date(2025, 7, 1))
        assert guarantee.deadline == date(2025, 6, 20)
        assert guarantee.state.value == "owed_refund"
        assert guarantee.refundable.amount_minor == 300_000

        # The sweep flags the graduate; finance lists the claims of that graduation, reads the
        # claim and approves it.
        sweep(api.session, date(2025, 7, 1))
        api.session.commit()
        claims = list_claims.sync(client=finance, graduation_id=graduation.id)
        assert [claim.graduation_id for claim in claims.items] == [graduation.id]
        claim = get_claim.sync(claims.items[0].id, client=finance)
        assert isinstance(claim, ClaimDetailOut)
        assert (claim.state.value, claim.amount_minor) == ("flagged", 300_000)
        approved = approve_claim.sync(
            claim.id, client=finance, body=ApprovalIn(reason="window closed", version=claim.version)
        )
        assert approved.state.value == "approved"
        assert [refund.amount_minor for refund in approved.refunds] == [300_000]

        # A refusal comes back as the problem details the document declares.
        again = approve_claim.sync(
            claim.id, client=finance, body=ApprovalIn(reason="again", version=claim.version)
        )
        assert isinstance(again, Problem)
        assert again.status == 409
