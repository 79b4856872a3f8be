"""How the pages show money, dates and states."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from flask import Flask

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
