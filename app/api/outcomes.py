"""Job outcomes: the jobs graduates took."""

from __future__ import annotations

from sqlalchemy import select

from app.api import ApiBlueprint
from app.api.listing import page_of, paged
from app.api.schemas import (
    JobCorrectionIn,
    JobDisputeIn,
    JobOutcomeIn,
    JobOutcomeOut,
    JobOutcomeQuery,
)
from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import db_session
from app.guarantee.terms import OutcomeSource, OutcomeStatus
from app.models import JobOutcome
from app.services import evidence, records
from app.services.confirmations import request_confirmation, send_confirmation_email
from app.services.errors import Invalid
from app.services.graduates import own_graduation

blueprint = ApiBlueprint(
    "outcomes", __name__, url_prefix="/api/v1", description="Jobs graduates took after qualifying."
)


@blueprint.get("/job-outcomes")
@requires(Permission.READ_RECORDS)
@blueprint.arguments(JobOutcomeQuery, location="query", as_kwargs=True)
@blueprint.response(200, paged(JobOutcomeOut))
@blueprint.paginate()
def list_job_outcomes(
    pagination_parameters, graduation_id=None, employer_id=None, status=None, employment_type=None
):
    """List job outcomes, latest start first."""
    statement = select(JobOutcome).order_by(JobOutcome.start_date.desc(), JobOutcome.id.desc())
    if graduation_id is not None:
        statement = statement.where(JobOutcome.graduation_id == graduation_id)
    if employer_id is not None:
        statement = statement.where(JobOutcome.employer_id == employer_id)
    if status is not None:
        statement = statement.where(JobOutcome.status == status)
    if employment_type is not None:
        statement = statement.where(JobOutcome.employment_type == employment_type)
    return page_of(statement, pagination_parameters)


@blueprint.post("/job-outcomes")
@blueprint.arguments(JobOutcomeIn, as_kwargs=True)
@blueprint.response(201, JobOutcomeOut)
@blueprint.alt_response(409, description="The job outcome conflicts with one on record.")
def report_job_outcome(**fields):
    """Record a job a graduate took.

    Registrars record any graduate's job, with any source and status. A graduate reports their
    own: its source is `graduate` and its status `reported`; sending a status (or another
    source) is refused with 422 naming the field. When an employer is named, they are emailed
    a link to confirm the hire.
    """
    session = db_session()
    principal = current_principal()
    if not principal.can(Permission.WRITE_RECORDS):
        own_graduation(session, principal, fields["graduation_id"])
        if fields["status"] is not None:
            raise Invalid.field(
                "status", "graduates report jobs; the employer's answer or the school sets this"
            )
        if fields["source"] is not OutcomeSource.GRADUATE:
            raise Invalid.field("source", "a job a graduate reports has the source graduate")
    fields["status"] = fields["status"] or OutcomeStatus.REPORTED
    outcome = records.report_job_outcome(session, **fields)
    confirmation = request_confirmation(session, outcome)
    session.commit()
    if confirmation is not None:
        send_confirmation_email(confirmation)
    return outcome


@blueprint.get("/job-outcomes/<id:outcome_id>")
@requires(Permission.READ_RECORDS)
@blueprint.response(200, JobOutcomeOut)
def get_job_outcome(outcome_id):
    """Read a job outcome, with the employer's latest answer and whether it is verified."""
    return records.get_or_404(db_session(), JobOutcome, outcome_id)


@blueprint.post("/job-outcomes/<id:outcome_id>/dispute")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(JobDisputeIn, as_kwargs=True)
@blueprint.response(200, JobOutcomeOut)
@blueprint.alt_response(409, description="The job's refund claim changed meanwhile; try again.")
def dispute_job_outcome(outcome_id, reason):
    """Record that a job did not happen as reported, with the reason: it stops counting."""
    session = db_session()
    outcome = evidence.dispute_job(session, current_principal(), outcome_id, reason=reason)
    session.commit()
    return outcome


@blueprint.post("/job-outcomes/<id:outcome_id>/correct")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(JobCorrectionIn, as_kwargs=True)
@blueprint.response(200, JobOutcomeOut)
@blueprint.alt_response(409, description="The job's refund claim changed meanwhile; try again.")
def correct_job_outcome(outcome_id, reason, **facts):
    """Correct a job's facts or status, with the reason; the guarantee reads the correction."""
    session = db_session()
    outcome = evidence.correct_job(
        session, current_principal(), outcome_id, evidence.JobCorrection(**facts), reason=reason
    )
    session.commit()
    return outcome
