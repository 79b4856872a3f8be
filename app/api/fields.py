"""marshmallow fields for the API's values: ids, money, codes and free text."""

from __future__ import annotations

import re
from datetime import UTC

import pycountry
from marshmallow import ValidationError, fields, validate

from app.services.records import MAX_ID

#: Largest amount accepted, in minor units: ten billion in a two-decimal currency.
MAX_MINOR_UNITS = 10**12

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: Halves of a UTF-16 surrogate pair: JSON can carry one alone (``"\ud800"``), but no
#: database encoding can store it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")

#: A character text may hold: not a control character (tab, line feed and carriage return are
#: allowed). Written for both Python and ECMA-262 (the regular expressions of JSON Schema).
_TEXT_CHARACTER = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
#: Text as the document declares it: such characters only, at least one of them not blank.
#: (Half a surrogate pair is refused too, but no valid UTF-8 text holds one, and a pattern
#: naming them is one that some JSON Schema validators cannot compile.)
TEXT_PATTERN = rf"^{_TEXT_CHARACTER}*[^\x00-\x1f\x7f\s]{_TEXT_CHARACTER}*$"
#: A search term: the same characters, blank allowed.
SEARCH_PATTERN = rf"^{_TEXT_CHARACTER}*$"
#: One line of text: no control character at all, not blank.
ONE_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s][^\x00-\x1f\x7f]*$"


class Pattern(validate.Regexp):
    """A regular expression the whole value must match, documented as the schema's ``pattern``.

    marshmallow's ``Regexp`` matches at the start only, and Python's ``$`` matches before a
    final line feed: here the whole value must match, as JSON Schema reads ``pattern``.
    """

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class Text(fields.String):
    """A string, stripped, never blank, without control characters, at most ``max_length``.

    ``min_length=0`` allows blank, for an optional search term; ``one_line`` refuses tabs and
    line breaks too. The length and the characters are checked before stripping, as the
    document states them: what it calls valid is accepted.
    """

    def __init__(
        self, max_length: int = 200, min_length: int = 1, one_line: bool = False, **kwargs
    ):
        pattern = ONE_LINE_PATTERN if one_line else TEXT_PATTERN if min_length else SEARCH_PATTERN
        super().__init__(
            validate=[
                validate.Length(min=min_length, max=max_length),
                Pattern(pattern, error="Must not be blank or contain control characters."),
            ],
            **kwargs,
        )
        self.max_length = max_length
        self.one_line = one_line

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.one_line and re.search(r"[\t\n\r]", text):
            raise ValidationError("Write it on one line.")
        if _CONTROL.search(text):
            raise ValidationError("Must not contain control characters.")
        if _SURROGATE.search(text):
            raise ValidationError("Must not contain unpaired surrogates.")
        if len(text) > self.max_length:
            raise ValidationError(f"Longer than maximum length {self.max_length}.")
        return text.strip()


class Email(fields.Email):
    """An email address, stored in lower case."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Length(max=254), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return (
            super()
            ._deserialize(value.strip() if isinstance(value, str) else value, attr, data, **kwargs)
            .lower()
        )


#: Every ISO 4217 currency code and ISO 3166-1 alpha-2 country code, as the document lists them.
CURRENCY_CODES = sorted(currency.alpha_3 for currency in pycountry.currencies)
COUNTRY_CODES = sorted(country.alpha_2 for country in pycountry.countries)


class CurrencyCode(fields.String):
    """An ISO 4217 currency code, in capitals as the standard writes it (``EUR``)."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=validate.OneOf(CURRENCY_CODES, error="Not an ISO 4217 currency code."),
            **kwargs,
        )


class CountryCode(fields.String):
    """An ISO 3166-1 alpha-2 country code, in capitals as the standard writes it (``GB``)."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=validate.OneOf(COUNTRY_CODES, error="Not an ISO 3166-1 alpha-2 country code."),
            **kwargs,
        )


class AnyCaseCurrencyCode(CurrencyCode):
    """A currency code in any case, upper-cased: for the cells of a CSV file."""

    def _deserialize(self, value, attr, data, **kwargs):
        return _upper_ascii(super()._deserialize(value, attr, data, **kwargs))


class AnyCaseCountryCode(CountryCode):
    """A country code in any case, upper-cased: for the cells of a CSV file."""

    def _deserialize(self, value, attr, data, **kwargs):
        return _upper_ascii(super()._deserialize(value, attr, data, **kwargs))


def _upper_ascii(code: str) -> str:
    # Only ASCII letters are upper-cased: "ß".upper() is "SS", South Sudan.
    code = code.strip()
    return code.upper() if code.isascii() else code


class UTCInstant(fields.AwareDateTime):
    """An ISO 8601 instant with its offset, returned in UTC."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            return instant.astimezone(UTC)
        except OverflowError as error:
            # 0001-01-01T00:00+01:00 is a valid ISO 8601 instant before the first UTC one.
            raise ValidationError("Out of the range of representable instants.") from error


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` in a JSON body, nothing else: not 0, 1, "yes" or "true"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class QueryBoolean(fields.Boolean):
    """``true`` or ``false`` in a query string, as the document writes a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value not in ("true", "false"):
            raise self.make_error("invalid", input=value)
        return value == "true"


def Id(*, strict: bool = True, **kwargs) -> fields.Integer:  # noqa: N802 - a field type
    """A record id; ``strict=False`` for a query string, whose values are all text."""
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def MinorUnits(*, allow_zero: bool = False, **kwargs) -> fields.Integer:  # noqa: N802
    """An amount of money in minor units (cents)."""
    return fields.Integer(
        strict=True,
        validate=validate.Range(min=0 if allow_zero else 1, max=MAX_MINOR_UNITS),
        **kwargs,
    )


class Cursor(fields.String):
    """Where a keyset page starts: the ``cursor`` of a previous page's ``next`` address."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "metadata",
            {
                "description": "Where the page starts: the cursor in a previous page's `next` "
                "address. It replaces `page`, and a deep page takes no longer than the first."
            },
        )
        super().__init__(**kwargs)
