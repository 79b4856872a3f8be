"""How the pages show money, dates and states, and write CSV downloads."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision
from flask import Flask, Response

LOCALE = "en_GB"


def major_units(amount_minor: int, currency: str) -> Decimal:
    """``650000, "EUR"`` -> ``Decimal("6500.00")``: minor units in the currency's main unit."""
    return Decimal(amount_minor).scaleb(-get_currency_precision(currency))


def minor_units(amount: Decimal, currency: str) -> int:
    """``Decimal("6500.5"), "EUR"`` -> ``650050``; ``ValueError`` past the currency's decimals."""
    precision = get_currency_precision(currency)
    minor = amount.scaleb(precision)
    if minor != minor.to_integral_value():
        decimals = f"{precision} decimals" if precision else "no decimals"
        raise ValueError(f"{currency} amounts have {decimals}.")
    return int(minor)


#: What people put inside typed amounts: spaces and thousands separators.
_SPACES_AND_SEPARATORS = re.compile(r"[\s,'_]")


def typed_salary(amount_field, currency_field, maximum_minor: int) -> tuple[bool, int | None]:
    """Read an optional yearly salary typed in a form: ``(valid, minor units or None)``.

    Errors go on the form's fields, as WTForms validators put them.
    """
    text = amount_field.data
    if not text:
        return True, None
    if currency_field.errors:
        return False, None
    if not currency_field.data:
        currency_field.errors.append("Give the currency of the salary.")
        return False, None
    try:
        amount = Decimal(_SPACES_AND_SEPARATORS.sub("", text))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        amount_field.errors.append("Enter an amount such as 42000 or 42000.50.")
        return False, None
    try:
        minor = minor_units(amount, currency_field.data)
    except ValueError:
        amount_field.errors.append("Too many decimal places for this currency.")
        return False, None
    if not 0 < minor <= maximum_minor:
        amount_field.errors.append("Enter an amount above zero.")
        return False, None
    return True, int(minor)


#: What makes a spreadsheet read a cell as a formula when it opens a CSV file.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """``value`` as a CSV cell a spreadsheet will not run: text that would start a formula
    (a job title typed as ``=HYPERLINK(...)``) gets a leading apostrophe; numbers pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_download(lines: Iterable[Iterable], filename: str) -> Response:
    """``lines`` as a CSV file to download (RFC 4180 line ends), every cell spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    # Names and job titles are typed by people, graduates included: never formulas.
    writer.writerows([spreadsheet_cell(cell) for cell in line] for line in lines)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def money(amount_minor: int | None, currency: str) -> str:
    """``650000, "EUR"`` -> ``€6,500.00``: the currency's symbol, thousands separators."""
    if amount_minor is None:
        return "—"
    return format_currency(major_units(amount_minor, currency), currency, locale=LOCALE)


def day(value: date | datetime | None) -> str:
    """``2026-02-28`` -> ``28 Feb 2026``."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y %H:%M UTC")
    return value.strftime("%d %b %Y")


def words(value) -> str:
    """An enum value for people: ``owed_refund`` -> ``owed refund``."""
    text = getattr(value, "value", value)
    return str(text).replace("_", " ") if text is not None else "—"


def init_app(app: Flask) -> None:
    app.add_template_filter(money)
    app.add_template_filter(day)
    app.add_template_filter(words)
