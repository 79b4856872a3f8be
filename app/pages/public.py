"""The public outcomes page: a half-year cohort's figures per programme, for anyone, no sign-in.

Figures go through disclosure control (``app.guarantee.public_outcomes``): nothing resting on
fewer than ``PUBLIC_REPORT_THRESHOLD`` graduates is shown, nor anything from which such a
figure could be worked out; no graduate is ever named or linked to. Staff keep the full report
with its drill-down at ``/reports/outcomes``. The suppression is decided over every programme
at once, so a programme's own page shows exactly what the all-programmes page does.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from app.database import db_session
from app.guarantee.cirr import HalfYear
from app.guarantee.public_outcomes import COUNTED_STATUSES
from app.models.base import utc_now
from app.services import outcomes_report as report_service
from app.services.errors import NotFound
from app.services.public_outcomes import public_report

blueprint = Blueprint("public", __name__)


class _BadPeriod(Exception):
    pass


def _period(today) -> HalfYear:
    text = request.args.get("period", "").strip()
    if not text:
        return report_service.default_period(db_session(), today)
    try:
        return HalfYear.parse(text)
    except ValueError as error:
        raise _BadPeriod(str(error)) from None


def _today():
    return utc_now().date()


def _page(programme_id: int | None):
    today = _today()
    try:
        period = _period(today)
    except _BadPeriod as error:
        return render_template("public/bad_request.html", message=str(error)), 400
    report = public_report(
        db_session(), period, today, current_app.config["PUBLIC_REPORT_THRESHOLD"]
    )
    programmes = report.programmes
    if programme_id is not None:
        try:
            report_service.programme_exists(db_session(), programme_id)
        except NotFound:
            return render_template("errors/404.html"), 404
        programmes = [p for p in programmes if p.programme_id == programme_id]
    periods = report_service.recent_periods(today)
    if period not in periods:
        periods = sorted([*periods, period], reverse=True)
    return render_template(
        "public/outcomes.html",
        report=report,
        programmes=programmes,
        show_totals=programme_id is None and len(report.programmes) > 1,
        programme_id=programme_id,
        periods=periods,
        statuses=COUNTED_STATUSES,
    )


@blueprint.get("/outcomes")
def outcomes():
    """Every programme's published outcomes for the half-year (``period``, e.g. 2026-H1)."""
    return _page(None)


@blueprint.get("/outcomes/<id:programme_id>")
def programme_outcomes(programme_id: int):
    """One programme's published outcomes for the half-year."""
    return _page(programme_id)
