"""The registrar's enrollments and the admin's accounts: search, filters, sorting and pages,
every query parameter checked, and as many statements for a long page as for a short one."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event

from app.guarantee.evaluation import evaluate_guarantee, guarantee_statuses
from app.models import Role
from app.services import listings
from tests.factories import (
    EnrollmentFactory,
    ExcludedOutcomeFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    SearchPauseFactory,
    StudentFactory,
    TuitionPaymentFactory,
    UserFactory,
)


@pytest.fixture
def registrar(sign_in, session):
    sign_in(UserFactory(role=Role.REGISTRAR))


@pytest.fixture
def admin(sign_in, session):
    user = UserFactory(role=Role.ADMIN, name="Zed Admin", email="zz-admin@school.example")
    sign_in(user)
    return user


def listed(client, path: str) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True)


def order_of(body: str, marks: list[str]) -> list[str]:
    """``marks`` found in ``body``, in the order they appear."""
    return [mark for position, mark in sorted((body.find(m), m) for m in marks) if position >= 0]


def enrolled(name: str, email: str | None = None, **kwargs):
    student = StudentFactory(name=name, **({"email": email} if email else {}))
    return EnrollmentFactory(student=student, **kwargs)


def row_link(enrollment) -> str:
    return f'/registrar/enrollments/{enrollment.id}"'


# --- enrollments -----------------------------------------------------------------------------


def test_enrollments_search_by_name_or_email_any_case_and_accents(client, registrar):
    jose = enrolled("José Núñez")
    ada = enrolled("Ada Byron", email="countess@analytical.example")

    _, by_name = listed(client, "/registrar/enrollments?q=JOSE%20nunez")
    _, by_email = listed(client, "/registrar/enrollments?q=Analytical")

    assert row_link(jose) in by_name and row_link(ada) not in by_name
    assert row_link(ada) in by_email and row_link(jose) not in by_email


def test_enrollments_filter_by_programme_status_and_guarantee(client, registrar):
    policy = GuaranteePolicyFactory()
    graduated = enrolled("Grad Uated", policy=policy)
    GraduationFactory(enrollment=graduated)
    studying = enrolled("Stu Dying", policy=policy, guarantee_opt_in=False)
    elsewhere = enrolled("Else Where")
    everyone = [row_link(e) for e in (graduated, studying, elsewhere)]
    programme = policy.programme_id

    _, in_programme = listed(client, f"/registrar/enrollments?programme={programme}")
    _, graduated_only = listed(client, "/registrar/enrollments?status=graduated")
    _, not_opted = listed(
        client, f"/registrar/enrollments?programme={programme}&guarantee=not_opted_in"
    )

    assert set(order_of(in_programme, everyone)) == {row_link(graduated), row_link(studying)}
    assert order_of(graduated_only, everyone) == [row_link(graduated)]
    assert order_of(not_opted, everyone) == [row_link(studying)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["c", "a", "b"]),  # newest signed first, as before
        ("?sort=signed&order=asc", ["b", "a", "c"]),
        ("?sort=name&order=asc", ["a", "b", "c"]),
        ("?sort=name&order=desc", ["c", "b", "a"]),
        ("?sort=expected_graduation&order=asc", ["a", "c", "b"]),  # none expected: last
    ],
)
def test_enrollments_sort(client, registrar, query, expected):
    made = {
        "a": enrolled(
            "Anna A", signed_on=date(2024, 2, 1), expected_graduation_on=date(2025, 1, 1)
        ),
        "b": enrolled("Bea B", signed_on=date(2024, 1, 1), expected_graduation_on=None),
        "c": enrolled(
            "Carl C", signed_on=date(2024, 3, 1), expected_graduation_on=date(2025, 6, 1)
        ),
    }
    links = {row_link(enrollment): key for key, enrollment in made.items()}

    status, body = listed(client, f"/registrar/enrollments{query}")

    assert status == 200
    assert [links[link] for link in order_of(body, list(links))] == expected


def test_enrollments_show_each_rows_payments_only(client, registrar):
    paid = enrolled("Pay Twice")
    TuitionPaymentFactory(enrollment=paid, amount_minor=100_000)
    TuitionPaymentFactory(enrollment=paid, amount_minor=250_000)
    enrolled("Pay Never")

    _, body = listed(client, "/registrar/enrollments?q=pay%20twice")

    assert "€3,500.00" in body and "2 payments" in body


@pytest.mark.parametrize(
    "query",
    [
        "programme=abc",
        "programme=99999999999999999999999",
        "status=expelled",
        "guarantee=maybe",
        "sort=password",
        "order=up",
        "q=a%00b",
        "q=" + "y" * 101,
    ],
)
def test_enrollments_bad_parameter_is_400_and_ignored(client, registrar, query):
    enrollment = enrolled("Still Listed")

    status, body = listed(client, f"/registrar/enrollments?{query}")

    assert status == 400
    assert "it was ignored" in body or "printable characters" in body
    assert row_link(enrollment) in body


@pytest.mark.parametrize("number", ["99999999999999999999", "-1", "x", "0"])
def test_enrollments_any_page_number_shows_a_page(client, registrar, number):
    enrollment = enrolled("On A Page")

    status, body = listed(client, f"/registrar/enrollments?page={number}")

    assert status == 200 and row_link(enrollment) in body


def test_enrollments_pages_keep_search_and_sort(client, registrar, monkeypatch):
    monkeypatch.setattr("app.pages.registrar.enrollments.PER_PAGE", 2)
    for letter in "abc":
        enrolled(f"Kim {letter}")

    _, first = listed(client, "/registrar/enrollments?q=kim&sort=name&order=asc")

    assert "page=2" in first and "q=kim" in first and "sort=name" in first


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", list(listings.EnrollmentSort))
def test_enrollments_pages_by_key_are_the_pages_by_number(session, sort, descending):
    # Keys shared by several rows, and rows without an expected graduation (last either way).
    for n in range(9):
        enrolled(
            f"Same {n % 2}",
            signed_on=date(2024, 1, 1 + n % 3),
            expected_graduation_on=None if n % 3 == 0 else date(2025, 6, 1 + n % 2),
        )
    session.flush()
    query = listings.EnrollmentQuery(sort=sort, descending=descending)

    def ids(page):
        return [row.enrollment.id for row in page.items]

    by_number = [ids(listings.enrollments_page(session, n, query, size=2)) for n in range(1, 6)]
    page = listings.enrollments_page(session, 1, query, size=2)
    forward = [ids(page)]
    while page.next_after:
        # The seek itself finds the page, not the OFFSET it falls back on.
        sought = listings._seek_ids(
            session, query, page.number + 1, 2, after=page.next_after, before=None
        )
        page = listings.enrollments_page(
            session, page.number + 1, query, size=2, after=page.next_after
        )
        assert sought == ids(page)
        forward.append(ids(page))
    backward = [ids(page)]
    while page.previous_before:
        sought = listings._seek_ids(
            session, query, page.number - 1, 2, after=None, before=page.previous_before
        )
        page = listings.enrollments_page(
            session, page.number - 1, query, size=2, before=page.previous_before
        )
        assert sought == ids(page)
        backward.append(ids(page))

    assert forward == by_number
    assert backward == by_number[::-1]


def test_enrollments_next_link_names_the_row_it_follows(client, registrar, monkeypatch):
    monkeypatch.setattr("app.pages.registrar.enrollments.PER_PAGE", 2)
    made = [enrolled(f"Kim {letter}") for letter in "abc"]

    _, first = listed(client, "/registrar/enrollments?sort=name&order=asc")
    next_address = re.search(r'href="([^"]*)" *>Next page', first).group(1).replace("&amp;", "&")
    _, second = listed(client, next_address)

    assert "after=" in next_address
    assert row_link(made[2]) in second and row_link(made[0]) not in second
    assert "before=" in second


# --- accounts --------------------------------------------------------------------------------


def test_accounts_search_filter_and_sort(client, session, admin):
    chloe = UserFactory(role=Role.FINANCE, name="Chloé Dubois", email="c.dubois@school.example")
    off = UserFactory(role=Role.FINANCE, name="Otto Off", active=False)
    registrar = UserFactory(role=Role.REGISTRAR, name="Rita Reg")
    emails = [chloe.email, off.email, registrar.email]

    _, by_name = listed(client, "/admin/accounts?q=CHLOE")
    _, finance = listed(client, "/admin/accounts?role=finance&status=active")
    _, by_name_desc = listed(client, "/admin/accounts?sort=name&order=desc&q=o")

    assert order_of(by_name, emails) == [chloe.email]
    assert order_of(finance, emails) == [chloe.email]
    assert order_of(by_name_desc, emails) == [registrar.email, off.email, chloe.email]


@pytest.mark.parametrize(
    "query", ["role=superuser", "status=sleeping", "sort=password_hash", "order=x", "q=%00"]
)
def test_accounts_bad_parameter_is_400_and_ignored(client, admin, query):
    status, body = listed(client, f"/admin/accounts?{query}")

    assert status == 400
    assert admin.email in body


def test_accounts_any_page_number_shows_a_page(client, admin):
    status, body = listed(client, "/admin/accounts?page=99999999999999999999")

    assert status == 200 and admin.email in body


# --- statements per page ----------------------------------------------------------------------


def statements_for(client, session, path: str) -> int:
    engine = session.get_bind().engine
    seen = []

    def count(*args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_enrollments_run_as_many_statements_for_twenty_rows_as_for_two(
    client, session, registrar, monkeypatch
):
    for number in range(20):
        enrollment = enrolled(f"Many {number}")
        TuitionPaymentFactory(enrollment=enrollment)
        if number % 2:
            GraduationFactory(enrollment=enrollment)
    path = "/registrar/enrollments?q=many&sort=name"

    monkeypatch.setattr("app.pages.registrar.enrollments.PER_PAGE", 2)
    small = statements_for(client, session, path)
    monkeypatch.setattr("app.pages.registrar.enrollments.PER_PAGE", 20)
    large = statements_for(client, session, path)

    assert large == small


def test_accounts_run_as_many_statements_for_twenty_rows_as_for_two(
    client, session, admin, monkeypatch
):
    for number in range(10):
        UserFactory(role=Role.GRADUATE, name=f"Many {number}", student=StudentFactory())
        UserFactory(role=Role.FINANCE, name=f"Many more {number}")
    monkeypatch.setattr("app.pages.admin.ACCOUNTS_PER_PAGE", 2)
    small = statements_for(client, session, "/admin/accounts?q=many")
    monkeypatch.setattr("app.pages.admin.ACCOUNTS_PER_PAGE", 20)
    large = statements_for(client, session, "/admin/accounts?q=many")

    assert large == small


# --- graduations ------------------------------------------------------------------------------


def varied_graduations() -> list:
    """Graduations in every situation the status depends on."""
    qualified = date(2025, 6, 2)
    plain = GraduationFactory(qualified_on=qualified)
    placed = GraduationFactory(qualified_on=qualified)
    JobOutcomeFactory(graduation=placed, start_date=date(2025, 9, 1))
    out_of_field = GraduationFactory(qualified_on=qualified)
    JobOutcomeFactory(graduation=out_of_field, in_field=False)
    paused = GraduationFactory(qualified_on=qualified, enrollment__policy__max_pause_days=30)
    SearchPauseFactory(graduation=paused)
    SearchPauseFactory(graduation=paused, starts_on=date(2025, 11, 1), ends_on=date(2025, 11, 30))
    excluded = GraduationFactory(qualified_on=qualified)
    ExcludedOutcomeFactory(graduation=excluded)
    not_covered = GraduationFactory(qualified_on=qualified, enrollment__guarantee_opt_in=False)
    recent = GraduationFactory(qualified_on=date(2026, 11, 2))
    return [plain, placed, out_of_field, paused, excluded, not_covered, recent]


@pytest.mark.parametrize("as_of", [date(2025, 12, 1), date(2026, 2, 1), date(2026, 12, 5)])
def test_the_pages_statuses_are_what_evaluate_guarantee_says(session, as_of):
    graduations = varied_graduations()

    statuses = guarantee_statuses(session, graduations, as_of)

    assert statuses == {
        graduation.id: evaluate_guarantee(session, graduation.id, as_of).status
        for graduation in graduations
    }
    assert len({status.state for status in statuses.values()}) >= 3  # the cases differ


def test_graduations_run_as_many_statements_for_twenty_rows_as_for_two(
    client, session, registrar, monkeypatch
):
    for _ in range(3):
        varied_graduations()
    path = "/registrar/graduations"

    monkeypatch.setattr("app.pages.registrar.graduations.PER_PAGE", 2)
    small = statements_for(client, session, path)
    monkeypatch.setattr("app.pages.registrar.graduations.PER_PAGE", 20)
    large = statements_for(client, session, path)

    assert large == small


def test_enrollments_read_the_programmes_once(client, session, registrar):
    enrolled("Once")
    engine = session.get_bind().engine
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/registrar/enrollments").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert sum("FROM programmes ORDER BY" in statement for statement in seen) == 1
