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


class Text(fields.String):
    """A string, stripped, never blank, without control characters, at most ``max_length``.

    ``min_length=0`` allows blank, for an optional search term.
    """

    def __init__(self, max_length: int = 200, min_length: int = 1, **kwargs):
        super().__init__(validate=validate.Length(min=min_length, max=max_length), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if _CONTROL.search(text):
            raise ValidationError("Must not contain control characters.")
        if _SURROGATE.search(text):
            raise ValidationError("Must not contain unpaired surrogates.")
        return text


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


class CurrencyCode(fields.String):
    """An ISO 4217 currency code; lower case is accepted and upper-cased."""

    def _deserialize(self, value, attr, data, **kwargs):
        # Match before upper-casing: "ß".upper() is "SS".
        code = super()._deserialize(value, attr, data, **kwargs).strip()
        if not re.fullmatch(r"[A-Za-z]{3}", code):
            raise ValidationError("Not an ISO 4217 currency code.")
        code = code.upper()
        if pycountry.currencies.get(alpha_3=code) is None:
            raise ValidationError("Not an ISO 4217 currency code.")
        return code


class CountryCode(fields.String):
    """An ISO 3166-1 alpha-2 country code; lower case is accepted and upper-cased."""

    def _deserialize(self, value, attr, data, **kwargs):
        # Match before upper-casing: "ß".upper() is "SS", South Sudan.
        code = super()._deserialize(value, attr, data, **kwargs).strip()
        if not re.fullmatch(r"[A-Za-z]{2}", code):
            raise ValidationError("Not an ISO 3166-1 alpha-2 country code.")
        code = code.upper()
        if pycountry.countries.get(alpha_2=code) is None:
            raise ValidationError("Not an ISO 3166-1 alpha-2 country code.")
        return code


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
