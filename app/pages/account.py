"""A staff member's own API tokens: made, listed and revoked by the account they act as.

Finance, registrars and admins each make their own tokens here; nobody makes a token for
someone else (a token acts as its account, approvals included). An integration gets an account
of its own (a registrar account named for it, say) and its token is made signed in as it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from app.auth import current_principal
from app.auth.tokens import DEFAULT_LIFETIME_DAYS, MAX_LIFETIME_DAYS
from app.database import db_session
from app.pages.fields import PageForm, plain_text, refused, strip
from app.services import accounts
from app.services.errors import Conflict, Invalid, NotFound

blueprint = Blueprint("account", __name__, url_prefix="/account")


@blueprint.errorhandler(NotFound)
def _not_found(_error: NotFound):
    db_session().rollback()
    return render_template("errors/404.html"), 404


class TokenForm(PageForm):
    name = StringField(
        "What the token is for",
        [DataRequired(), Length(max=200), plain_text],
        filters=[strip],
        description='For example "student information system sync".',
    )
    lifetime_days = IntegerField(
        "Expires after (days)",
        [DataRequired(), NumberRange(1, MAX_LIFETIME_DAYS)],
        default=DEFAULT_LIFETIME_DAYS,
        description=f"At most {MAX_LIFETIME_DAYS} days; make a new token before it expires.",
    )


@blueprint.route("/tokens", methods=["GET", "POST"])
def tokens():
    """The signed-in staff member's tokens; the form makes a new one, shown once."""
    principal = current_principal()
    session = db_session()
    own = accounts.tokens_of(session, principal)  # refuses anyone who may not hold tokens
    form = TokenForm()
    if not form.is_submitted():
        return _page(own, form, 200)
    if not form.validate():
        return _page(own, form, 400)
    try:
        token, secret = accounts.issue_token(
            session, principal, name=form.name.data, lifetime_days=form.lifetime_days.data
        )
    except (Invalid, Conflict) as error:
        return _page(own, form, refused(form, error, {}))
    session.commit()
    # Shown here and never again: the page must not be kept by a cache or the browser.
    response = render_template("account/token_created.html", token=token, secret=secret)
    return response, 201, {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _page(own, form: TokenForm, status: int):
    return render_template("account/tokens.html", tokens=own, form=form), status


@blueprint.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke one of one's own tokens (an admin: anyone's); refused from the next request on."""
    session = db_session()
    principal = current_principal()
    token = accounts.withdraw_token(session, principal, token_id)
    session.commit()
    flash(f"Token {token.prefix}… ({token.name}) is revoked.", "success")
    if token.user_id != principal.user_id:
        return redirect(url_for("admin.tokens"))
    return redirect(url_for(".tokens"))
