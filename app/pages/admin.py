"""The admin's pages: accounts and their roles, API tokens, the audit log, and students'
personal data (export and erasure).

Accounts, tokens and personal data need MANAGE_ACCOUNTS, the audit log READ_AUDIT. Every change
goes through a service (``app.services.accounts``, ``app.services.personal_data``), which checks
the permission again, enforces the rules and writes the audit record. A refused form is shown
again with each reason next to its field (400); a clash with a record that exists (an account,
a student erased already) is shown with 409.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import db_session
from app.labels import label
from app.models import Role, Student, User
from app.pages.fields import (
    PageForm,
    email_address,
    optional_id,
    page_number,
    plain_text,
    refused,
    strip,
)
from app.pages.list_args import ListArgs
from app.services import accounts, listings
from app.services import personal_data as personal_data_service
from app.services.errors import Conflict, Invalid, NotFound
from app.services.records import MAX_ID

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.errorhandler(NotFound)
def _not_found(_error: NotFound):
    db_session().rollback()
    return render_template("errors/404.html"), 404


# -- Forms -------------------------------------------------------------------------------------


_ROLE_LABELS = {
    Role.GRADUATE: _l("Graduate (their own guarantee)"),
    Role.EMPLOYER: _l("Employer (confirms hires)"),
    Role.FINANCE: _l("Finance (claims and refunds)"),
    Role.REGISTRAR: _l("Registrar (records and imports)"),
    Role.ADMIN: _l("Admin (accounts, tokens, audit log)"),
}


class _LinkFields(PageForm):
    """Who a graduate or employer account belongs to."""

    student_email = StringField(
        _l("Student's email (graduate accounts)"),
        [Optional(), Length(max=254), email_address],
        filters=[strip],
        description=_l("The student the graduate account belongs to."),
    )
    employer_id = SelectField(
        _l("Employer (employer accounts)"), coerce=optional_id, choices=[], validate_choice=True
    )


class AccountForm(_LinkFields):
    email = StringField(
        _l("Email (sign-in name)"),
        [DataRequired(), Length(max=254), email_address],
        filters=[strip],
    )
    name = StringField(_l("Name"), [DataRequired(), Length(max=200), plain_text], filters=[strip])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, label) for role, label in _ROLE_LABELS.items()],
        default=Role.REGISTRAR.value,
    )


class RoleForm(_LinkFields):
    role = SelectField(
        _l("New role"),
        choices=[SelectChoice(role.value, label) for role, label in _ROLE_LABELS.items()],
    )


class ActiveForm(PageForm):
    active = HiddenField(validators=[AnyOf(["yes", "no"])])


# -- Helpers -----------------------------------------------------------------------------------


def _employer_choices(form: _LinkFields) -> None:
    form.employer_id.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(employer.id), employer.name)
        for employer in listings.employers(db_session())
    ]


def _link(form: _LinkFields, role: Role) -> tuple[int | None, int | None] | None:
    """The student and employer ids the form names; None (with the error set) when unknown."""
    student_id = None
    if form.student_email.data:
        student = listings.student_with_email(db_session(), form.student_email.data)
        if student is None:
            form.student_email.errors.append(_("No student has this email."))
            return None
        student_id = student.id
    elif role is Role.GRADUATE:
        form.student_email.errors.append(
            _("A graduate account belongs to a student: enter their email.")
        )
        return None
    return student_id, form.employer_id.data


_LINK_FIELDS = {"student_id": "student_email"}


# -- Accounts ----------------------------------------------------------------------------------


# The function is not named ``accounts``: that is the service module.
@blueprint.route("/accounts", methods=["GET", "POST"], endpoint="accounts")
@requires(Permission.MANAGE_ACCOUNTS)
def accounts_page():
    """Every account; the form opens a new one and emails its owner an invitation to choose
    their password (nobody else ever knows it)."""
    form = AccountForm()
    _employer_choices(form)
    if not form.is_submitted():
        return _accounts_page(form, 200)
    if not form.validate():
        return _accounts_page(form, 400)
    role = Role(form.role.data)
    link = _link(form, role)
    if link is None:
        return _accounts_page(form, 400)
    session = db_session()
    try:
        user, invitation = accounts.invite_account(
            session,
            current_principal(),
            email=form.email.data,
            name=form.name.data,
            role=role,
            student_id=link[0],
            employer_id=link[1],
        )
    except (Invalid, Conflict) as error:
        return _accounts_page(form, refused(form, error, _LINK_FIELDS))
    session.commit()
    _flash_sent(accounts.send([invitation]), user.email, role)
    return redirect(url_for(".account", user_id=user.id))


def _accounts_page(form: AccountForm, status: int):
    args, query = _accounts_query()
    for error in args.errors:
        flash(error, "error")
    page = listings.accounts_page(db_session(), args.page(), query, size=ACCOUNTS_PER_PAGE)
    return render_template(
        "admin/accounts.html",
        page=page,
        form=form,
        params=args.params,
        query=query,
        roles=list(Role),
        sorts=ACCOUNT_SORTS,
    ), (400 if args.errors and status == 200 else status)


#: Accounts per page of the list.
ACCOUNTS_PER_PAGE = 50
#: The accounts list's sort keys, as its sort control names them.
ACCOUNT_SORTS = {
    listings.AccountSort.EMAIL.value: _l("Email"),
    listings.AccountSort.NAME.value: _l("Name"),
    listings.AccountSort.ROLE.value: _l("Role"),
    listings.AccountSort.LAST_SIGN_IN.value: _l("Last sign-in"),
}
#: The status filter's values.
ACTIVE = {"active": True, "disabled": False}


def _accounts_query() -> tuple[ListArgs, listings.AccountQuery]:
    """The accounts list's query parameters, checked (a wrong one ignored, and said so)."""
    args = ListArgs()
    role = args.choice("role", {role.value for role in Role}, None, _("role"))
    active = args.choice("status", ACTIVE, None, _("account status"))
    search = args.search()
    sort = args.choice("sort", ACCOUNT_SORTS, listings.AccountSort.EMAIL.value, _("sort"))
    query = listings.AccountQuery(
        role=Role(role) if role else None,
        active=ACTIVE[active] if active else None,
        search=search,
        sort=listings.AccountSort(sort),
        descending=args.order("asc"),
    )
    return args, query


