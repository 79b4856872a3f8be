"""Programmes and their guarantee policy versions."""

from __future__ import annotations

from sqlalchemy import select

from app.api import ApiBlueprint
from app.api.listing import contains, page_of, paged
from app.api.schemas import PolicyIn, PolicyOut, ProgrammeIn, ProgrammeOut, ProgrammeQuery
from app.audit import record
from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import db_session
from app.models import GuaranteePolicy, Programme
from app.services import records

blueprint = ApiBlueprint(
    "programmes", __name__, url_prefix="/api/v1", description="Programmes and policy versions."
)


@blueprint.get("/programmes")
@requires(Permission.READ_RECORDS)
@blueprint.arguments(ProgrammeQuery, location="query", as_kwargs=True)
@blueprint.response(200, paged(ProgrammeOut))
@blueprint.paginate()
def list_programmes(pagination_parameters, name=None, currency=None):
    """List programmes, by name."""
    statement = select(Programme).order_by(Programme.name, Programme.id)
    if name:
        statement = statement.where(contains(Programme.name, name))
    if currency:
        statement = statement.where(Programme.currency == currency)
    return page_of(statement, pagination_parameters)


@blueprint.post("/programmes")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(ProgrammeIn, as_kwargs=True)
@blueprint.response(201, ProgrammeOut)
@blueprint.alt_response(409, description="A programme with that name exists.")
def create_programme(**fields):
    """Record a programme."""
    session = db_session()
    programme = records.create_programme(session, **fields)
    session.commit()
    return programme


@blueprint.get("/programmes/<id:programme_id>")
@requires(Permission.READ_RECORDS)
@blueprint.response(200, ProgrammeOut)
def get_programme(programme_id):
    """Read a programme."""
    return records.get_or_404(db_session(), Programme, programme_id)


@blueprint.get("/programmes/<id:programme_id>/policies")
@requires(Permission.READ_RECORDS)
@blueprint.response(200, paged(PolicyOut))
@blueprint.paginate()
def list_policies(programme_id, pagination_parameters):
    """List a programme's policy versions, oldest first."""
    records.get_or_404(db_session(), Programme, programme_id)
    statement = (
        select(GuaranteePolicy)
        .where(GuaranteePolicy.programme_id == programme_id)
        .order_by(GuaranteePolicy.version)
    )
    return page_of(statement, pagination_parameters)


@blueprint.post("/programmes/<id:programme_id>/policies")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(PolicyIn, as_kwargs=True)
@blueprint.response(201, PolicyOut)
@blueprint.alt_response(
    409,
    description="The version would govern days already bound, or another version was published"
    " at the same time.",
)
def publish_policy(programme_id, **terms):
    """Publish the programme's next policy version.

    Versions are never edited: enrollments signed from ``effective_from`` on are bound to the
    new version, and every existing enrollment keeps the version it was signed under. A version
    effective before the newest one is refused unless marked a ``correction``, and any version
    is refused when an enrollment was already signed on a day it would govern.
    """
    session = db_session()
    policy = records.publish_policy(session, programme_id, **terms)
    if terms.get("correction"):
        record(
            session,
            current_principal().actor,
            "policy.correction_published",
            f"policy:{policy.id}",
            f"v{policy.version} from {policy.effective_from.isoformat()}",
        )
    session.commit()
    return policy


@blueprint.get("/policies/<id:policy_id>")
@requires(Permission.READ_RECORDS)
@blueprint.response(200, PolicyOut)
def get_policy(policy_id):
    """Read one policy version."""
    return records.get_or_404(db_session(), GuaranteePolicy, policy_id)
