"""The outcomes report (CIRR) pages: a half-year cohort's figures per programme, with a chart,
the graduates behind every figure, and CSV exports of both.

Finance, registrars and admins may read them (READ_REPORTS). The definitions of every figure
are in ``app.guarantee.cirr``; a view parses the period, programme and figure, calls
``app.services.outcomes_report`` and formats. A bad period, programme or figure is a 400 that
says what was wrong; an unknown programme a 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import db_session
from app.guarantee.cirr import (
    CirrStatus,
    CohortFigures,
    Figure,
    HalfYear,
    Rate,
    figure_label,
    parse_figure,
)
from app.guarantee.terms import OutcomeSource
from app.labels import label
from app.models.base import utc_now
from app.pages.formatting import csv_download, major_units, share
from app.services import outcomes_report as report_service
from app.services.errors import NotFound

blueprint = Blueprint("reports", __name__, url_prefix="/reports")

#: The fill of each status in the chart (and the colour its count is written in on it).
STATUS_COLOURS = {
    CirrStatus.FULL_TIME_EMPLOYEE: ("#14532d", "#ffffff"),
    CirrStatus.FULL_TIME_APPRENTICE_INTERN_OR_CONTRACTOR: ("#2e8b57", "#ffffff"),
    CirrStatus.HIRED_BY_SCHOOL_IN_FIELD: ("#1f4fd1", "#ffffff"),
    CirrStatus.STARTED_COMPANY: ("#6d28d9", "#ffffff"),
    CirrStatus.SHORT_TERM_PART_TIME_OR_FREELANCE: ("#86efac", "#1d2433"),
    CirrStatus.HIRED_BY_SCHOOL_OUT_OF_FIELD: ("#b45309", "#ffffff"),
    CirrStatus.HIRED_OUT_OF_FIELD: ("#f59e0b", "#1d2433"),
    CirrStatus.STILL_SEEKING: ("#94a3b8", "#1d2433"),
    CirrStatus.NOT_SEEKING: ("#cbd5e1", "#1d2433"),
    CirrStatus.NON_REPORTING: ("#475569", "#ffffff"),
    CirrStatus.EXCLUDED: ("#f1f5f9", "#1d2433"),
}

#: Chart geometry (SVG user units): where bars start, their longest length, height and pitch.
CHART_LEFT, CHART_LENGTH, BAR_HEIGHT, BAR_PITCH = 8, 480, 26, 58


class BadQuery(Exception):
    """A query parameter the report cannot take; the message says which and why."""


@blueprint.errorhandler(BadQuery)
def _bad_query(error: BadQuery):
    if request.path.endswith(".csv"):
        return Response(str(error), status=400, mimetype="text/plain")
    return render_template("reports/bad_request.html", message=str(error)), 400


@blueprint.errorhandler(NotFound)
def _not_found(error: NotFound):
    if request.path.endswith(".csv"):
        return Response(str(error), status=404, mimetype="text/plain")
    return render_template("errors/404.html"), 404


@blueprint.app_template_filter("percent")
def percent(rate: Rate) -> str:
    """``Rate(7, 12)`` -> ``58.3%`` (``58,3 %`` in French; rounded half up to one decimal);
    ``—`` over nobody."""
    value = _percentage(rate)
    if value is None:
        return "—"
    return share(value / 100)


def _percentage(rate: Rate) -> Decimal | None:
    """``Rate(7, 12)`` -> ``Decimal("58.3")``, rounded half up to one decimal; none over nobody."""
    fraction = rate.fraction
    if fraction is None:
        return None
    value = Decimal(fraction.numerator * 100) / Decimal(fraction.denominator)
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _percent_number(rate: Rate) -> str:
    """The percentage as the CSV writes it, without the sign; empty over nobody."""
    value = _percentage(rate)
    return "" if value is None else str(value)


def _today():
    return utc_now().date()


def _period(today) -> HalfYear:
    text = request.args.get("period", "").strip()
    if not text:
        return report_service.default_period(db_session(), today)
    try:
        return HalfYear.parse(text)
    except ValueError:
        raise BadQuery(
            _(
                "period: “%(text)s” is not a half-year: write the year and H1 (1 Jan-30 Jun) or"
                " H2 (1 Jul-31 Dec), for example 2026-H1.",
                text=text,
            )
        ) from None


def _programme_id() -> int | None:
    text = request.args.get("programme", "").strip()
    if text in ("", "all"):
        return None
    if not text.isdigit():
        raise BadQuery(
            _("programme: “%(text)s” is not a programme id (a whole number) or “all”.", text=text)
        )
    programme_id = int(text)
    report_service.programme_exists(db_session(), programme_id)
    return programme_id


def _figure() -> Figure | CirrStatus:
    text = request.args.get("figure", "").strip()
    if not text:
        return Figure.ENROLLED
    try:
        return parse_figure(text)
    except ValueError:
        names = ", ".join([*(s.value for s in CirrStatus), *(f.value for f in Figure)])
        raise BadQuery(
            _(
                "figure: “%(text)s” is not a figure of the report; one of: %(names)s.",
                text=text,
                names=names,
            )
        ) from None


# --- the chart ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One status's part of a programme's bar."""

    status: CirrStatus
    count: int
    x: float
    width: float
    fill: str
    ink: str


