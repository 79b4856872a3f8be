"""Job outcomes: the jobs graduates took."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from app.api.listing import page_of
from app.api.schemas import JobOutcomeIn, JobOutcomeOut, JobOutcomeQuery
from app.database import db_session
from app.models import JobOutcome
from app.services import records

blueprint = Blueprint(
    "outcomes", __name__, url_prefix="/api/v1", description="Jobs graduates took after qualifying."
)


@blueprint.get("/job-outcomes")
@blueprint.arguments(JobOutcomeQuery, location="query", as_kwargs=True)
@blueprint.response(200, JobOutcomeOut(many=True))
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
def report_job_outcome(**fields):
    """Record a job a graduate took."""
    session = db_session()
    outcome = records.report_job_outcome(session, **fields)
    session.commit()
    return outcome


@blueprint.get("/job-outcomes/<id:outcome_id>")
@blueprint.response(200, JobOutcomeOut)
def get_job_outcome(outcome_id):
    """Read a job outcome."""
    return records.get_or_404(db_session(), JobOutcome, outcome_id)
