"""Form fields the pages of several roles share."""

from __future__ import annotations

import re

import pycountry
from wtforms import StringField, ValidationError
from wtforms.validators import Optional

from app.api.fields import MAX_MINOR_UNITS
from app.pages.formatting import typed_salary

_CURRENCY = re.compile(r"[A-Za-z]{3}")


def strip(value):
    """A form filter: the text without surrounding spaces."""
    return value.strip() if isinstance(value, str) else value


class SalaryFields:
    """An optional yearly salary and its currency, typed in a form (a job or an offer)."""

    annual_salary = StringField(
        "Annual salary before tax (optional)", filters=[strip], validators=[Optional()]
    )
    salary_currency = StringField("Currency", filters=[strip], validators=[Optional()])

    #: The salary in minor units of ``salary_currency``, once validated.
    salary_minor: int | None = None

    def validate_salary_currency(self, field):
        # Match before upper-casing: "ß".upper() is "SS".
        code = field.data.upper() if _CURRENCY.fullmatch(field.data) else ""
        if pycountry.currencies.get(alpha_3=code) is None:
            raise ValidationError("Enter a three-letter currency code, such as EUR or GBP.")
        field.data = code

    def _check_salary(self) -> bool:
        ok, self.salary_minor = typed_salary(
            self.annual_salary, self.salary_currency, MAX_MINOR_UNITS
        )
        return ok
