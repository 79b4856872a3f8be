"""The long API lists: a page costs the same few statements whatever its size, and a keyset
page (``cursor``) lists the same items as the numbered page it stands for."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import (
    GraduationFactory,
    GuaranteePolicyFactory,
    RefundClaimFactory,
    StudentFactory,
    TuitionPaymentFactory,
)
from tests.statements import statements_sent


def _enrollments(count: int) -> None:
    """``count`` enrollments in one programme, each paid twice and graduated."""
    policy = GuaranteePolicyFactory()
    for number in range(count):
        graduation = GraduationFactory(
            enrollment__policy=policy,
            enrollment__student=StudentFactory(),
            enrollment__signed_on=date(2024, 1, 1) + timedelta(days=number % 7),
        )
        TuitionPaymentFactory.create_batch(2, enrollment=graduation.enrollment)


def _claims(count: int) -> None:
    for _ in range(count):
        RefundClaimFactory()


LISTS = [
    ("/api/v1/enrollments", _enrollments),
    ("/api/v1/graduations", _enrollments),
    ("/api/v1/claims", _claims),
]


@pytest.mark.parametrize(("path", "make"), LISTS)
def test_a_page_sends_as_many_statements_for_many_items_as_for_one(
    client, session, connection, path, make
):
    make(12)
    session.flush()

    def statements_for(page_size: int) -> int:
        with statements_sent(connection) as sent:
            response = client.get(f"{path}?page_size={page_size}")
        assert len(response.json["items"]) == page_size
        return len(sent)

    assert statements_for(12) == statements_for(1)


@pytest.mark.parametrize(("path", "make"), LISTS)
def test_following_next_pages_by_cursor_lists_what_page_numbers_list(client, session, path, make):
    make(7)
    session.flush()
    by_number = [
        item
        for page in (1, 2, 3)
        for item in client.get(f"{path}?page_size=3&page={page}").json["items"]
    ]

    by_cursor, pages, address = [], [], f"{path}?page_size=3"
    while address:
        response = client.get(address)
        assert response.status_code == 200, response.json
        by_cursor += response.json["items"]
        pages.append(response.json["pagination"]["page"])
        address = response.json["pagination"]["next"]

    assert [item["id"] for item in by_cursor] == [item["id"] for item in by_number]
    assert len(by_cursor) == 7
    assert pages == [1, 2, 3]


def test_a_cursor_address_keeps_the_filters(client, session):
    _enrollments(3)
    GraduationFactory(enrollment__signed_on=date(2024, 1, 1))
    session.flush()
    opted_in = client.get("/api/v1/enrollments?page_size=1&guarantee_opt_in=true").json

    second = client.get(opted_in["pagination"]["next"])

    assert "guarantee_opt_in=true" in opted_in["pagination"]["next"]
    assert "cursor=" in opted_in["pagination"]["next"]
    assert second.json["pagination"]["total"] == opted_in["pagination"]["total"]
    assert second.json["pagination"]["previous"].endswith("page=1&page_size=1")


@pytest.mark.parametrize(
    "cursor",
    ["nonsense", "WzEsWzFdXQ", "WzIsWyIyMDI0LTAxLTAxIl1d", "WzIsWyJ4IiwxXV0", "WzIsWzEsMl1d"],
)
def test_a_cursor_the_list_did_not_give_is_422_naming_it(client, session, cursor):
    # Not base64 JSON; page 1; one key of two; a day that is not one; a number for a day.
    _enrollments(2)
    session.flush()

    response = client.get(f"/api/v1/enrollments?page_size=1&cursor={cursor}")

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["cursor"]
