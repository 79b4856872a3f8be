"""Invitations: graduate accounts for students, each owner emailed a link to choose a password."""

from __future__ import annotations

from functools import wraps

from marshmallow import Schema, fields, validate
from sqlalchemy.exc import IntegrityError

from app.api import ApiBlueprint
from app.api.fields import Email, Id
from app.auth import current_principal
from app.database import db_session
from app.services import accounts
from app.services.errors import Conflict

blueprint = ApiBlueprint(
    "invitations",
    __name__,
    url_prefix="/api/v1",
    description="Invitations of students to their graduate accounts.",
)

#: The most students one request may invite (an import's worth).
MAX_INVITATIONS = 5000


class InvitationsIn(Schema):
    student_ids = fields.List(
        Id(),
        required=True,
        validate=validate.Length(max=MAX_INVITATIONS),
        metadata={"description": "Students to invite, by id (an empty list to go by emails)."},
    )
    emails = fields.List(
        Email(),
        load_default=list,
        validate=validate.Length(max=MAX_INVITATIONS),
        metadata={"description": "Students to invite, by their email."},
    )


class InvitedOut(Schema):
    user_id = fields.Integer()
    student_id = fields.Integer()
    email = fields.String()


class SkippedOut(Schema):
    asked = fields.String(metadata={"description": "The id or email as it was sent."})
    reason = fields.String()


class InvitationsOut(Schema):
    invited = fields.List(fields.Nested(InvitedOut))
    skipped = fields.List(fields.Nested(SkippedOut))
    emails_sent = fields.Integer(
        metadata={"description": "Invitations the mail server took; the rest can be sent again."}
    )


def _registrars_and_admins(view):
    """Refuse everyone else before the body is parsed (as ``requires`` does)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        accounts.may_invite_students(current_principal())
        return view(*args, **kwargs)

    return guarded


@blueprint.post("/invitations")
@_registrars_and_admins
@blueprint.arguments(InvitationsIn, as_kwargs=True)
@blueprint.response(200, InvitationsOut)
@blueprint.alt_response(
    409, description="Another request opened an account for one of these students meanwhile."
)
def invite_students(student_ids, emails):
    """Invite students to their graduate accounts (registrars and admins).

    A student without an account gets one, with no password; each invited student is emailed a
    single-use link to choose their password. A student whose account has a password already,
    and an id or email that is no student's, is listed under ``skipped`` with the reason.
    """
    session = db_session()
    report = accounts.invite_students(
        session, current_principal(), student_ids=student_ids, emails=emails
    )
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise Conflict(
            "another request opened an account for one of these students meanwhile; send the"
            " request again",
            "student_ids",
        ) from error
    return {
        "invited": [
            {"user_id": user.id, "student_id": user.student_id, "email": user.email}
            for user in report.invited
        ],
        "skipped": [{"asked": asked, "reason": reason} for asked, reason in report.skipped],
        "emails_sent": accounts.send(report.emails),
    }
