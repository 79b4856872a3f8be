"""Finance's expected liability page: expected refunds with their interval beside the worst case,
the backtest, each programme's placement curve, and a CSV export.

The figures are ``app.services.expected_liability``'s; this module only parses the day, computes
the charts' geometry and formats. Finance reads it (READ_CLAIMS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, Response, flash, render_template
from flask_babel import gettext as _

from app.auth import requires
from app.auth.access import Permission
from app.database import db_session
from app.guarantee.survival import Curve
from app.models.base import utc_now
from app.pages.finance import _forecast_day
from app.pages.formatting import csv_download, major_units, money, month
from app.services import expected_liability as liability_service

blueprint = Blueprint("liability", __name__, url_prefix="/finance")

#: Month chart geometry (SVG user units): the slot of each month, the plot's height and baseline.
SLOT, PLOT, BASE = 44, 150, 170
#: Curve chart geometry: width per day, the plot's height and its top.
DAY_WIDTH, CURVE_HEIGHT, CURVE_TOP = 2.4, 160, 10


@dataclass(frozen=True)
class MonthMark:
    """One month of the chart: the worst case bar, the interval, the expected mark and what was
    owed (past months only), as SVG coordinates."""

    month: date
    x: float
    middle: float
    worst_y: float
    low_y: float
    high_y: float
    expected_y: float
    actual_y: float | None
    title: str


def month_marks(report: liability_service.LiabilityReport, currency: str) -> list[MonthMark]:
    """The chart of one currency: the backtested months, then the months forecast."""
    past = [row for row in report.backtest if row.currency == currency]
    coming = [row for row in report.expected.rows if row.currency == currency]
    peak = max(
        [row.worst_case_minor for row in (*past, *coming)]
        + [row.actual_minor for row in past]
        + [row.upper_minor for row in (*past, *coming)]
        + [1]
    )

    def y(amount: int) -> float:
        return round(BASE - amount / peak * PLOT, 1)

    marks = []
    for index, row in enumerate([*past, *coming]):
        actual = getattr(row, "actual_minor", None)
        figures = {
            "month": month(row.month),
            "expected": money(row.expected_minor, currency),
            "lower": money(row.lower_minor, currency),
            "upper": money(row.upper_minor, currency),
            "worst": money(row.worst_case_minor, currency),
        }
        if actual is None:
            title = _(
                "%(month)s: expected %(expected)s (%(lower)s to %(upper)s), worst case %(worst)s",
                **figures,
            )
        else:
            title = _(
                "%(month)s: expected %(expected)s (%(lower)s to %(upper)s), worst case %(worst)s,"
                " owed %(owed)s",
                owed=money(actual, currency),
                **figures,
            )
        x = 8 + SLOT * index
        marks.append(
            MonthMark(
                row.month,
                x,
                x + SLOT / 2,
                y(row.worst_case_minor),
                y(row.lower_minor),
                y(row.upper_minor),
                y(row.expected_minor),
                y(actual) if actual is not None else None,
                title,
            )
        )
    return marks


def curve_path(curve: Curve, last_day: int) -> tuple[str, str]:
    """The step line of a curve and the polygon of its interval, in the curve chart's units."""

    def x(day: int) -> float:
        return round(8 + day * DAY_WIDTH, 1)

    def y(share: float) -> float:
        return round(CURVE_TOP + (1 - share) * CURVE_HEIGHT, 1)

    line, upper, lower = [f"{x(0)},{y(1)}"], [f"{x(0)},{y(1)}"], [f"{x(0)},{y(1)}"]
    previous = (1.0, 1.0, 1.0)
    for day, share, low, high in zip(
        curve.days, curve.survival, curve.lower, curve.upper, strict=True
    ):
        if day > last_day:
            break
        line += [f"{x(day)},{y(previous[0])}", f"{x(day)},{y(share)}"]
        upper += [f"{x(day)},{y(previous[2])}", f"{x(day)},{y(high)}"]
        lower += [f"{x(day)},{y(previous[1])}", f"{x(day)},{y(low)}"]
        previous = (share, low, high)
    line.append(f"{x(last_day)},{y(previous[0])}")
    upper.append(f"{x(last_day)},{y(previous[2])}")
    lower.append(f"{x(last_day)},{y(previous[1])}")
    return " ".join(line), " ".join(upper + list(reversed(lower)))


def _day() -> tuple[date, str | None]:
    """The ``as_of`` day (the forecast page's parameter), within the days a forecast covers."""
    as_of, error = _forecast_day()
    if not error and not liability_service.EARLIEST_DAY <= as_of <= liability_service.LATEST_DAY:
        return utc_now().date(), _(
            "%(day)s is outside %(first)s-%(last)s: showing today's forecast.",
            day=as_of.isoformat(),
            first=liability_service.EARLIEST_DAY.year,
            last=liability_service.LATEST_DAY.year,
        )
    return as_of, error


@blueprint.get("/liability")
@requires(Permission.READ_CLAIMS)
def expected():
    """The expected liability per month and currency, its backtest and the placement curves."""
    as_of, error = _day()
    if error:
        flash(error, "error")
    report = liability_service.liability_report(db_session(), as_of)
    currencies = sorted(
        {row.currency for row in report.expected.rows} | {row.currency for row in report.backtest}
    )
    last_day = 200
    shown = {
        key: curve
        for key, curve in report.expected.curves.items()
        if key[1] is None and curve.graduates
    }
    if len(shown) == 2:
        # One programme: its curve is every programme's.
        shown.pop((None, None), None)
    curves = [
        (
            report.programme_names.get(key[0], _("Every programme"))
            if key[0] is not None
            else _("Every programme"),
            curve,
            *curve_path(curve, last_day),
        )
        for key, curve in shown.items()
    ]
    return render_template(
        "finance/liability.html",
        report=report,
        as_of=as_of,
        currencies=currencies,
        charts={currency: month_marks(report, currency) for currency in currencies},
        chart=dict(slot=SLOT, plot=PLOT, base=BASE),
        curves=curves,
        curve_chart=dict(
            width=round(16 + last_day * DAY_WIDTH),
            top=CURVE_TOP,
            height=CURVE_HEIGHT,
            day_width=DAY_WIDTH,
            last_day=last_day,
        ),
    ), (400 if error else 200)


CSV_COLUMNS = [
    "kind",
    "month",
    "currency",
    "graduates",
    "worst_case_minor",
    "expected_minor",
    "expected_lower_minor",
    "expected_upper_minor",
    "owed_minor",
    "expected",
]


@blueprint.get("/liability.csv")
@requires(Permission.READ_CLAIMS)
def expected_csv():
    """The backtested months (``kind`` backtest, with what was owed), then the months forecast."""
    as_of, error = _day()
    if error:
        return Response(error, status=400, mimetype="text/plain")
    report = liability_service.liability_report(db_session(), as_of)
    lines: list[list] = []
    for row in report.backtest:
        lines.append(_line("backtest", row, row.actual_minor))
    for row in report.expected.rows:
        lines.append(_line("forecast", row, ""))
    return csv_download(lines, f"expected-liability-{as_of.isoformat()}.csv", columns=CSV_COLUMNS)


def _line(kind, row, owed) -> list:
    return [
        kind,
        row.month.strftime("%Y-%m"),
        row.currency,
        row.graduates,
        row.worst_case_minor,
        row.expected_minor,
        row.lower_minor,
        row.upper_minor,
        owed,
        major_units(row.expected_minor, row.currency),
    ]