@dataclass(frozen=True)
class Bar:
    """One programme's bar: its graduates, stacked by status."""

    programme_id: int
    name: str
    graduated: int
    y: int
    segments: list[Segment]


def chart_bars(programmes: Iterable[report_service.ProgrammeFigures]) -> list[Bar]:
    """The stacked bars of the chart: lengths proportional to graduates, on one scale."""
    programmes = list(programmes)
    peak = max((p.figures.graduated for p in programmes), default=0)
    bars = []
    for index, programme in enumerate(programmes):
        x = float(CHART_LEFT)
        segments = []
        for status in CirrStatus:
            count = programme.figures.counts[status]
            if not count:
                continue
            width = round(count / peak * CHART_LENGTH, 1)
            fill, ink = STATUS_COLOURS[status]
            segments.append(Segment(status, count, round(x, 1), width, fill, ink))
            x += width
        bars.append(
            Bar(
                programme.programme_id,
                programme.name,
                programme.figures.graduated,
                index * BAR_PITCH,
                segments,
            )
        )
    return bars


# --- pages -------------------------------------------------------------------------------------


@blueprint.get("/outcomes")
@requires(Permission.READ_REPORTS)
def outcomes():
    """The cohort's figures per programme and in total, with the chart and a period picker."""
    today = _today()
    period = _period(today)
    report = report_service.outcomes_report(db_session(), period, today)
    periods = report_service.recent_periods(today)
    if period not in periods:
        periods = sorted([*periods, period], reverse=True)
    return render_template(
        "reports/outcomes.html",
        report=report,
        periods=periods,
        bars=chart_bars(report.programmes),
        chart=dict(left=CHART_LEFT, length=CHART_LENGTH, bar=BAR_HEIGHT, pitch=BAR_PITCH),
        colours=STATUS_COLOURS,
        statuses=list(CirrStatus),
        Status=CirrStatus,
        Figure=Figure,
        figure_label=figure_label,
    )


@blueprint.get("/outcomes/graduates")
@requires(Permission.READ_REPORTS)
def graduates():
    """The enrollments behind one figure of one programme (or of all programmes), a page at a
    time (the CSV has them all)."""
    today = _today()
    period, programme_id, figure = _period(today), _programme_id(), _figure()
    report = report_service.outcomes_report(db_session(), period, today)
    programme = report.programme(programme_id) if programme_id is not None else None
    page = report_service.drill_down_page(
        report, figure, programme_id, request.args.get("page", 1, type=int)
    )
    return render_template(
        "reports/graduates.html",
        report=report,
        page=page,
        rows=page.items,
        figure=figure,
        figure_title=figure_label(figure),
        programme_id=programme_id,
        programme=programme,
        can_open_records=current_principal().can(Permission.READ_RECORDS),
        source_words=_source_words,
    )


def _source_words(source) -> str:
    """Who verified a status, in the reader's language (the same words as a job's source)."""
    return label(OutcomeSource(source.value))


# --- CSV ---------------------------------------------------------------------------------------

