"""How the pages show money, dates and states, and write CSV downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_currency, format_percent, get_currency_precision
from flask import Flask, Response
from flask_babel import get_locale
from flask_babel import gettext as _

from app.amounts import AmountError, parse_amount
from app.i18n import current_time_zone
from app.labels import label
from app.pages.csv_columns import title

#: The locale of text written outside any request or job (a CLI's output).
LOCALE = "en_GB"


def reader_locale() -> str:
    """The locale of whoever reads what is being written (``fr_CA`` ...)."""
    locale = get_locale()
    return str(locale) if locale is not None else LOCALE


def major_units(amount_minor: int, currency: str) -> Decimal:
    """``650000, "EUR"`` -> ``Decimal("6500.00")``: minor units in the currency's main unit."""
    return Decimal(amount_minor).scaleb(-get_currency_precision(currency))


def minor_units(amount: Decimal, currency: str) -> int:
    """``Decimal("6500.5"), "EUR"`` -> ``650050``; ``ValueError`` past the currency's decimals."""
    precision = get_currency_precision(currency)
    minor = amount.scaleb(precision)
    if minor != minor.to_integral_value():
        if precision:
            raise ValueError(
                _(
                    "%(currency)s amounts have %(count)s decimals at most.",
                    currency=currency,
                    count=precision,
                )
            )
        raise ValueError(_("%(currency)s amounts have no decimals.", currency=currency))
    return int(minor)


def typed_salary(amount_field, currency_field, maximum_minor: int) -> tuple[bool, int | None]:
    """Read an optional yearly salary typed in a form: ``(valid, minor units or None)``.

    The amount is read as the reader writes numbers (``app.amounts``). Errors go on the form's
    fields, as WTForms validators put them.
    """
    text = amount_field.data
    if not text:
        return True, None
    if currency_field.errors:
        return False, None
    if not currency_field.data:
        currency_field.errors.append(_("Give the currency of the salary."))
        return False, None
    try:
        minor = parse_amount(text, currency_field.data, reader_locale())
    except AmountError as error:
        amount_field.errors.append(str(error))
        return False, None
    if minor > maximum_minor:
        amount_field.errors.append(_("That amount is larger than the service accepts."))
        return False, None
    return True, minor


#: What makes a spreadsheet read a cell as a formula when it opens a CSV file.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """``value`` as a CSV cell a spreadsheet will not run: text that would start a formula
    (a job title typed as ``=HYPERLINK(...)``) gets a leading apostrophe; numbers pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_download(
    lines: Iterable[Iterable], filename: str, *, columns: Iterable[str] = ()
) -> Response:
    """``lines`` as a CSV file to download (RFC 4180 line ends), every cell spreadsheet-safe,
    under a header of ``columns`` titled in the reader's language (``csv_columns.title``).

    UTF-8 with a byte order mark: without one, Excel reads the file as the computer's legacy
    encoding and "Chloé" comes out as "ChloÃ©".
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    columns = [title(column) for column in columns]
    if columns:
        writer.writerow(columns)
    # Names and job titles are typed by people, graduates included: never formulas.
    writer.writerows([spreadsheet_cell(cell) for cell in line] for line in lines)
    return Response(
        out.getvalue().encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def money(amount_minor: int | None, currency: str) -> str:
    """``650000, "EUR"`` -> ``€6,500.00`` (en_GB), ``6 500,00 €`` (fr_FR): as the reader writes."""
    if amount_minor is None:
        return "—"
    return format_currency(major_units(amount_minor, currency), currency, locale=reader_locale())


def day(value: date | datetime | None) -> str:
    """``2026-02-28`` -> ``28 Feb 2026`` (``28 févr. 2026`` ...); an instant in the reader's time
    zone, named: ``28 Feb 2026, 19:00 (Paris)``."""
    if value is None:
        return "—"
    locale = reader_locale()
    if isinstance(value, datetime):
        zone = current_time_zone()
        local = value.astimezone(zone)
        place = str(zone.key).rsplit("/", 1)[-1].replace("_", " ")
        return (
            f"{format_date(local.date(), 'medium', locale=locale)}, "
            f"{format_time(local, 'short', locale=locale)} ({place})"
        )
    return format_date(value, "medium", locale=locale)


def month(value: date, skeleton: str = "yMMMM") -> str:
    """``2026-01-01`` -> ``January 2026`` (``janvier 2026``); another CLDR skeleton gives a
    shorter form: ``"yMMM"`` ``Jan 2026``, ``"MMM"`` ``Jan``, ``"dMMM"`` ``1 Jan``."""
    return format_skeleton(skeleton, value, locale=reader_locale())


def share(fraction: Decimal | float) -> str:
    """``0.571`` -> ``57.1%`` (``57,1 %`` in French): a share as a percentage with one decimal,
    written as the reader writes percentages."""
    locale = reader_locale()
    pattern = Locale.parse(locale).percent_formats[None].pattern.replace("#,##0", "#,##0.0", 1)
    return format_percent(fraction, format=pattern, locale=locale)


def words(value) -> str:
    """A coded value for people, in their language: ``owed_refund`` -> ``owed refund``."""
    return label(value)


def init_app(app: Flask) -> None:
    app.add_template_filter(money)
    app.add_template_filter(day)
    app.add_template_filter(month)
    app.add_template_filter(share)
    app.add_template_filter(words)
