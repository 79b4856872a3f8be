"""Amounts as people type them: one reader for every money field of the pages and the import.

People write "42 000,50" in Paris, "42,000.50" in London and "42 000,50 $" in Montreal; a
spreadsheet may keep "42000.5". ``parse_amount`` reads each of these the way its writer meant,
in minor units of the currency, and refuses what could mean two things rather than guess:
"42.000" is forty-two thousand to a French reader and forty-two to an English one, so it is
refused everywhere (unless the currency itself has three decimals), with a reason that says how
to write it. Spaces of any kind (the narrow no-break space French number formats use included)
and apostrophes group thousands; a separator followed by one, two or four and more digits is the
decimal separator; several of one kind group thousands, and with both kinds the last one is the
decimal separator.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import (
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)
from flask_babel import gettext

#: Grouping marks that can never be a decimal separator.
_GROUPING = re.compile(r"[\s\u00a0\u202f\u2009'\u2019_]")
_DIGITS_AND_SEPARATORS = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
_GROUPED = re.compile(r"[0-9]{1,3}(?:X[0-9]{3})+")


class AmountError(ValueError):
    """The text is not an amount, or could be read two ways; the message says what to write."""


def parse_amount(text: str, currency: str, locale: str, *, allow_zero: bool = False) -> int:
    """``"42 000,50", "EUR", "fr_FR"`` -> ``4200050``: a typed amount in minor units."""
    cleaned = _without_currency(text.strip(), currency, locale)
    cleaned = _GROUPING.sub("", cleaned)
    if cleaned.startswith("-"):
        raise AmountError(gettext("Enter an amount above zero."))
    if not _DIGITS_AND_SEPARATORS.fullmatch(cleaned):
        raise AmountError(
            gettext("Write the amount in digits, such as %(example)s.", example=example(locale))
        )
    number = Decimal(_plain(cleaned, currency, locale))
    precision = get_currency_precision(currency)
    minor = number.scaleb(precision)
    if minor != minor.to_integral_value():
        if precision == 0:
            raise AmountError(gettext("%(currency)s amounts have no decimals.", currency=currency))
        raise AmountError(
            gettext(
                "%(currency)s amounts have %(count)s decimals at most.",
                currency=currency,
                count=precision,
            )
        )
    if minor < (0 if allow_zero else 1):
        raise AmountError(gettext("Enter an amount above zero."))
    return int(minor)


def example(locale: str) -> str:
    """How a reader of ``locale`` writes six thousand five hundred: ``6 500,00``, ``6,500.00``."""
    return format_decimal(Decimal("6500.00"), format="#,##0.00", locale=locale)


def _without_currency(text: str, currency: str, locale: str) -> str:
    for mark in (currency, get_currency_symbol(currency, locale), "€", "$", "£"):
        text = text.replace(mark, "")
    return text.strip()


def _plain(text: str, currency: str, locale: str) -> str:
    """``text`` (digits, dots and commas only) as a plain decimal: ``"42000.50"``."""
    marks = [mark for mark in ".," if mark in text]
    if not marks:
        return text
    if len(marks) == 2:
        decimal_mark = max(marks, key=text.rindex)
        group_mark = "," if decimal_mark == "." else "."
        whole, _, fraction = text.rpartition(decimal_mark)
        if decimal_mark in whole or not _grouped(whole, group_mark):
            raise _unreadable(locale)
        return f"{whole.replace(group_mark, '')}.{fraction}"
    (mark,) = marks
    if text.count(mark) > 1:
        if not _grouped(text, mark):
            raise _unreadable(locale)
        return text.replace(mark, "")
    whole, _, fraction = text.partition(mark)
    if len(fraction) != 3 or len(whole) > 3 or whole.startswith("0"):
        return f"{whole}.{fraction}"  # no thousands separator stands there
    # One mark before three digits: thousands or decimals? Only the reader's locale can say,
    # and only when the mark means one thing in it.
    is_decimal = mark == get_decimal_symbol(locale)
    is_group = mark == get_group_symbol(locale)
    if is_group and not is_decimal:
        return f"{whole}{fraction}"
    if is_decimal and get_currency_precision(currency) == 3:
        return f"{whole}.{fraction}"
    thousands = whole + fraction
    decimals = format_decimal(Decimal(f"{whole}.{fraction}"), format="0.00", locale=locale)
    raise AmountError(
        gettext(
            "%(text)s could be read two ways: write %(thousands)s for thousands, or %(decimals)s"
            " with the decimals.",
            text=text,
            thousands=thousands,
            decimals=decimals,
        )
    )


def _grouped(text: str, mark: str) -> bool:
    return bool(_GROUPED.fullmatch(text.replace(mark, "X")))


def _unreadable(locale: str) -> AmountError:
    return AmountError(
        gettext("Write the amount in digits, such as %(example)s.", example=example(locale))
    )
