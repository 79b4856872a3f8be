"""Finance's claims queue: the claim deadline and its state, search, filters, sorting, pages and
the CSV export, every query parameter checked."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from app.guarantee.rules import ClaimDeadlineStanding, claim_deadline, claim_deadline_standing
from app.models import Role
from app.models.base import utc_now
from app.services import finance
from refunds.claims import DECIDABLE
from refunds.states import ClaimState
from tests.factories import AuditedRefundClaimFactory, ProgrammeFactory, UserFactory
from tests.pages.conftest import post_form

S = ClaimState
TODAY = utc_now().date()


@pytest.fixture
def signed_in(sign_in, session):
    user = UserFactory(role=Role.FINANCE)
    sign_in(user)
    return user


def a_claim(
    *,
    deadline: date = date(2026, 2, 28),
    claim_days: int = 60,
    name: str | None = None,
    email: str | None = None,
    programme=None,
    **kwargs,
):
    """A claim whose policy gives ``claim_days`` to claim after the guarantee ``deadline``."""
    student = {"graduation__enrollment__student__name": name} if name else {}
    if email:
        student["graduation__enrollment__student__email"] = email
    if programme is not None:
        student["graduation__enrollment__policy__programme"] = programme
    return AuditedRefundClaimFactory(
        deadline=deadline,
        graduation__enrollment__policy__claim_deadline_days=claim_days,
        **student,
        **kwargs,
    )


def due_on(last_claim_day: date, claim_days: int = 30, **kwargs):
    """A claim whose claim deadline is ``last_claim_day``."""
    return a_claim(
        deadline=last_claim_day - timedelta(days=claim_days), claim_days=claim_days, **kwargs
    )


def listed(client, query: str = "") -> tuple[int, str]:
    response = client.get(f"/finance{query}")
    return response.status_code, response.get_data(as_text=True)


def ids_in_order(body: str, claims) -> list[int]:
    """The ids of ``claims`` in the order the page lists them (absent ones left out)."""
    found = [(body.find(f'/finance/claims/{claim.id}"'), claim.id) for claim in claims]
    return [claim_id for position, claim_id in sorted(found) if position >= 0]


# --- the claim deadline ----------------------------------------------------------------------


def test_queue_shows_each_claims_deadline_and_marks_those_past_it(client, signed_in):
    past = due_on(TODAY - timedelta(days=1), name="Pat Past")
    soon = due_on(TODAY + timedelta(days=3), name="Sam Soon")
    far = due_on(TODAY + timedelta(days=40), name="Olga Open")

    status, body = listed(client)

    assert status == 200
    assert "Claim deadline" in body and "Guarantee deadline" in body
    for claim in (past, soon, far):
        assert (claim.deadline + timedelta(days=30)).strftime("%d %b %Y") in body
    past_row = body[body.index("Pat Past") - 200 : body.index(f"/finance/claims/{past.id}")]
    assert 'class="past-claim-deadline"' in past_row and "past claim deadline" in past_row
    soon_row = body[body.index("Sam Soon") : body.index(f"/finance/claims/{soon.id}")]
    assert "claim deadline soon" in soon_row and "past claim deadline" not in soon_row
    assert body.count('class="past-claim-deadline"') == 1


def test_a_decided_claim_shows_its_claim_deadline_without_a_state(client, signed_in):
    refunded = due_on(TODAY - timedelta(days=100), state=S.REFUNDED)

    _, body = listed(client, "?state=refunded")

    assert (TODAY - timedelta(days=100)).strftime("%d %b %Y") in body
    assert "past claim deadline" not in body
    assert f"/finance/claims/{refunded.id}" in body


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    deadline=st.dates(min_value=date(2023, 1, 1), max_value=date(2030, 12, 31)),
    claim_days=st.integers(min_value=0, max_value=800),
)
def test_the_queues_claim_deadline_is_the_rules(session, deadline, claim_days):
    claim = a_claim(deadline=deadline, claim_days=claim_days)

    [row] = [
        row
        for row in finance.queue_export(session, finance.QueueQuery(states=tuple(S)), TODAY)
        if row.claim_id == claim.id
    ]

    assert row.claim_deadline == claim_deadline(deadline, claim_days)


def test_each_claim_deadline_filter_selects_what_the_rule_says(session):
    claims = [
        due_on(TODAY + timedelta(days=offset), state=state)
        for offset in (-20, -1, 0, 1, 13, 14, 15, 40)
        for state in (S.FLAGGED, S.IN_REVIEW, S.REFUNDED)
    ]
    everything = tuple(S)

    for standing in ClaimDeadlineStanding:
        query = finance.QueueQuery(states=everything, standing=standing)
        selected = {row.claim_id for row in finance.queue_export(session, query, TODAY)}
        expected = {
            claim.id
            for claim in claims
            if claim.state in DECIDABLE
            and claim_deadline_standing(
                claim_deadline(claim.deadline, claim.enrollment.policy.claim_deadline_days), TODAY
            )
            is standing
        }
        assert selected == expected, standing
    assert expected  # the last standing (open) selects some claims: the test has cases


# --- search, filters and sorting --------------------------------------------------------------


def test_search_by_name_ignores_case_and_accents(client, signed_in):
    zoe = a_claim(name="Zoë Ólafsdóttir")
    other = a_claim(name="Bob Martin")

    _, body = listed(client, "?q=ZOE%20olafs")

    assert ids_in_order(body, [zoe, other]) == [zoe.id]


def test_search_by_email_and_a_percent_sign_is_no_wildcard(client, signed_in):
    found = a_claim(email="ada.l@uni.example")
    a_claim(email="grace@uni.example")

    _, by_email = listed(client, "?q=ADA.L@")
    _, by_percent = listed(client, "?q=%25")

    assert f"/finance/claims/{found.id}" in by_email and "grace@uni.example" not in by_email
    assert "No claims here." in by_percent


def test_filters_by_programme_currency_and_claim_deadline(client, signed_in):
    data = ProgrammeFactory(name="Data Science", currency="GBP")
    web = ProgrammeFactory(name="Web", currency="EUR")
    in_data = due_on(TODAY - timedelta(days=5), programme=data)
    in_data_later = due_on(TODAY + timedelta(days=60), programme=data)
    in_web = due_on(TODAY - timedelta(days=5), programme=web)
    everyone = [in_data, in_data_later, in_web]

    _, by_programme = listed(client, f"?programme={data.id}")
    _, by_currency = listed(client, "?currency=EUR")
    _, past_in_data = listed(client, f"?programme={data.id}&deadline=past")

    assert ids_in_order(by_programme, everyone) == [in_data.id, in_data_later.id]
    assert ids_in_order(by_currency, everyone) == [in_web.id]
    assert ids_in_order(past_in_data, everyone) == [in_data.id]


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("opened", lambda claim: claim.flagged_on),
        ("claim_deadline", lambda claim: claim.deadline + timedelta(days=30)),
        ("amount", lambda claim: claim.amount_minor),
        ("name", lambda claim: claim.enrollment.student.name),
    ],
)
def test_sorting_by_each_key_both_ways(client, signed_in, sort, key):
    claims = [
        due_on(TODAY + timedelta(days=days), name=name, amount_minor=amount, flagged_on=flagged)
        for days, name, amount, flagged in [
            (10, "Carla", 300_000, date(2026, 3, 2)),
            (-4, "Anna", 900_000, date(2026, 3, 3)),
            (30, "Bea", 100_000, date(2026, 3, 1)),
        ]
    ]
    ascending = [claim.id for claim in sorted(claims, key=key)]

    _, up = listed(client, f"?sort={sort}")
    _, down = listed(client, f"?sort={sort}&order=desc")

    assert ids_in_order(up, claims) == ascending
    assert ids_in_order(down, claims) == ascending[::-1]


def test_pages_keep_the_filters_and_the_sort(client, signed_in, monkeypatch):
    monkeypatch.setattr("app.pages.finance.PER_PAGE", 2)
    claims = [due_on(TODAY + timedelta(days=days), name=f"Kim {days}") for days in (5, 1, 3)]

    _, first = listed(client, "?q=kim&sort=claim_deadline&order=desc")
    _, second = listed(client, "?q=kim&sort=claim_deadline&order=desc&page=2")

    assert "page=2" in first and "sort=claim_deadline" in first and "q=kim" in first
    assert ids_in_order(first, claims) == [claims[0].id, claims[2].id]
    assert ids_in_order(second, claims) == [claims[1].id]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?state=paid", "no claim state called"),
        ("?programme=abc", "There is no programme"),
        ("?programme=99999999999999999999999", "There is no programme"),
        ("?currency=XXX", "There is no claim in"),
        ("?currency=%27%3B--", "There is no claim in"),
        ("?deadline=late", "no claim-deadline state"),
        ("?sort=password", "There is no sort"),
        ("?order=sideways", "There is no order"),
        ("?q=a%00b", "printable characters"),
        ("?q=" + "x" * 101, "printable characters"),
    ],
)
def test_a_bad_parameter_is_400_ignored_with_a_message(client, signed_in, query, message):
    claim = a_claim()

    status, body = listed(client, query)

    assert status == 400
    assert message in body
    assert f"/finance/claims/{claim.id}" in body  # the rest of the queue as by default


@pytest.mark.parametrize("number", ["99999999999999999999", "-3", "abc", "0", ""])
def test_any_page_number_shows_a_page(client, signed_in, number):
    claim = a_claim()

    status, body = listed(client, f"?page={number}")

    assert status == 200 and f"/finance/claims/{claim.id}" in body


# --- the CSV export ---------------------------------------------------------------------------


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_export_holds_every_claim_the_filters_select_spreadsheet_safe(client, signed_in):
    euro = ProgrammeFactory(currency="EUR")
    formula = due_on(TODAY - timedelta(days=2), name='=HYPERLINK("http://evil")', programme=euro)
    other = due_on(TODAY + timedelta(days=50), programme=euro)
    due_on(TODAY, programme=ProgrammeFactory(currency="GBP"))

    response = client.get("/finance/claims.csv?currency=EUR&sort=claim_deadline")
    [header, *lines] = rows_of(response)

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert header[:2] == ["claim_id", "graduate"] and "claim_deadline_state" in header
    assert [int(line[0]) for line in lines] == [formula.id, other.id]
    first = dict(zip(header, lines[0], strict=True))
    assert first["graduate"] == '\'=HYPERLINK("http://evil")'
    assert first["claim_deadline"] == (TODAY - timedelta(days=2)).isoformat()
    assert first["claim_deadline_state"] == "past" and first["amount"] == "6000.00"


def test_the_export_refuses_a_bad_parameter(client, signed_in):
    response = client.get("/finance/claims.csv?sort=drop")

    assert response.status_code == 400
    assert "There is no sort" in response.get_data(as_text=True)


def test_the_export_is_for_finance_only(client, session, sign_in):
    sign_in(UserFactory(role=Role.REGISTRAR))

    assert client.get("/finance/claims.csv").status_code == 403


# --- statements per page ----------------------------------------------------------------------


def statements_for(client, engine, path: str) -> int:
    seen = []

    def count(*args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_queue_runs_as_many_statements_for_two_rows_as_for_twenty(
    client, session, signed_in, monkeypatch
):
    for day in range(20):
        a_claim(name=f"Row {day}")
    engine = session.get_bind().engine

    monkeypatch.setattr("app.pages.finance.PER_PAGE", 2)
    small = statements_for(client, engine, "/finance?sort=claim_deadline")
    monkeypatch.setattr("app.pages.finance.PER_PAGE", 20)
    large = statements_for(client, engine, "/finance?sort=claim_deadline")

    assert large == small


# --- sending several claims to review -----------------------------------------------------------


def send_to_review(client, picks: list[str], reason: str = "Employer letters to check"):
    return post_form(
        client, "/finance/claims/review", {"claim": picks, "reason": reason}, token_from="/finance"
    )


def test_ticked_claims_go_to_review_together(client, session, signed_in):
    first, second, untouched = a_claim(), a_claim(state=S.AWAITING_SECOND_APPROVAL), a_claim()

    response = send_to_review(client, [f"{first.id}:1", f"{second.id}:1"])

    assert response.status_code == 303 and "state=in_review" in response.headers["Location"]
    session.expire_all()
    assert (first.state, second.state, untouched.state) == (S.IN_REVIEW, S.IN_REVIEW, S.FLAGGED)
    [trail] = [t for t in first.transitions if t.to_state is S.IN_REVIEW]
    assert trail.reason == "Employer letters to check" and trail.actor == signed_in.actor


def test_the_queue_offers_the_checkbox_only_for_claims_that_can_go_to_review(client, signed_in):
    flagged, failed = a_claim(), a_claim(state=S.FAILED)

    _, body = listed(client)

    assert f'value="{flagged.id}:1"' in body and f'value="{failed.id}:1"' not in body
    assert "Send the ticked claims to review" in body


@pytest.mark.parametrize(
    ("picks", "reason", "message"),
    [
        ([], "why", "Tick the claims"),
        (["{ok}:1"], "", "Give a reason"),
        (["{ok}:1", "abc"], "why", "not as the queue wrote them"),
        (["{ok}:1", "{stale}:7"], "why", "changed since the queue was read"),
        (["{ok}:1", "{failed}:1"], "why", "decide it on its own page"),
        (["{ok}:1", "99999999999999999999:1"], "why", "there is no claim"),
    ],
)
def test_a_bulk_review_with_any_bad_claim_changes_nothing(
    client, session, signed_in, picks, reason, message
):
    ok, stale, failed = a_claim(), a_claim(), a_claim(state=S.FAILED)
    ids = {"ok": ok.id, "stale": stale.id, "failed": failed.id}

    response = send_to_review(client, [pick.format(**ids) for pick in picks], reason)

    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nothing was changed" in page and message in page
    session.expire_all()
    assert (ok.state, stale.state, failed.state) == (S.FLAGGED, S.FLAGGED, S.FAILED)


def test_only_finance_sends_claims_to_review(client, session, sign_in):
    claim = a_claim()
    sign_in(UserFactory(role=Role.REGISTRAR))

    response = post_form(
        client,
        "/finance/claims/review",
        {"claim": [f"{claim.id}:1"], "reason": "x"},
        token_from="/registrar",
    )

    assert response.status_code == 403
    session.expire_all()
    assert claim.state is S.FLAGGED
