"""Form fields, validators and helpers the pages of several roles share."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pycountry
from flask import request
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from marshmallow import ValidationError as MarshmallowError
from marshmallow import validate as marshmallow_validate
from wtforms import SelectChoice, StringField, ValidationError
from wtforms.validators import Optional

from app.amounts import AmountError, parse_amount
from app.api.fields import MAX_MINOR_UNITS
from app.database import db_session
from app.pages.formatting import reader_locale, typed_salary
from app.services.errors import Conflict, Invalid, ServiceError

_CURRENCY = re.compile(r"[A-Za-z]{3}")


def strip(value):
    """A form filter: the text without surrounding spaces."""
    return value.strip() if isinstance(value, str) else value


class SalaryFields:
    """An optional yearly salary and its currency, typed in a form (a job or an offer)."""

    annual_salary = StringField(
        lazy_gettext("Annual salary before tax (optional)"),
        filters=[strip],
        validators=[Optional()],
    )
    salary_currency = StringField(
        lazy_gettext("Currency"), filters=[strip], validators=[Optional()]
    )

    #: The salary in minor units of ``salary_currency``, once validated.
    salary_minor: int | None = None

    def validate_salary_currency(self, field):
        # Match before upper-casing: "ß".upper() is "SS".
        code = field.data.upper() if _CURRENCY.fullmatch(field.data) else ""
        if pycountry.currencies.get(alpha_3=code) is None:
            raise ValidationError(
                gettext("Enter a three-letter currency code, such as EUR or GBP.")
            )
        field.data = code

    def _check_salary(self) -> bool:
        ok, self.salary_minor = typed_salary(
            self.annual_salary, self.salary_currency, MAX_MINOR_UNITS
        )
        return ok


# -- Fields and validators ---------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def plain_text(_form, field) -> None:
    """Refuse control characters, which no one types and some databases cannot store."""
    if field.data and _CONTROL.search(field.data):
        raise ValidationError("Remove the control characters from this text.")


def email_address(_form, field) -> None:
    """An email address, kept in lower case."""
    try:
        marshmallow_validate.Email()(field.data or "")
    except MarshmallowError as error:
        raise ValidationError("Enter an email address such as name@example.org.") from error
    field.data = field.data.lower()


def currency_code(_form, field) -> None:
    """An ISO 4217 code (lower case accepted)."""
    code = field.data or ""
    if not re.fullmatch(r"[A-Za-z]{3}", code) or not pycountry.currencies.get(alpha_3=code.upper()):
        raise ValidationError("Enter an ISO 4217 currency code such as EUR, USD or GBP.")
    field.data = code.upper()


def country_code(_form, field) -> None:
    """An ISO 3166-1 alpha-2 code (lower case accepted)."""
    code = field.data or ""
    if not re.fullmatch(r"[A-Za-z]{2}", code) or not pycountry.countries.get(alpha_2=code.upper()):
        raise ValidationError("Enter a two-letter country code such as FR, GB or US.")
    field.data = code.upper()


class MoneyField(StringField):
    """An amount typed in the currency's main unit as the reader writes numbers (``6 500,00``,
    ``6,500.00``, ``6500.00``: ``app.amounts``); ``minor`` holds it in minor units.

    The currency is the form's ``amount_currency``: known only once the rest of the form is
    read (the programme chosen, the currency typed), so the conversion runs after validation.
    """

    def __init__(self, label=None, validators=None, *, allow_zero: bool = False, **kwargs):
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, filters=[strip], render_kw=render_kw, **kwargs)
        self.allow_zero = allow_zero
        self.minor: int | None = None

    def post_validate(self, form, validation_stopped: bool) -> None:
        self.minor = None
        if validation_stopped or self.errors or not self.data:
            return
        currency = form.amount_currency
        if currency is None:
            return  # the currency's own error says what to fix
        try:
            minor = parse_amount(self.data, currency, reader_locale(), allow_zero=self.allow_zero)
        except AmountError as error:
            raise ValidationError(str(error)) from error
        if minor > MAX_MINOR_UNITS:
            raise ValidationError("That amount is larger than the service accepts.")
        self.minor = minor


def optional_id(value) -> int | None:
    """A select's coercion: an id, or None for the empty "choose one" option."""
    if value in (None, ""):
        return None
    return int(value)


def select_choices(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    return [SelectChoice(value=str(value), label=label) for value, label in pairs]


class PageForm(FlaskForm):
    """A form of these pages.

    CSRFProtect checks the token of every POST before any view runs, so the form does not
    check it again; templates put the token in with ``csrf_field()``.
    """

    class Meta:
        csrf = False

    #: The currency of the form's amounts, when it is known.
    amount_currency: str | None = None


# -- Reading the query string and a service's refusal ------------------------------------------


def page_number() -> int:
    """The ``page`` asked for in the query string (1 when absent or wrong)."""
    return max(1, request.args.get("page", 1, type=int))


def refused(form: FlaskForm, error: ServiceError, field_of: dict[str, str]) -> int:
    """Put a service's refusal on the form and roll back; the status to answer with.

    ``field_of`` names the form field of each service argument that differs from it. A reason
    whose field the form lacks is shown for the form as a whole.
    """
    db_session().rollback()
    if isinstance(error, Invalid):
        for name, reasons in error.errors.items():
            _add_error(form, field_of.get(name, name), [_sentence(reason) for reason in reasons])
        return 400
    if isinstance(error, Conflict):
        _add_error(form, field_of.get(error.field, error.field), [_sentence(error.message)])
        return 409
    raise error


def _add_error(form: FlaskForm, name: str | None, reasons: list[str]) -> None:
    field = form._fields.get(name) if name else None
    if field is None:
        form.form_errors.extend(reasons)
    else:
        field.errors = [*field.errors, *reasons]


def _sentence(text: str) -> str:
    # Services speak in clauses ("a student with email ... exists already"); pages in sentences.
    return f"{text[:1].upper()}{text[1:]}" + ("" if text.endswith(".") else ".")
