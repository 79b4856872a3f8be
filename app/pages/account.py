"""One's own account: password, email and second factor (everyone signed in), and a staff
member's own API tokens, made, listed and revoked by the account they act as.

The account settings need a browser session (an API token cannot change the password it does
not know); each change asks for the current password, and goes through ``app.services.accounts``.

Finance, registrars and admins each make their own tokens here; nobody makes a token for
someone else (a token acts as its account, approvals included). An integration gets an account
of its own (a registrar account named for it, say) and its token is made signed in as it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange

from app.auth import current_principal, second_factor
from app.auth.access import NotSignedIn
from app.auth.passwords import MAX_LENGTH, MIN_LENGTH
from app.auth.tokens import DEFAULT_LIFETIME_DAYS, MAX_LIFETIME_DAYS
from app.database import db_session
from app.pages.auth import NO_STORE, CodeForm, recovery_codes_page
from app.pages.fields import PageForm, email_address, plain_text, refused, strip
from app.services import accounts
from app.services.errors import Conflict, Invalid, NotFound

blueprint = Blueprint("account", __name__, url_prefix="/account")


@blueprint.errorhandler(NotFound)
def _not_found(_error: NotFound):
    db_session().rollback()
    return render_template("errors/404.html"), 404


class TokenForm(PageForm):
    name = StringField(
        _l("What the token is for"),
        [DataRequired(), Length(max=200), plain_text],
        filters=[strip],
        description=_l("For example “student information system sync”."),
    )
    lifetime_days = IntegerField(
        _l("Expires after (days)"),
        [DataRequired(), NumberRange(1, MAX_LIFETIME_DAYS)],
        default=DEFAULT_LIFETIME_DAYS,
        description=_l(
            "At most %(count)s days; make a new token before it expires.", count=MAX_LIFETIME_DAYS
        ),
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


@blueprint.post("/tokens/<id:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke one of one's own tokens (an admin: anyone's); refused from the next request on."""
    session = db_session()
    principal = current_principal()
    token = accounts.withdraw_token(session, principal, token_id)
    session.commit()
    flash(
        _("Token %(prefix)s… (%(name)s) is revoked.", prefix=token.prefix, name=token.name),
        "success",
    )
    if token.user_id != principal.user_id:
        return redirect(url_for("admin.tokens"))
    return redirect(url_for(".tokens"))


# -- Password, email, second factor ------------------------------------------------------------


class CurrentPasswordForm(PageForm):
    current_password = PasswordField(
        _l("Your current password"), [DataRequired(), Length(max=MAX_LENGTH)]
    )


