"""Graduations with their guarantee status today; the form records one."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.database import db_session
from app.models.base import utc_now
from app.pages.fields import page_number, refused
from app.pages.formatting import day
from app.pages.registrar import audit, blueprint
from app.pages.registrar.forms import GraduationForm
from app.services import listings, records
from app.services.errors import Conflict, Invalid


@blueprint.route("/graduations", methods=["GET", "POST"])
def graduations():
    """Graduations with their guarantee status today; the form records one."""
    form = GraduationForm()
    if not form.is_submitted():
        form = GraduationForm(formdata=None, enrollment_id=request.args.get("enrollment", type=int))
        return _graduations_page(form, 200)
    if not form.validate():
        return _graduations_page(form, 400)
    session = db_session()
    try:
        graduation = records.record_graduation(
            session, enrollment_id=form.enrollment_id.data, qualified_on=form.qualified_on.data
        )
    except (Invalid, Conflict) as error:
        return _graduations_page(form, refused(form, error, {}))
    student = graduation.enrollment.student
    audit(
        "graduation.recorded",
        f"graduation:{graduation.id}",
        f"enrollment:{graduation.enrollment_id} qualified on {graduation.qualified_on}",
    )
    session.commit()
    flash(
        _(
            "Graduation of %(name)s on %(day)s recorded.",
            name=student.name,
            day=day(graduation.qualified_on),
        ),
        "success",
    )
    return redirect(url_for(".graduations"))


#: Graduations per page of the list.
PER_PAGE = listings.PAGE_SIZE


def _graduations_page(form: GraduationForm, status: int):
    session = db_session()
    programme_id = request.args.get("programme", type=int)
    page = listings.graduations_page(
        session, page_number(), as_of=utc_now().date(), programme_id=programme_id, size=PER_PAGE
    )
    return render_template(
        "registrar/graduations.html",
        page=page,
        form=form,
        programmes=listings.programmes_with_policies(session),
        programme_id=programme_id,
    ), status
