"""The API does what its document says: schemathesis, every check, as each role that uses it.

The API is served over HTTP on a loopback port against a database of the test's own, loaded
with one record of each kind. Schemathesis reads the served document and runs its phases
(examples, coverage, fuzzing, stateful) with every check it has. A failure fails the test
unless ``contract_baseline.toml`` lists it: a schema-valid request that a business rule refuses
(422), each with the rule and why. Anything else, a 500, an answer the document does not
declare, a schema-invalid request accepted, a 405 without ``Allow``, fails.

Employers and admins do not use ``/api/v1`` (every operation refuses them, which the
authorization matrix pins), so the roles here are registrar, finance and graduate.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from app.models import Role
from tests import factories
from tests.api.live import live_api

BASELINE = Path(__file__).with_name("contract_baseline.toml")

#: Examples per operation and phase: bounded so that the three roles run in about a minute
#: on each database.
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Refusal:
    """A business-rule refusal the baseline accepts: an operation, a field, what it says."""

    operation: str
    status: int
    field: str
    reason: str
    why: str

    def covers(self, operation: str, status: int, field: str, message: str) -> bool:
        return (self.operation, self.status, self.field) == (
            operation,
            status,
            field,
        ) and re.search(self.reason, message) is not None


def load_baseline() -> list[Refusal]:
    entries = tomllib.loads(BASELINE.read_text())["refusal"]
    return [Refusal(**entry) for entry in entries]


@dataclass(frozen=True)
class Finding:
    """One failed check: where, which check, and what the API answered."""

    operation: str
    check: str
    status: int | None
    body: str
    request: str = ""

    def refusals(self) -> list[tuple[str, str]]:
        """The (field, message) pairs of a problem details body, or [] if it is none."""
        try:
            located = json.loads(self.body).get("errors", {})
        except (ValueError, AttributeError):
            return []
        if not isinstance(located, dict):
            return []
        # By where each input was read: the JSON body, the query, a multipart form.
        errors = {
            field: messages
            for location in ("json", "query", "form_and_files")
            if isinstance(located.get(location), dict)
            for field, messages in located[location].items()
        }
        return [(field, message) for field, messages in errors.items() for message in messages]

    def __str__(self) -> str:
        answer = f"{self.operation} {self.check} -> {self.status}: {self.body[:400]}"
        return f"{answer}\n    sent: {self.request[:600]}"


def accepted_by(baseline: list[Refusal], finding: Finding) -> bool:
    """Whether ``finding`` is a schema-valid request refused by rules the baseline lists."""
    if finding.check != "positive_data_acceptance" or finding.status != 422:
        return False
    refusals = finding.refusals()
    return bool(refusals) and all(
        any(entry.covers(finding.operation, finding.status, field, message) for entry in baseline)
        for field, message in refusals
    )


@dataclass
class Run:
    """What a schemathesis run found, and the statuses the API answered."""

    findings: list[Finding]
    statuses: Counter


def run_schemathesis(url: str, credentials: dict[str, dict[str, str]]) -> Run:
    """Every failed check of a schemathesis run against the API at ``url``.

    ``credentials`` give the document's security schemes their values: schemathesis sends
    them, and leaves them out to check that the API then refuses.
    """
    config = SchemathesisConfig.from_dict(
        {
            "auth": {"openapi": credentials, "auto-signup": False},
            "checks": {"enabled": True},
            "generation": {"max-examples": MAX_EXAMPLES},
            "workers": 1,
            "seed": 19,
        }
    )
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json", config=config)
    findings: list[Finding] = []
    statuses: Counter = Counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            findings.extend(_failed_checks(event.recorder))
            statuses.update(
                interaction.response.status_code
                for interaction in event.recorder.interactions.values()
                if interaction.response is not None
            )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            # The run itself broke (a schema it cannot read, a server that stopped answering).
            label = getattr(event, "label", "run")
            findings.append(Finding(label, "error", None, repr(event.value)))
    return Run(findings, statuses)


def _failed_checks(recorder) -> list[Finding]:
    found = []
    for case_id, nodes in recorder.checks.items():
        case = recorder.cases[case_id].value
        interaction = recorder.interactions.get(case_id)
        response = interaction.response if interaction else None
        for node in nodes:
            if node.failure_info is None:
                continue
            found.append(
                Finding(
                    operation=case.operation.definition.raw.get(
                        "operationId", case.operation.label
                    ),
                    check=node.name,
                    status=response.status_code if response else None,
                    body=response.content.decode("utf-8", "replace")
                    if response and response.content
                    else "",
                    request=_described(interaction.request) if interaction else "",
                )
            )
    return found


def _described(request) -> str:
    body = request.body.decode("utf-8", "backslashreplace") if request.body else ""
    headers = {
        name: value for name, value in request.headers.items() if name.lower() != "authorization"
    }
    return f"{request.method} {request.uri} {headers} {body}"


@pytest.fixture
def api(committed_database):
    url, engine = committed_database
    with live_api(url, engine) as live:
        outcome = factories.JobOutcomeFactory()
        graduation = outcome.graduation
        factories.TuitionPaymentFactory(enrollment=graduation.enrollment)
        factories.RefundClaimFactory(graduation=graduation)
        live.graduate = factories.UserFactory(
            role=Role.GRADUATE, student=graduation.enrollment.student
        )
        live.session.commit()
        yield live


def assert_only_baseline_refusals(run: Run) -> None:
    baseline = load_baseline()
    unexpected = sorted(
        {str(finding) for finding in run.findings if not accepted_by(baseline, finding)}
    )
    assert unexpected == [], "\n".join(unexpected)
    # The credentials worked: the run got past authentication, and was refused without them.
    assert sum(count for status, count in run.statuses.items() if 200 <= status < 300) > 0
    assert run.statuses[401] > 0


def bearer_token(api, role: Role) -> dict[str, dict[str, str]]:
    secret = api.bearer(role)["Authorization"].removeprefix("Bearer ")
    return {"bearerToken": {"bearer": secret}}


def test_the_api_keeps_its_document_for_a_registrar(api):
    assert_only_baseline_refusals(run_schemathesis(api.url, bearer_token(api, Role.REGISTRAR)))


def test_the_api_keeps_its_document_for_finance(api):
    assert_only_baseline_refusals(run_schemathesis(api.url, bearer_token(api, Role.FINANCE)))


def test_the_api_keeps_its_document_for_a_graduate(api):
    # Graduates use the API with their signed-in session (API tokens are made for staff).
    cookie = api.session_cookie(api.graduate)[api.app.config["SESSION_COOKIE_NAME"]]
    assert_only_baseline_refusals(run_schemathesis(api.url, {"sessionCookie": {"api_key": cookie}}))
