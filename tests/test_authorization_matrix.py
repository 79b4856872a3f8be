"""Every route of the app, every method, against every kind of person: the expected answer.

A route added without a line here fails ``test_every_route_is_in_the_matrix``. Each line gives
the status for, in order: anonymous, graduate A, graduate B, employer X, employer Y, finance 1,
finance 2, a registrar, an admin. Requests carry no useful input, so a status past the
permission check is the validation error (400 for forms, 422 for the API) or the page itself;
401/403/302-to-sign-in are the refusals. The data: graduate A's graduation, with a job at
employer X awaiting confirmation and a flagged claim.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from app.auth.access import Principal
from app.auth.tokens import create_token
from app.models import DocumentConcerns, Role, SchedulerHeartbeat
from app.models.base import utc_now
from app.services.confirmations import link_token, request_confirmation
from app.services.documents import Upload, attach
from app.storage import LocalDiskStore
from refunds.models import RecoveryItem
from tests.factories import (
    AuditedRefundClaimFactory,
    EmployerFactory,
    GraduationFactory,
    JobOutcomeFactory,
    SearchPauseFactory,
    TuitionPaymentFactory,
    UserFactory,
)
from tests.signing_in import sign_in_client

PRINCIPALS = (
    "anonymous",
    "graduate_a",
    "graduate_b",
    "employer_x",
    "employer_y",
    "finance_1",
    "finance_2",
    "registrar",
    "admin",
)

# fmt: off
MATRIX = {
    ("GET", "/"):                                               "302 302 302 302 302 302 302 302 302",
    ("GET", "/account/preferences"):                            "302 200 200 200 200 200 200 200 200",
    ("POST", "/account/preferences"):                           "302 400 400 400 400 400 400 400 400",
    ("GET", "/account"):                                        "302 200 200 200 200 200 200 200 200",
    ("POST", "/account/email"):                                 "302 400 400 400 400 400 400 400 400",
    ("POST", "/account/password"):                              "302 400 400 400 400 400 400 400 400",
    ("POST", "/account/recovery-codes"):                        "302 400 400 400 400 400 400 400 400",
    ("GET", "/account/second-factor"):                          "302 200 200 200 200 302 302 200 302",
    ("POST", "/account/second-factor"):                         "302 400 400 400 400 302 302 400 302",
    ("POST", "/account/second-factor/off"):                     "302 400 400 400 400 400 400 400 400",
    ("GET", "/account/tokens"):                                 "302 403 403 403 403 200 200 200 200",
    ("POST", "/account/tokens"):                                "302 403 403 403 403 400 400 400 400",
    ("POST", "/account/tokens/<id:token_id>/revoke"):          "302 403 403 403 403 404 404 302 302",
    ("GET", "/admin/accounts"):                                 "302 403 403 403 403 403 403 403 200",
    ("POST", "/admin/accounts"):                                "302 403 403 403 403 403 403 403 400",
    ("GET", "/admin/accounts/<id:user_id>"):                   "302 403 403 403 403 403 403 403 200",
    ("POST", "/admin/accounts/<id:user_id>/active"):           "302 403 403 403 403 403 403 403 400",
    ("POST", "/admin/accounts/<id:user_id>/access-link"):      "302 403 403 403 403 403 403 403 302",
    ("POST", "/admin/accounts/<id:user_id>/role"):             "302 403 403 403 403 403 403 403 400",
    ("GET", "/admin/audit"):                                    "302 403 403 403 403 403 403 403 200",
    ("GET", "/admin/tokens"):                                   "302 403 403 403 403 403 403 403 200",
    ("POST", "/admin/tokens/<id:token_id>/revoke"):            "302 403 403 403 403 403 403 403 302",
    ("GET", "/api/docs"):                                       "200 200 200 200 200 200 200 200 200",
    ("GET", "/admin/personal-data"):                             "302 403 403 403 403 403 403 403 200",
    ("GET", "/admin/personal-data/<id:student_id>.json"):       "302 403 403 403 403 403 403 403 200",
    ("POST", "/admin/personal-data/<id:student_id>/erase"):     "302 403 403 403 403 403 403 403 400",
    ("GET", "/api/docs/assets/<path:filename>"):                "200 200 200 200 200 200 200 200 200",
    ("GET", "/api/openapi.json"):                               "200 200 200 200 200 200 200 200 200",
    ("GET", "/api/v1/claims"):                                  "401 403 403 403 403 200 200 403 403",
    ("GET", "/api/v1/claims/<id:claim_id>"):                    "401 403 403 403 403 200 200 403 403",
    ("POST", "/api/v1/claims/<id:claim_id>/approve"):           "401 403 403 403 403 409 409 403 403",
    ("POST", "/api/v1/claims/<id:claim_id>/reject"):            "401 403 403 403 403 422 422 403 403",
    ("POST", "/api/v1/claims/<id:claim_id>/retry"):             "401 403 403 403 403 409 409 403 403",
    ("POST", "/api/v1/claims/<id:claim_id>/review"):            "401 403 403 403 403 409 409 403 403",
    ("POST", "/api/v1/claims/<id:claim_id>/settle-manually"):   "401 403 403 403 403 409 409 403 403",
    ("POST", "/api/v1/claims/<id:claim_id>/withdraw"):          "401 403 403 403 403 409 409 403 403",
    ("GET", "/api/v1/recovery-items"):                          "401 403 403 403 403 200 200 403 403",
    ("POST", "/api/v1/recovery-items/<id:item_id>/resolve"):    "401 403 403 403 403 422 422 403 403",
    ("GET", "/api/v1/documents"):                               "401 422 422 403 403 422 422 422 403",
    ("POST", "/api/v1/documents"):                              "401 422 422 403 403 422 422 422 403",
    ("GET", "/api/v1/documents/<id:document_id>"):              "401 200 404 403 403 200 200 200 403",
    ("GET", "/api/v1/documents/<id:document_id>/content"):      "401 200 404 403 403 200 200 200 403",
    ("GET", "/api/v1/employers"):                               "401 403 403 403 403 200 200 200 403",
    ("POST", "/api/v1/employers"):                              "401 403 403 403 403 403 403 422 403",
    ("GET", "/api/v1/employers/<id:employer_id>"):              "401 403 403 403 403 200 200 200 403",
    ("POST", "/api/v1/employers/<id:employer_id>/verify-contact"): "401 403 403 403 403 403 403 422 403",
    ("GET", "/api/v1/enrollments"):                             "401 403 403 403 403 200 200 200 403",
    ("POST", "/api/v1/enrollments"):                            "401 403 403 403 403 403 403 422 403",
    ("GET", "/api/v1/enrollments/<id:enrollment_id>"):          "401 403 403 403 403 200 200 200 403",
    ("GET", "/api/v1/enrollments/<id:enrollment_id>/payments"): "401 403 403 403 403 200 200 200 403",
    ("POST", "/api/v1/enrollments/<id:enrollment_id>/payments"): "401 403 403 403 403 403 403 422 403",
    ("POST", "/api/v1/enrollments/<id:enrollment_id>/eligibility"): "401 403 403 403 403 403 403 422 403",
    ("POST", "/api/v1/enrollments/<id:enrollment_id>/prerequisites/<id:prerequisite_id>/verification"): "401 403 403 403 403 403 403 422 403",
    ("GET", "/api/v1/liability"):                               "401 403 403 403 403 200 200 403 403",
    ("GET", "/api/v1/graduations"):                             "401 403 403 403 403 200 200 200 403",
    ("POST", "/api/v1/graduations"):                            "401 403 403 403 403 403 403 422 403",
    ("GET", "/api/v1/graduations/<id:graduation_id>"):          "401 403 403 403 403 200 200 200 403",
    ("GET", "/api/v1/graduations/<id:graduation_id>/guarantee"): "401 200 403 403 403 200 200 200 403",
    ("POST", "/api/v1/graduations/<id:graduation_id>/pauses"):  "401 422 403 403 403 403 403 422 403",
    ("POST", "/api/v1/graduations/<id:graduation_id>/exclusion"): "401 403 403 403 403 403 403 422 403",
    ("GET", "/api/v1/job-outcomes"):                            "401 403 403 403 403 200 200 200 403",
    ("POST", "/api/v1/job-outcomes"):                           "401 201 403 403 403 403 403 201 403",
    ("GET", "/api/v1/job-outcomes/<id:outcome_id>"):            "401 403 403 403 403 200 200 200 403",
    ("POST", "/api/v1/job-outcomes/<id:outcome_id>/correct"):   "401 403 403 403 403 403 403 422 403",
    ("POST", "/api/v1/job-outcomes/<id:outcome_id>/dispute"):   "401 403 403 403 403 403 403 422 403",
    ("GET", "/api/v1/policies/<id:policy_id>"):                 "401 403 403 403 403 200 200 200 403",
    ("GET", "/api/v1/programmes"):                              "401 403 403 403 403 200 200 200 403",
    ("POST", "/api/v1/programmes"):                             "401 403 403 403 403 403 403 422 403",
    ("GET", "/api/v1/programmes/<id:programme_id>"):            "401 403 403 403 403 200 200 200 403",
    ("GET", "/api/v1/programmes/<id:programme_id>/policies"):   "401 403 403 403 403 200 200 200 403",
    ("POST", "/api/v1/programmes/<id:programme_id>/policies"):  "401 403 403 403 403 403 403 422 403",
    ("POST", "/api/v1/invitations"):                            "401 403 403 403 403 403 403 200 200",
    ("GET", "/api/v1/students"):                                "401 403 403 403 403 200 200 200 403",
    ("POST", "/api/v1/students"):                               "401 403 403 403 403 403 403 422 403",
    ("GET", "/api/v1/students/<id:student_id>"):                "401 403 403 403 403 200 200 200 403",
    ("GET", "/confirm/<token>"):                                "200 200 200 200 200 200 200 200 200",
    ("POST", "/confirm/<token>"):                               "400 400 400 400 400 400 400 400 400",
    ("GET", "/confirm/thanks"):                                 "200 200 200 200 200 200 200 200 200",
    ("POST", "/documents"):                                     "302 400 400 403 403 400 400 400 403",
    ("GET", "/documents/<id:document_id>"):                    "302 200 404 404 404 200 200 200 404",
    ("GET", "/employer"):                                       "302 403 403 200 200 403 403 403 403",
    ("POST", "/employer/confirmations/<confirmation_id>"):      "302 403 403 400 403 403 403 403 403",
    ("GET", "/finance"):                                        "302 403 403 403 403 200 200 403 403",
    ("GET", "/finance/claims/<id:claim_id>"):                   "302 403 403 403 403 200 200 403 403",
    ("GET", "/finance/claims.csv"):                             "302 403 403 403 403 200 200 403 403",
    ("POST", "/finance/claims/review"):                         "302 403 403 403 403 303 303 403 403",
    ("POST", "/finance/recovery-items/<id:item_id>/resolve"):   "302 403 403 403 403 400 400 403 403",
    ("POST", "/finance/claims/<id:claim_id>/<any(approve, reject, review, withdraw, retry, settle):action>"): "302 403 403 403 403 400 400 403 403",
    ("GET", "/finance/forecast"):                               "302 403 403 403 403 200 200 403 403",
    ("GET", "/finance/forecast.csv"):                           "302 403 403 403 403 200 200 403 403",
    ("GET", "/finance/liability"):                              "302 403 403 403 403 200 200 403 403",
    ("GET", "/finance/liability.csv"):                          "302 403 403 403 403 200 200 403 403",
    ("GET", "/healthz"):                                        "200 200 200 200 200 200 200 200 200",
    ("GET", "/readyz"):                                         "200 200 200 200 200 200 200 200 200",
    ("GET", "/metrics"):                                        "401 401 401 401 401 401 401 401 401",
    ("GET", "/me"):                                             "302 200 200 403 403 403 403 403 403",
    ("GET", "/me/jobs/new"):                                    "302 200 200 403 403 403 403 403 403",
    ("POST", "/me/graduations/<id:graduation_id>/pauses"):     "302 400 403 403 403 403 403 403 403",
    ("POST", "/me/pauses/<id:pause_id>/cancel"):               "302 409 403 403 403 403 403 403 403",
    ("POST", "/me/jobs/new"):                                   "302 400 400 403 403 403 403 403 403",
    ("GET", "/me/jobs/<id:outcome_id>/edit"):                  "302 200 403 403 403 403 403 403 403",
    ("POST", "/me/jobs/<id:outcome_id>/edit"):                 "302 400 403 403 403 403 403 403 403",
    ("POST", "/me/jobs/<id:outcome_id>/withdraw"):             "302 400 403 403 403 403 403 403 403",
    ("POST", "/me/claims/<id:claim_id>/appeal"):                "302 400 403 403 403 403 403 403 403",
    ("GET", "/me/search/new"):                                  "302 200 200 403 403 403 403 403 403",
    ("POST", "/me/search/new"):                                 "302 400 400 403 403 403 403 403 403",
    ("POST", "/me/search/offers/decide"):                       "302 400 400 403 403 403 403 403 403",
    ("POST", "/me/search/questions/answer"):                    "302 400 400 403 403 403 403 403 403",
    ("POST", "/me/search/stop"):                                "302 400 400 403 403 403 403 403 403",
    ("GET", "/me/messages"):                                    "302 200 200 403 403 403 403 403 403",
    ("GET", "/registrar"):                                      "302 403 403 403 403 200 200 200 403",
    ("GET", "/registrar/enrollments"):                          "302 403 403 403 403 200 200 200 403",
    ("POST", "/registrar/enrollments"):                         "302 403 403 403 403 403 403 400 403",
    ("GET", "/registrar/enrollments/<id:enrollment_id>"):      "302 403 403 403 403 200 200 200 403",
    ("POST", "/registrar/enrollments/<id:enrollment_id>/payments"): "302 403 403 403 403 403 403 400 403",
    ("POST", "/registrar/enrollments/<id:enrollment_id>/eligibility"): "302 403 403 403 403 403 403 400 403",
    ("POST", "/registrar/enrollments/<id:enrollment_id>/prerequisites/<id:prerequisite_id>/verify"): "302 403 403 403 403 403 403 404 403",
    ("POST", "/registrar/enrollments/<id:enrollment_id>/pauses"): "302 403 403 403 403 403 403 400 403",
    ("POST", "/registrar/enrollments/<id:enrollment_id>/exclusion"): "302 403 403 403 403 403 403 400 403",
    ("POST", "/registrar/enrollments/<id:enrollment_id>/questions"): "302 403 403 403 403 403 403 400 403",
    ("POST", "/registrar/enrollments/<id:enrollment_id>/jobs/<id:outcome_id>/correct"): "302 403 403 403 403 403 403 400 403",
    ("POST", "/registrar/enrollments/<id:enrollment_id>/jobs/<id:outcome_id>/dispute"): "302 403 403 403 403 403 403 400 403",
    ("POST", "/registrar/enrollments/<id:enrollment_id>/jobs/<id:outcome_id>/verify-contact"): "302 403 403 403 403 403 403 409 403",
    ("GET", "/registrar/graduations"):                          "302 403 403 403 403 200 200 200 403",
    ("POST", "/registrar/graduations"):                         "302 403 403 403 403 403 403 400 403",
    ("GET", "/registrar/import"):                               "302 403 403 403 403 200 200 200 403",
    ("POST", "/registrar/import"):                              "302 403 403 403 403 403 403 400 403",
    ("POST", "/registrar/import/invitations"):                  "302 403 403 403 403 403 403 400 403",
    ("GET", "/registrar/programmes"):                           "302 403 403 403 403 200 200 200 403",
    ("POST", "/registrar/programmes"):                          "302 403 403 403 403 403 403 400 403",
    ("GET", "/registrar/programmes/<id:programme_id>"):        "302 403 403 403 403 200 200 200 403",
    ("POST", "/registrar/programmes/<id:programme_id>/policies"): "302 403 403 403 403 403 403 400 403",
    ("POST", "/registrar/students"):                            "302 403 403 403 403 403 403 400 403",
    ("GET", "/outcomes"):                                       "200 200 200 200 200 200 200 200 200",
    ("GET", "/outcomes/<id:programme_id>"):                     "200 200 200 200 200 200 200 200 200",
    ("GET", "/reports/outcomes"):                               "302 403 403 403 403 200 200 200 200",
    ("GET", "/reports/outcomes.csv"):                           "302 403 403 403 403 200 200 200 200",
    ("GET", "/reports/outcomes/graduates"):                     "302 403 403 403 403 200 200 200 200",
    ("GET", "/reports/outcomes/graduates.csv"):                 "302 403 403 403 403 200 200 200 200",
    ("GET", "/confirm-email/<token>"):                          "404 404 404 404 404 404 404 404 404",
    ("POST", "/confirm-email/<token>"):                         "404 404 404 404 404 404 404 404 404",
    ("GET", "/forgot-password"):                                "200 200 200 200 200 200 200 200 200",
    ("POST", "/forgot-password"):                               "400 400 400 400 400 400 400 400 400",
    ("GET", "/set-password/<token>"):                           "404 404 404 404 404 404 404 404 404",
    ("POST", "/set-password/<token>"):                          "404 404 404 404 404 404 404 404 404",
    ("GET", "/sign-in/code"):                                   "302 302 302 302 302 302 302 302 302",
    ("POST", "/sign-in/code"):                                  "302 302 302 302 302 302 302 302 302",
    ("GET", "/sign-in/enrol"):                                  "302 302 302 302 302 302 302 302 302",
    ("POST", "/sign-in/enrol"):                                 "302 302 302 302 302 302 302 302 302",
    ("GET", "/sign-in"):                                        "200 302 302 302 302 302 302 302 302",
    ("POST", "/sign-in"):                                       "400 400 400 400 400 400 400 400 400",
    ("POST", "/sign-out"):                                      "302 302 302 302 302 302 302 302 302",
    ("GET", "/static/<path:filename>"):                         "200 200 200 200 200 200 200 200 200",
    ("POST", "/stripe/webhook"):                                "400 400 400 400 400 400 400 400 400",
}
# fmt: on

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

#: API routes whose body is a multipart form (a document's upload), not JSON.
MULTIPART_ROUTES = {"/api/v1/documents"}


@pytest.fixture
def world(session, app):
    """The records the routes are called on, and an account of every kind."""
    app.config["STRIPE_WEBHOOK_SECRET"] = "whsec_matrix"
    app.config["METRICS_TOKEN"] = "metrics-matrix"  # only the scraper holds it: nobody here
    graduation_a, graduation_b = GraduationFactory(), GraduationFactory()
    employer_x, employer_y = EmployerFactory(), EmployerFactory()
    payment = TuitionPaymentFactory(enrollment=graduation_a.enrollment)
    outcome = JobOutcomeFactory(graduation=graduation_a, employer=employer_x)
    confirmation = request_confirmation(session, outcome)
    claim = AuditedRefundClaimFactory(graduation=graduation_a, enrollment=graduation_a.enrollment)
    pause = SearchPauseFactory(graduation=graduation_a)  # begun long ago: it cannot be called off
    # Graduate A's contract on their job: theirs, finance's and the registrar's to read.
    document = attach(
        session,
        Principal(
            actor="matrix", role=Role.GRADUATE, student_id=graduation_a.enrollment.student_id
        ),
        LocalDiskStore(app.config["DOCUMENTS_DIR"]),
        DocumentConcerns.JOB_OUTCOME,
        outcome.id,
        Upload("contract.pdf", b"%PDF-1.7 matrix"),
        max_bytes=1024,
    )
    recovery = RecoveryItem(
        claim_id=claim.id, job_outcome_id=outcome.id, reason="matrix", opened_by="system:test"
    )
    session.add(recovery)
    now = utc_now()
    session.add(SchedulerHeartbeat(scheduler="matrix", lock_taken_at=now, beat_at=now))
    users = {
        "graduate_a": UserFactory(role=Role.GRADUATE, student=graduation_a.enrollment.student),
        "graduate_b": UserFactory(role=Role.GRADUATE, student=graduation_b.enrollment.student),
        "employer_x": UserFactory(role=Role.EMPLOYER, employer=employer_x),
        "employer_y": UserFactory(role=Role.EMPLOYER, employer=employer_y),
        "finance_1": UserFactory(role=Role.FINANCE),
        "finance_2": UserFactory(role=Role.FINANCE),
        "registrar": UserFactory(role=Role.REGISTRAR),
        "admin": UserFactory(role=Role.ADMIN),
    }
    token, _secret = create_token(session, user=users["registrar"], name="matrix")
    session.commit()
    enrollment = graduation_a.enrollment
    params = {
        "filename": "style.css",
        "programme_id": enrollment.programme_id,
        "policy_id": enrollment.policy_id,
        "student_id": enrollment.student_id,
        "employer_id": employer_x.id,
        "enrollment_id": enrollment.id,
        "graduation_id": graduation_a.id,
        "outcome_id": outcome.id,
        "claim_id": claim.id,
        "confirmation_id": confirmation.id,
        "token": _signed(app, confirmation.id),
        "user_id": users["graduate_b"].id,
        "token_id": token.id,
        "action": "approve",
        "payment_id": payment.id,
        "pause_id": pause.id,
        "item_id": recovery.id,
        # The policy has no prerequisites: past the permission check, the page answers 404.
        "prerequisite_id": 999_999,
        "document_id": document.id,
    }
    bodies = {
        # Multipart without its file: past the permission check, the upload is a 422.
        "/api/v1/documents": {"concerns_kind": "job_outcome", "concerns_id": outcome.id},
        # A pause the policy (no pauses allowed) refuses: graduate B is refused as not the owner.
        "/api/v1/graduations/<id:graduation_id>/pauses": {
            "starts_on": "2025-10-01",
            "ends_on": "2025-10-05",
            "reason": "illness",
        },
        "/api/v1/invitations": {"student_ids": [], "emails": ["nobody@example.org"]},
        "/api/v1/job-outcomes": {
            "graduation_id": graduation_a.id,
            "employer_id": employer_x.id,
            "title": "Intern",
            "employment_type": "internship",
            "in_field": True,
            "start_date": "2025-10-01",
            "contract_months": 3,
            "source": "graduate",
        },
    }
    return {"users": users, "params": params, "bodies": bodies}


def _signed(app, confirmation_id: str) -> str:
    with app.app_context():
        return link_token(confirmation_id)


def _url(rule, params: dict) -> str:
    url = rule.rule
    for argument in rule.arguments:
        url = re.sub(rf"<[^>]*:?{argument}>", str(params[argument]), url)
    if rule.rule == "/api/docs/assets/<path:filename>":
        url = "/api/docs/assets/swagger-ui.css"
    return url


def _client(app, world, who: str) -> FlaskClient:
    client = app.test_client()
    if who != "anonymous":
        user = world["users"][who]
        signed = sign_in_client(client, user)
        assert signed.status_code == 302, f"{who} could not sign in"
    return client


def _request(client, method: str, rule, world, csrf: str) -> int:
    url = _url(rule, world["params"])
    if method == "GET":
        with client.get(url) as response:  # file responses hold the file open until closed
            return response.status_code
    if rule.rule.startswith("/api/"):
        body = world["bodies"].get(rule.rule, {"reason": "matrix", "version": 999})
        if rule.rule.endswith("settle-manually"):
            body = {**body, "transfer_reference": "TRF-1"}
        if rule.rule in MULTIPART_ROUTES:
            return client.post(
                url, data=body, content_type="multipart/form-data", headers={"X-CSRFToken": csrf}
            ).status_code
        # A browser session sends its CSRF token (the API refuses a session's write without it).
        return client.post(url, json=body, headers={"X-CSRFToken": csrf}).status_code
    if rule.rule == "/stripe/webhook":
        return client.post(url, data="{}", headers={"Stripe-Signature": "t=1,v1=00"}).status_code
    return client.post(url, data={"csrf_token": _csrf_token(client)}).status_code


def _csrf_token(client) -> str:
    # Every page carries one: the sign-in form for anonymous visitors, the sign-out form after.
    for page in ("/sign-in", "/confirm/thanks"):
        match = _CSRF.search(client.get(page).get_data(as_text=True))
        if match:
            return match.group(1)
    raise AssertionError("no page offered a CSRF token")


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def observe(app, world) -> dict[tuple[str, str], str]:
    """Every route's status for every principal (sign-out last, as it ends the session)."""
    results: dict[tuple[str, str], list[str]] = {}
    routes = sorted(_routes(app), key=lambda pair: (pair[1].rule == "/sign-out", pair[1].rule))
    for who in PRINCIPALS:
        client = _client(app, world, who)
        csrf = _csrf_token(client)
        for method, rule in routes:
            status = _request(client, method, rule, world, csrf)
            results.setdefault((method, rule.rule), []).append(str(status))
    return {key: " ".join(codes) for key, codes in results.items()}


def test_every_route_is_in_the_matrix(app):
    routes = {(method, rule.rule) for method, rule in _routes(app)}
    assert routes - MATRIX.keys() == set(), "routes missing from the authorization matrix"
    assert MATRIX.keys() - routes == set(), "the matrix names routes that no longer exist"


def test_every_route_answers_every_principal_as_the_matrix_says(
    app, world, audit_survives_rollback
):
    observed = observe(app, world)
    wrong = {
        f"{method} {rule}": f"expected {MATRIX[(method, rule)]}, got {codes}"
        for (method, rule), codes in observed.items()
        if MATRIX.get((method, rule)) != codes
    }
    assert wrong == {}
