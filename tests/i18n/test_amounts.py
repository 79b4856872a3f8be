"""Amounts typed by people of each locale: read as meant, or refused with a reason."""

from __future__ import annotations

import pytest
from babel.numbers import format_currency, format_decimal
from hypothesis import given
from hypothesis import strategies as st

from app.amounts import AmountError, parse_amount
from app.pages.formatting import major_units

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("text", "currency", "locale", "minor"),
    [
        # The two: a French salary with a space and a decimal comma.
        ("42 000,50", "EUR", "fr_FR", 4200050),
        ("42 000,50", "CAD", "fr_CA", 4200050),
        (f"42{NNBSP}000,50{NBSP}€", "EUR", "fr_FR", 4200050),
        (f"42{NBSP}000,50 $", "CAD", "fr_CA", 4200050),
        ("42 000,50", "EUR", "en_GB", 4200050),  # a French writer on an English page
        ("42,000.50", "GBP", "en_GB", 4200050),
        ("£42,000.50", "GBP", "en_GB", 4200050),
        ("$42,000.50", "USD", "en_US", 4200050),
        ("42,000.50", "CAD", "en_CA", 4200050),
        ("42.000,50", "EUR", "fr_FR", 4200050),  # German-style grouping, still one reading
        ("1,234,567", "USD", "en_US", 123456700),
        ("1.234.567", "EUR", "fr_FR", 123456700),
        ("42,000", "USD", "en_US", 4200000),  # en: a comma before three digits groups
        ("42000.5", "EUR", "fr_FR", 4200050),  # a spreadsheet's plain decimal
        ("42000,5", "EUR", "en_GB", 4200050),
        ("6500.00", "EUR", "en_GB", 650000),
        ("6500", "EUR", "fr_FR", 650000),
        ("0,50", "EUR", "fr_FR", 50),
        ("1234.567", "KWD", "en_GB", 1234567),  # three decimals are the currency's own
        ("4200", "JPY", "fr_FR", 4200),
        ("42'000.50", "CHF", "en_GB", 4200050),
    ],
)
def test_an_amount_is_read_as_its_writer_meant(text, currency, locale, minor):
    assert parse_amount(text, currency, locale) == minor


@pytest.mark.parametrize(
    ("text", "currency", "locale", "reason"),
    [
        # "42.000" is 42,000 to a French reader and 42 to an English one: never guessed.
        ("42.000", "EUR", "fr_FR", "could be read two ways"),
        ("42.000", "EUR", "en_GB", "could be read two ways"),
        ("42,000", "EUR", "fr_FR", "could be read two ways"),
        ("42,000", "CAD", "fr_CA", "could be read two ways"),
        ("6500.123", "EUR", "en_GB", "EUR amounts have 2 decimals"),
        ("100.5", "JPY", "en_GB", "JPY amounts have no decimals"),
        ("lots", "EUR", "en_GB", "Write the amount in digits"),
        ("", "EUR", "en_GB", "Write the amount in digits"),
        ("1,2.3", "EUR", "en_GB", "Write the amount in digits"),
        ("12,34,567", "USD", "en_US", "Write the amount in digits"),
        ("-5", "EUR", "en_GB", "above zero"),
        ("0", "EUR", "en_GB", "above zero"),
        ("4e5", "EUR", "en_GB", "Write the amount in digits"),
        ("NaN", "EUR", "en_GB", "Write the amount in digits"),
    ],
)
def test_an_amount_that_cannot_be_read_one_way_is_refused_with_its_reason(
    text, currency, locale, reason
):
    with pytest.raises(AmountError, match=reason):
        parse_amount(text, currency, locale)


def test_zero_is_accepted_where_the_field_allows_it():
    assert parse_amount("0,00", "EUR", "fr_FR", allow_zero=True) == 0


LOCALES = ["en_GB", "en_US", "en_CA", "fr_FR", "fr_CA"]


@given(
    minor=st.integers(min_value=1, max_value=10**13),
    currency=st.sampled_from(["EUR", "GBP", "USD", "CAD", "JPY"]),
    locale=st.sampled_from(LOCALES),
)
def test_what_the_pages_show_reads_back_as_the_same_amount(minor, currency, locale):
    """An amount shown to a reader (``6 500,00 €``, or ``6 500,5`` without the currency), typed
    back by them, is the same amount."""
    shown = format_currency(major_units(minor, currency), currency, locale=locale)
    assert parse_amount(shown, currency, locale) == minor
    written = format_decimal(major_units(minor, currency), locale=locale)
    assert parse_amount(written, currency, locale) == minor
