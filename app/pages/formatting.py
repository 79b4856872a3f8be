"""How the pages show money, dates and states."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from flask import Flask

LOCALE = "en_GB"


def money(amount_minor: int | None, currency: str) -> str:
    """``650000, "EUR"`` -> ``€6,500.00``: the currency's symbol, thousands separators."""
    if amount_minor is None:
        return "—"
    precision = get_currency_precision(currency)
    amount = Decimal(amount_minor).scaleb(-precision)
    return format_currency(amount, currency, locale=LOCALE)


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