FIGURE_COLUMNS = [
    "period",
    "programme_id",
    "programme",
    "currency",
    "provisional",
    "enrolled",
    "graduated",
    "graduation_rate_percent",
    "excluded",
    "base",
    "employed_in_field",
    "employed_in_field_rate_percent",
    "full_time",
    "full_time_rate_percent",
    "median_salary_minor",
    "median_salary",
    "salaries_counted",
    "salaries_left_out",
    *(f"status_{status.value}" for status in CirrStatus),
]

ROW_COLUMNS = [
    "period",
    "enrollment_id",
    "student",
    "programme_id",
    "programme",
    "currency",
    "expected_graduation_on",
    "qualified_on",
    "status_date",
    "provisional",
    "status",
    "status_label",
    "verification_source",
    "excluded_because",
    "job_id",
    "job_title",
    "employer",
    "employment_type",
    "in_field",
    "job_start_date",
    "contract_months",
    "annual_salary_minor",
    "salary_currency",
    "in_salary_median",
]


def _figure_line(period, programme_id, name, figures: CohortFigures, provisional) -> list:
    median = figures.median_salary_minor
    return [
        str(period),
        programme_id if programme_id is not None else "",
        name,
        figures.currency or "",
        "yes" if provisional else "no",
        figures.enrolled,
        figures.graduated,
        _percent_number(figures.graduation_rate),
        figures.excluded,
        figures.base,
        figures.size(Figure.EMPLOYED_IN_FIELD),
        _percent_number(figures.employed_in_field_rate),
        figures.size(Figure.FULL_TIME),
        _percent_number(figures.full_time_rate),
        median if median is not None else "",
        major_units(median, figures.currency) if median is not None and figures.currency else "",
        figures.salaries_counted,
        figures.salaries_left_out,
        *(figures.counts[status] for status in CirrStatus),
    ]


@blueprint.get("/outcomes.csv")
@requires(Permission.READ_REPORTS)
def outcomes_csv():
    """The figures as CSV: one line per programme, then one for all programmes (no salary)."""
    today = _today()
    period = _period(today)
    report = report_service.outcomes_report(db_session(), period, today)
    lines: list[list] = []
    for programme in report.programmes:
        lines.append(
            _figure_line(
                period,
                programme.programme_id,
                programme.name,
                programme.figures,
                report.provisional,
            )
        )
    # Across currencies the totals have no currency and no median salary.
    lines.append(_figure_line(period, None, _("All programmes"), report.totals, report.provisional))
    return csv_download(lines, f"outcomes-{period}.csv", columns=FIGURE_COLUMNS)


@blueprint.get("/outcomes/graduates.csv")
@requires(Permission.READ_REPORTS)
def graduates_csv():
    """The enrollments behind the report (or behind one figure) as CSV, one line each."""
    today = _today()
    period, programme_id, figure = _period(today), _programme_id(), _figure()
    report = report_service.outcomes_report(db_session(), period, today)
    lines: list[list] = []
    for row in report.rows_behind(figure, programme_id):
        job = row.job
        lines.append(
            [
                str(period),
                row.enrollment_id,
                row.student_name,
                row.programme_id,
                row.programme_name,
                row.currency,
                _iso(row.expected_graduation_on),
                _iso(row.qualified_on),
                _iso(row.status_date),
                ("yes" if row.provisional else "no") if row.status else "",
                row.status.value if row.status else "",
                row.status.label if row.status else _("not graduated"),
                row.source.value if row.source else "",
                row.why_excluded or "",
                job.id if job else "",
                job.title if job else "",
                (job.employer_name or "") if job else "",
                job.employment_type.value if job else "",
                ("yes" if job.in_field else "no") if job else "",
                _iso(job.start_date) if job else "",
                _blank(job.contract_months) if job else "",
                _blank(job.annual_salary_minor) if job else "",
                (job.salary_currency or "") if job else "",
                "yes" if row.in_salary_median else "no",
            ]
        )
    suffix = "" if figure is Figure.ENROLLED else f"-{figure.value}"
    if programme_id is not None:
        suffix += f"-programme-{programme_id}"
    return csv_download(lines, f"outcomes-{period}-graduates{suffix}.csv", columns=ROW_COLUMNS)


def _iso(day) -> str:
    return day.isoformat() if day is not None else ""


def _blank(value) -> object:
    return "" if value is None else value
