"""No page answers 5xx: each role (and nobody signed in, and an employer's emailed link) follows
every link from its home on the demo school, then sends every page it reached, and every other
address a GET can reach, ids and query parameters out of range."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.demo import load_demo_accounts, load_demo_school
from app.guarantee.terms import OutcomeStatus
from app.models import HireConfirmation, JobOutcome
from app.models.base import utc_now
from app.services.claim_review import review_flagged_claims
from app.services.confirmations import link_token, request_confirmation
from refunds.sweep import sweep
from tests.crawl import Visit, crawl, endpoint_of, example_url, get_rules, out_of_range
from tests.signing_in import sign_in_demo

#: Whose pages are crawled: each demo account's role, by the email it signs in with.
ROLES = {
    "graduate": "amina.diallo@example.org",
    "employer": "hr@acme.example",
    "finance": "ada.finance@school.example",
    "registrar": "registrar@school.example",
    "admin": "admin@school.example",
}


@pytest.fixture
def demo_school(app, session):
    """The demo school after the start-up sweep; each demo account by its email."""
    today = utc_now().date()
    load_demo_school(session, today)
    with app.app_context():
        accounts = {account.email: account for account in load_demo_accounts(session)}
        session.commit()
        sweep(session, today)
        review_flagged_claims(session, today)
        session.commit()
    return accounts


@pytest.fixture
def clients(app, demo_school, session):
    """A test client per role, signed in, with where its crawl starts; nobody's, and the
    employer's emailed link, start at the public pages and that link."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a server error is a 500 to count, as live
    signed_in = {}
    for role, email in ROLES.items():
        client = app.test_client()
        response = sign_in_demo(client, demo_school[email])
        assert response.status_code == 302, f"{role} could not sign in"
        signed_in[role] = (client, ["/"])
    with app.test_request_context():
        link = f"/confirm/{link_token(_hire_to_confirm(session))}"
    signed_in["employer's link"] = (app.test_client(), [link])
    signed_in["anonymous"] = (app.test_client(), ["/", "/outcomes"])
    return signed_in


def _hire_to_confirm(session) -> str:
    """A hire waiting for its employer's answer: the demo's own, or one asked of now."""
    pending = session.scalars(
        select(HireConfirmation.id).where(HireConfirmation.answered_at.is_(None))
    ).first()
    if pending is None:
        outcome = session.scalars(
            select(JobOutcome).where(
                JobOutcome.status == OutcomeStatus.REPORTED, JobOutcome.employer_id.is_not(None)
            )
        ).first()
        assert outcome is not None, "the demo school has no reported job to confirm"
        pending = request_confirmation(session, outcome).id
        session.commit()
    return pending


def _failures(app, who: str, visits) -> list[str]:
    """The visits that failed: a 5xx, or an error outside the API not shown as a page."""
    failed = []
    for visit in visits:
        api = visit.url.startswith(("/api/", "/stripe/", "/healthz", "/metrics"))
        download = visit.url.split("?")[0].endswith((".csv", ".json"))
        if visit.status >= 500:
            failed.append(f"{who}: {visit.status} on GET {visit.url[:200]}")
        elif visit.status >= 400 and not (api or download) and visit.content_type != "text/html":
            failed.append(f"{who}: {visit.status} as {visit.content_type} on GET {visit.url[:200]}")
    return failed


def _requests(client, urls):
    """GET each of ``urls``, as visits."""
    for url in urls:
        response = client.get(url)
        yield Visit(url, response.status_code, None, response.mimetype)


def test_every_page_each_role_reaches_answers_without_a_server_error(app, clients):
    failures, reached = [], {}
    for who, (client, start) in clients.items():
        visits = crawl(client, start)
        failures += _failures(app, who, visits)
        reached[who] = {visit.endpoint for visit in visits}
        assert len(visits) > 1, f"{who} reached no page from {start}"

    assert not failures, "\n".join(failures)
    # The crawl reaches what each role works on (a broken link would hide a page from it).
    assert {"graduate.home", "finance.queue", "finance.claim"} <= reached["graduate"] | reached[
        "finance"
    ]
    assert {"registrar.enrollments", "registrar.enrollment"} <= reached["registrar"]
    assert {"admin.accounts", "admin.account", "admin.audit"} <= reached["admin"]
    assert "employer.confirm" in reached["employer's link"]


def test_out_of_range_ids_and_query_parameters_never_give_a_server_error(app, clients):
    failures, fuzzed = [], set()
    for who, (client, start) in clients.items():
        for visit in crawl(client, start):
            if visit.status != 200 or visit.endpoint in fuzzed:
                continue
            fuzzed.add(visit.endpoint)
            failures += _failures(app, who, _requests(client, out_of_range(app, visit.url)))
    # Routes no link leads to (the API, pages reached by a form) get the same, as each role.
    for rule in get_rules(app):
        url = example_url(rule)
        if rule.endpoint in fuzzed or url is None or endpoint_of(app, url)[0] != rule.endpoint:
            continue
        fuzzed.add(rule.endpoint)
        for who in ("registrar", "finance", "admin", "graduate"):
            client = clients[who][0]
            failures += _failures(app, who, _requests(client, [url, *out_of_range(app, url)]))

    assert not failures, "\n".join(sorted(set(failures)))
    assert {"finance.forecast", "admin.audit", "registrar.enrollments"} <= fuzzed