@blueprint.get("/accounts/<id:user_id>")
@requires(Permission.MANAGE_ACCOUNTS)
def account(user_id: int):
    """One account and what an admin can do to it."""
    return _account_page(user_id)


def _flash_sent(sent: int, email: str, role: Role) -> None:
    if sent:
        message = _(
            "Account %(email)s (%(role)s) opened; the invitation is on its way by email.",
            email=email,
            role=label(role),
        )
        flash(message, "success")
    else:
        message = _(
            "Account %(email)s (%(role)s) opened, but the email could not be sent: try again "
            "from the account.",
            email=email,
            role=label(role),
        )
        flash(message, "error")


def _account_page(
    user_id: int,
    *,
    role_form: RoleForm | None = None,
    status: int = 200,
):
    user = db_session().get(User, user_id)
    if user is None:
        raise NotFound("User", user_id)
    if role_form is None:
        role_form = RoleForm(
            formdata=None,
            role=user.role.value,
            student_email=user.student.email if user.student else "",
            employer_id=user.employer_id,
        )
        _employer_choices(role_form)
    return render_template(
        "admin/account.html",
        user=user,
        role_form=role_form,
        is_self=user.id == current_principal().user_id,
    ), status


@blueprint.post("/accounts/<id:user_id>/active")
@requires(Permission.MANAGE_ACCOUNTS)
def set_active(user_id: int):
    """Enable or disable an account; disabling ends its sessions at once."""
    form = ActiveForm()
    if not form.validate():
        flash(_("Choose to enable or disable the account."), "error")
        return _account_page(user_id, status=400)
    session = db_session()
    try:
        user = accounts.set_active(session, current_principal(), user_id, form.active.data == "yes")
    except Conflict as error:
        session.rollback()
        flash(f"{error.message[:1].upper()}{error.message[1:]}.", "error")
        return _account_page(user_id, status=409)
    session.commit()
    if user.active:
        flash(_("%(email)s is enabled and can sign in again.", email=user.email), "success")
    else:
        flash(_("%(email)s is disabled; its sessions have ended.", email=user.email), "success")
    return redirect(url_for(".account", user_id=user.id))


@blueprint.post("/accounts/<id:user_id>/role")
@requires(Permission.MANAGE_ACCOUNTS)
def change_role(user_id: int):
    """Give the account another role; its sessions end so that the new role applies at once."""
    form = RoleForm()
    _employer_choices(form)
    if not form.validate():
        return _account_page(user_id, role_form=form, status=400)
    role = Role(form.role.data)
    link = _link(form, role)
    if link is None:
        return _account_page(user_id, role_form=form, status=400)
    session = db_session()
    try:
        user = accounts.change_role(
            session, current_principal(), user_id, role, student_id=link[0], employer_id=link[1]
        )
    except (Invalid, Conflict) as error:
        status = refused(form, error, _LINK_FIELDS)
        return _account_page(user_id, role_form=form, status=status)
    session.commit()
    flash(
        _(
            "%(email)s is now %(role)s; their sessions have ended.",
            email=user.email,
            role=label(role),
        ),
        "success",
    )
    return redirect(url_for(".account", user_id=user.id))