class ChangePasswordForm(CurrentPasswordForm):
    new_password = PasswordField(
        _l("New password"),
        [DataRequired(), Length(max=MAX_LENGTH)],
        description=_l(
            "At least %(count)s characters and not a common or guessable password.",
            count=MIN_LENGTH,
        ),
    )
    new_password_again = PasswordField(
        _l("The new password again"),
        [DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class ChangeEmailForm(CurrentPasswordForm):
    new_email = StringField(
        _l("New email"),
        [DataRequired(), Length(max=254), email_address],
        filters=[strip],
        description=_l("We send a link to it; your account uses it once you open the link."),
    )


def _signed_in_user():
    """The account of this browser session (not an API token's)."""
    if not current_user.is_authenticated:
        raise NotSignedIn()
    return current_user.user


@blueprint.get("")
def settings():
    """Your account: change your password and email, and your second factor."""
    return _settings_page(200)


def _settings_page(status: int, **forms):
    user = _signed_in_user()
    session = db_session()
    return render_template(
        "account/settings.html",
        user=user,
        password_form=forms.get("password_form")
        or ChangePasswordForm(formdata=None, prefix="password"),
        email_form=forms.get("email_form") or ChangeEmailForm(formdata=None, prefix="email"),
        factor_form=forms.get("factor_form") or CurrentPasswordForm(formdata=None, prefix="factor"),
        second_factor_on=second_factor.enabled(user),
        second_factor_required=second_factor.required(user),
        recovery_codes_left=second_factor.unused_recovery_codes(session, user.id),
    ), status


@blueprint.post("/password")
def change_password():
    """Change your own password; your other sessions end."""
    _signed_in_user()
    form = ChangePasswordForm(prefix="password")
    if not form.validate():
        return _settings_page(400, password_form=form)
    session = db_session()
    try:
        accounts.change_own_password(
            session,
            current_principal(),
            current_password=form.current_password.data,
            new_password=form.new_password.data,
            keep_session=current_user.session_id,
        )
    except (Invalid, Conflict) as error:
        return _settings_page(refused(form, error, {}), password_form=form)
    session.commit()
    flash(_("Your password is changed; you are signed out everywhere else."), "success")
    return redirect(url_for(".settings"))


@blueprint.post("/email")
def change_email():
    """Ask to sign in with another email; a link sent to it confirms the change."""
    _signed_in_user()
    form = ChangeEmailForm(prefix="email")
    if not form.validate():
        return _settings_page(400, email_form=form)
    session = db_session()
    try:
        email = accounts.ask_email_change(
            session,
            current_principal(),
            new_email=form.new_email.data,
            current_password=form.current_password.data,
        )
    except (Invalid, Conflict) as error:
        return _settings_page(refused(form, error, {}), email_form=form)
    session.commit()
    accounts.send([email])
    flash(
        _(
            "We sent a link to %(email)s. Open it to use that address; until then your account"
            " keeps its current one.",
            email=email.to,
        ),
        "success",
    )
    return redirect(url_for(".settings"))


@blueprint.route("/second-factor", methods=["GET", "POST"])
def second_factor_setup():
    """Turn the second factor on: scan the key, type the first code; recovery codes follow."""
    user = _signed_in_user()
    if second_factor.enabled(user):
        return redirect(url_for(".settings"))
    secret = second_factor.enrolling_secret(flask_session)
    form = CodeForm()
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        session = db_session()
        try:
            codes = accounts.turn_on_second_factor(session, user, secret, form.code.data)
        except Invalid as error:
            session.rollback()
            form.code.errors.extend(f"{r[:1].upper()}{r[1:]}." for r in error.errors["code"])
        else:
            session.commit()
            flask_session.pop(second_factor.ENROLLING, None)
            return recovery_codes_page(codes, url_for(".settings"))
    return (
        render_template(
            "auth/enrol.html",
            form=form,
            secret=secret,
            qr=second_factor.qr_svg(second_factor.provisioning_uri(secret, user.email)),
            required=False,
        ),
        status,
        NO_STORE,
    )


@blueprint.post("/second-factor/off")
def second_factor_off():
    """Turn your optional second factor off (your password is required)."""
    _signed_in_user()
    form = CurrentPasswordForm(prefix="factor")
    if not form.validate():
        return _settings_page(400, factor_form=form)
    session = db_session()
    try:
        accounts.turn_off_second_factor(
            session, current_principal(), current_password=form.current_password.data
        )
    except (Invalid, Conflict) as error:
        return _settings_page(refused(form, error, {}), factor_form=form)
    session.commit()
    flash(_("Your second factor is off: signing in takes only your password."), "success")
    return redirect(url_for(".settings"))


@blueprint.post("/recovery-codes")
def recovery_codes():
    """New recovery codes, shown once; the old ones stop working."""
    _signed_in_user()
    form = CurrentPasswordForm(prefix="factor")
    if not form.validate():
        return _settings_page(400, factor_form=form)
    session = db_session()
    try:
        codes = accounts.renew_recovery_codes(
            session, current_principal(), current_password=form.current_password.data
        )
    except (Invalid, Conflict) as error:
        return _settings_page(refused(form, error, {}), factor_form=form)
    session.commit()
    return recovery_codes_page(codes, url_for(".settings"))
