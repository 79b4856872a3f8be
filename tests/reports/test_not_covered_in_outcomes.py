"""Not covered is not excluded: graduates outside the guarantee's terms stay in the outcomes
report as graduates of their cohort, in its base, with their own outcome."""

from __future__ import annotations

from datetime import date

from app.guarantee.cirr import HalfYear
from app.guarantee.evaluation import evaluate_guarantee
from app.guarantee.rules import GuaranteeState
from app.guarantee.terms import WorkAuthorisation
from app.models import PolicyPrerequisite, PolicySearchArea
from app.services.outcomes_report import outcomes_report

H1 = HalfYear(2026, 1)
TODAY = date(2026, 12, 1)


def _figures(report):
    return [
        (programme.figures.graduated, programme.figures.excluded, programme.figures.base,
         programme.figures.counts)
        for programme in report.programmes
    ]  # fmt: skip


def test_graduates_not_covered_by_the_guarantee_keep_their_place_in_the_outcomes_report(
    session, cohort
):
    before = outcomes_report(session, H1, TODAY)
    statuses = {row.student_name: (row.status, row.why_excluded) for row in before.rows}

    # Every graduate's policy now asks for a prerequisite nobody verified, a search in Canada,
    # and work authorisation, which none has.
    graduations = []
    for enrollment in cohort["people"].values():
        policy = enrollment.policy
        if not policy.prerequisites:
            policy.prerequisites.append(PolicyPrerequisite(label="Admission test", position=0))
            policy.search_areas.append(PolicySearchArea(code="CA"))
            policy.requires_work_authorisation = True
        enrollment.work_authorisation = WorkAuthorisation.NO
        if enrollment.graduation is not None:
            graduations.append(enrollment.graduation)
    session.flush()
    session.expire_all()

    assert {
        evaluate_guarantee(session, graduation.id, TODAY).status.state for graduation in graduations
    } == {GuaranteeState.NOT_COVERED}
    after = outcomes_report(session, H1, TODAY)
    assert {row.student_name: (row.status, row.why_excluded) for row in after.rows} == statuses
    assert _figures(after) == _figures(before)