@blueprint.post("/accounts/<id:user_id>/access-link")
@requires(Permission.MANAGE_ACCOUNTS)
def send_access_link(user_id: int):
    """Email the account its way in: the invitation again until it has a password, a
    password-reset link after."""
    session = db_session()
    try:
        user, email = accounts.send_access_link(session, current_principal(), user_id)
    except Conflict as error:
        session.rollback()
        flash(f"{error.message[:1].upper()}{error.message[1:]}.", "error")
        return _account_page(user_id, status=409)
    session.commit()
    if not accounts.send([email]):
        flash(
            _("The email to %(email)s could not be sent; try again later.", email=user.email),
            "error",
        )
    elif user.password_hash is None:
        flash(_("%(email)s has been sent an invitation.", email=user.email), "success")
    else:
        flash(
            _("%(email)s has been sent a link to choose a new password.", email=user.email),
            "success",
        )
    return redirect(url_for(".account", user_id=user.id))


# -- API tokens --------------------------------------------------------------------------------


@blueprint.get("/tokens")
@requires(Permission.MANAGE_ACCOUNTS)
def tokens():
    """Every API token, with the account it acts as; any can be revoked here.

    Admins make tokens for their own account only (``/account/tokens``), like everyone else.
    """
    return render_template("admin/tokens.html", tokens=listings.api_tokens(db_session()))


@blueprint.post("/tokens/<id:token_id>/revoke")
@requires(Permission.MANAGE_ACCOUNTS)
def revoke_token(token_id: int):
    """Revoke an API token; it is refused from the next request on."""
    session = db_session()
    token = accounts.withdraw_token(session, current_principal(), token_id)
    session.commit()
    flash(
        _("Token %(prefix)s… (%(name)s) is revoked.", prefix=token.prefix, name=token.name),
        "success",
    )
    return redirect(url_for(".tokens"))


# -- Audit log ---------------------------------------------------------------------------------


@blueprint.get("/audit")
@requires(Permission.READ_AUDIT)
def audit():
    """The audit log, newest first; filter by the start of the action and part of the actor."""
    action = request.args.get("action", "").strip()[:100]
    actor = request.args.get("actor", "").strip()[:300]
    page = listings.audit_page(db_session(), page_number(), action_prefix=action, actor=actor)
    filters = {name: value for name, value in (("action", action), ("actor", actor)) if value}
    return render_template(
        "admin/audit.html", page=page, action=action, actor=actor, filters=filters
    )


# -- Personal data -----------------------------------------------------------------------------

#: What an admin types to confirm an erasure, which cannot be undone.
ERASE_CONFIRMATION = "ERASE"


class ErasureForm(PageForm):
    reason = TextAreaField(
        _l("Why the data is erased"),
        [DataRequired(), Length(max=2000), plain_text],
        filters=[strip],
        description=_l("For example the graduate's request and its date; kept in the audit log."),
    )
    confirmation = StringField(
        _l("Type %(word)s to confirm", word=ERASE_CONFIRMATION),
        [DataRequired(), AnyOf([ERASE_CONFIRMATION], message=_l("Type the word exactly."))],
        filters=[strip],
    )


@blueprint.get("/personal-data")
@requires(Permission.MANAGE_ACCOUNTS)
def personal_data():
    """Find a student by email or id, to export or erase their personal data."""
    return _personal_data_page(request.args.get("q", "").strip()[:254])


def _personal_data_page(query: str, form: ErasureForm | None = None, status: int = 200):
    session = db_session()
    student = None
    if query.isascii() and query.isdigit():
        student = session.get(Student, int(query)) if 0 < int(query) <= MAX_ID else None
    elif query:
        student = listings.student_with_email(session, query)
    return render_template(
        "admin/personal_data.html",
        query=query,
        student=student,
        form=form or ErasureForm(formdata=None),
        confirmation_word=ERASE_CONFIRMATION,
    ), status


@blueprint.get("/personal-data/<id:student_id>.json")
@requires(Permission.MANAGE_ACCOUNTS)
def personal_data_export(student_id: int):
    """The student's personal data as a JSON download; the export is audited."""
    session = db_session()
    export = personal_data_service.export_student(session, current_principal(), student_id)
    session.commit()
    response = jsonify(export)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="student-{student_id}-personal-data.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/personal-data/<id:student_id>/erase")
@requires(Permission.MANAGE_ACCOUNTS)
def erase_personal_data(student_id: int):
    """Erase the student's personal data (reason and typed confirmation required)."""
    form = ErasureForm()
    query = str(student_id)
    if not form.validate():
        return _personal_data_page(query, form, 400)
    session = db_session()
    try:
        personal_data_service.erase_student(
            session, current_principal(), student_id, form.reason.data
        )
    except (Invalid, Conflict) as error:
        return _personal_data_page(query, form, refused(form, error, {}))
    session.commit()
    flash(_("The personal data of student #%(id)s is erased.", id=student_id), "success")
    return redirect(url_for(".personal_data", q=query))
