"""Pauses of a graduate's job search and documented excluded outcomes."""

from __future__ import annotations

from functools import wraps

from flask import request

from app.api import ApiBlueprint
from app.api.schemas import ExclusionIn, ExclusionOut, PauseIn, RecordedPauseOut
from app.auth import current_principal, requires
from app.auth.access import NotSignedIn, Permission, refuse
from app.database import db_session
from app.models.base import utc_now
from app.services import exclusions, pauses
from app.services.errors import Invalid

blueprint = ApiBlueprint(
    "search_pauses",
    __name__,
    url_prefix="/api/v1",
    description="Pauses of the job search, and excluded outcomes.",
)


def _graduate_or_registrar(view):
    """Refuse, before the body is read, anyone who can pause no window at all; the service
    then checks that a graduate's window is their own."""

    @wraps(view)
    def guarded(*args, **kwargs):
        principal = current_principal()
        if not principal.authenticated:
            raise NotSignedIn()
        if not (principal.can(Permission.OWN_GUARANTEE) or principal.can(Permission.WRITE_RECORDS)):
            refuse(principal, "record a pause", request.path)
        return view(*args, **kwargs)

    return guarded


@blueprint.post("/graduations/<id:graduation_id>/pauses")
@_graduate_or_registrar
@blueprint.arguments(PauseIn, as_kwargs=True)
@blueprint.response(201, RecordedPauseOut)
@blueprint.alt_response(409, description="A refund claim exists for this window already.")
def record_pause(graduation_id, **fields):
    """Pause the search: the window extends by the paused days, up to the policy's limit.

    Registrars record any pause, past ones included; a graduate pauses their own window, from
    today on. Pauses never overlap and start inside the window; beyond the policy's limit they
    are recorded, but only the limit counts.
    """
    session = db_session()
    try:
        recorded = pauses.record_pause(
            session,
            current_principal(),
            graduation_id,
            fields["starts_on"],
            fields["ends_on"],
            fields["reason"],
            fields["note"],
            today=utc_now().date(),
        )
    except Invalid as error:
        raise _about_the_body(error) from error
    session.commit()
    return recorded


@blueprint.post("/graduations/<id:graduation_id>/exclusion")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(ExclusionIn, as_kwargs=True)
@blueprint.response(201, ExclusionOut)
@blueprint.alt_response(
    409, description="An exclusion is recorded already, or the claim is paying or paid."
)
def record_exclusion(graduation_id, **fields):
    """Record a documented excluded outcome (registrars): the graduate leaves the guarantee.

    A refund claim not yet paying is withdrawn with the reason; one paying or paid refuses it.
    """
    session = db_session()
    try:
        exclusion = exclusions.record_exclusion(
            session,
            current_principal(),
            graduation_id,
            fields["reason"],
            fields["occurred_on"],
            fields["evidence"],
            today=utc_now().date(),
        )
    except Invalid as error:
        raise _about_the_body(error) from error
    session.commit()
    return exclusion


def _about_the_body(error: Invalid) -> Invalid:
    # The graduation is in the path, not the body: what is wrong with it concerns the request.
    errors: dict[str, list[str]] = {}
    for field, reasons in error.errors.items():
        errors.setdefault("_schema" if field == "graduation_id" else field, []).extend(reasons)
    return Invalid(errors)
