"""The public outcomes page's data: a half-year cohort's figures with disclosure control.

Loads the cohort as the staff report does (``app.services.outcomes_report``), each covered
graduate's search (``app.services.expected_liability.search_records``, one set-based statement)
and the cohort's claims, into ``PublicRow`` values; ``app.guarantee.public_outcomes`` counts and
suppresses. Nothing here carries a name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.guarantee.cirr import CirrStatus, HalfYear
from app.guarantee.public_outcomes import (
    ALL,
    GuaranteeOutcome,
    PublicRow,
    PublishedFigures,
    publish,
)
from app.guarantee.terms import CirrIntent, ExclusionReason
from app.models import Enrollment
from app.services.expected_liability import search_records
from app.services.outcomes_report import GraduateRow, OutcomesReport, outcomes_report
from refunds.models import RefundClaim
from refunds.states import ClaimState

#: Claims whose money went back.
REFUNDED_STATES = (ClaimState.REFUNDED, ClaimState.SETTLED_MANUALLY)
#: Excluded outcomes that count as continuing education or service for NACE.
CONTINUING_REASONS = frozenset({ExclusionReason.FURTHER_STUDY, ExclusionReason.MILITARY_SERVICE})


@dataclass(frozen=True)
class PublicProgramme:
    """One programme's published figures, with its median salary when it may be shown."""

    programme_id: int | None
    name: str
    currency: str | None
    figures: PublishedFigures
    #: CIRR's median base salary; ``None`` when hidden (fewer than ``threshold`` salaries).
    median_salary_minor: int | None


@dataclass(frozen=True)
class PublicReport:
    """The published outcomes of ``period``'s cohort."""

    period: HalfYear
    today: date
    threshold: int
    provisional: bool
    programmes: list[PublicProgramme]
    totals: PublicProgramme | None

    @property
    def withheld(self) -> bool:
        """Every figure withheld: too few graduates to show any without giving one away."""
        return self.totals is not None and self.totals.figures.withheld


def _continuing(row: GraduateRow) -> bool:
    return row.intent is CirrIntent.FURTHER_STUDY or row.exclusion_reason in CONTINUING_REASONS


def public_report(session: Session, period: HalfYear, today: date, threshold: int) -> PublicReport:
    """The published figures of ``period``'s cohort, per programme and in total, on ``today``."""
    report: OutcomesReport = outcomes_report(session, period, today)
    enrollment_ids = [row.enrollment_id for row in report.rows]
    graduation_ids = [row.graduation_id for row in report.rows if row.graduation_id is not None]
    covered = set(
        session.scalars(
            select(Enrollment.id).where(
                Enrollment.id.in_(enrollment_ids), Enrollment.guarantee_opt_in.is_(True)
            )
        )
    )
    searches = {record.key: record for record in search_records(session, graduation_ids)}
    refunded = set(
        session.scalars(
            select(RefundClaim.enrollment_id).where(
                RefundClaim.enrollment_id.in_(enrollment_ids),
                RefundClaim.state.in_(REFUNDED_STATES),
            )
        )
    )
    rows_by_programme: dict[int, list[PublicRow]] = defaultdict(list)
    for row in report.rows:
        outcome, days = None, None
        if row.graduation_id is not None and row.enrollment_id in covered:
            search = searches.get(row.graduation_id)
            if search is None:
                outcome = GuaranteeOutcome.LEFT
            elif search.job_on is not None and search.job_on <= search.deadline:
                outcome = GuaranteeOutcome.PLACED
                days = max((search.job_on - search.window_start).days, 0)
            elif search.deadline >= today:
                outcome = GuaranteeOutcome.SEARCHING
            else:
                outcome = GuaranteeOutcome.OWED
        rows_by_programme[row.programme_id].append(
            PublicRow(
                programme_id=row.programme_id,
                graduated=row.graduation_id is not None,
                status=row.status,
                continuing=row.status is CirrStatus.EXCLUDED and _continuing(row),
                guarantee=outcome,
                refunded=row.enrollment_id in refunded,
                days_to_job=days,
            )
        )
    published = publish(rows_by_programme, threshold)

    def median_salary(figures) -> int | None:
        if published[ALL].withheld:
            return None
        if figures.currency is None or figures.salaries_counted < threshold:
            return None
        return figures.median_salary_minor

    programmes = [
        PublicProgramme(
            programme.programme_id,
            programme.name,
            programme.currency,
            published[programme.programme_id],
            median_salary(programme.figures),
        )
        for programme in sorted(report.programmes, key=lambda p: p.name)
    ]
    totals = (
        PublicProgramme(
            None,
            lazy_gettext("All programmes"),
            report.totals.currency,
            published[ALL],
            median_salary(report.totals),
        )
        if report.programmes
        else None
    )
    return PublicReport(period, today, threshold, report.provisional, programmes, totals)
