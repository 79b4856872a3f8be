"""The trust rule for an employer contact a graduate types."""

from __future__ import annotations

import pytest

from app.guarantee.contacts import contact_problem, mailbox_of

GRADUATE = ["ada@gmail.com", "ada@lovelace.dev"]


@pytest.mark.parametrize(
    ("contact", "why"),
    [
        ("ada@gmail.com", "own address"),
        ("A.D.A+boss@GoogleMail.com", "own address"),
        ("ada+hr@lovelace.dev", "own address"),
        ("boss@lovelace.dev", "own mail domain"),
        ("hr@mail.lovelace.dev", "own mail domain"),
        ("hr@LOVELACE.dev.", "own mail domain"),
    ],
)
def test_a_graduate_cannot_name_an_address_they_can_read(contact, why):
    assert why in contact_problem(contact, GRADUATE)


@pytest.mark.parametrize(
    "contact",
    ["hr@acme.example", "boss@gmail.com", "ada@acme.example", "hr@notlovelace.dev"],
)
def test_other_addresses_are_accepted_though_unverified(contact):
    assert contact_problem(contact, GRADUATE) is None


def test_a_shared_public_provider_says_nothing_about_who_reads_the_mail():
    assert contact_problem("someone.else@outlook.com", ["ada@outlook.com"]) is None


def test_mailbox_of_drops_tags_and_gmail_dots_only_there():
    assert mailbox_of("A.Da+x@gmail.com") == "ada@gmail.com"
    assert mailbox_of("a.da+x@acme.example") == "a.da@acme.example"
