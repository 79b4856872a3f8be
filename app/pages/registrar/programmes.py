"""Programmes and their guarantee policy versions: each version is published once and kept."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from app.database import db_session
from app.guarantee.terms import EmploymentType, WindowStart
from app.models import Programme
from app.pages.fields import refused
from app.pages.formatting import day
from app.pages.registrar import audit, blueprint
from app.pages.registrar.forms import PolicyForm, ProgrammeForm
from app.services import listings, records
from app.services.errors import Conflict, Invalid


@blueprint.route("/programmes", methods=["GET", "POST"])
def programmes():
    """Programmes with their policy versions; the form records a new programme."""
    form = ProgrammeForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            programme = records.create_programme(
                session,
                name=form.name.data,
                currency=form.currency.data,
                tuition_list_price_minor=form.tuition.minor,
            )
        except (Invalid, Conflict) as error:
            status = refused(form, error, {"tuition_list_price_minor": "tuition"})
            return _programmes_page(form, status)
        audit("programme.created", f"programme:{programme.id}", programme.name)
        session.commit()
        flash(
            _(
                "Programme %(name)s recorded. Publish its first guarantee policy version before"
                " enrolling students.",
                name=programme.name,
            ),
            "success",
        )
        return redirect(url_for(".programme", programme_id=programme.id))
    return _programmes_page(form, 400 if form.is_submitted() else 200)


def _programmes_page(form: ProgrammeForm, status: int):
    programmes = listings.programmes_with_policies(db_session())
    return render_template("registrar/programmes.html", programmes=programmes, form=form), status


@blueprint.get("/programmes/<id:programme_id>")
def programme(programme_id: int):
    """One programme, its policy versions and the form to publish the next one."""
    return _programme_page(programme_id, None, 200)


@blueprint.post("/programmes/<id:programme_id>/policies")
def publish_policy(programme_id: int):
    """Publish the programme's next policy version; earlier versions stay as they were."""
    session = db_session()
    programme = records.get_or_404(session, Programme, programme_id)
    form = PolicyForm()
    form.amount_currency = programme.currency
    if not form.validate():
        return _programme_page(programme_id, form, 400)
    try:
        policy = records.publish_policy(
            session,
            programme.id,
            effective_from=form.effective_from.data,
            qualifying_types=[EmploymentType(kind) for kind in form.qualifying_types.data],
            window_months=form.window_months.data,
            window_starts=WindowStart(form.window_starts.data),
            min_contract_months=form.min_contract_months.data,
            requires_in_field=form.requires_in_field.data,
            min_annual_salary_minor=form.pay_floor.minor,
            claim_deadline_days=form.claim_deadline_days.data,
            refund_cap_minor=form.refund_cap.minor,
            deduct_scholarships=form.deduct_scholarships.data,
            weekly_applications=form.weekly_applications.data or 0,
            coaching_every_weeks=form.coaching_every_weeks.data,
            answer_within_days=form.answer_within_days.data,
            report_offers_within_days=form.report_offers_within_days.data,
            declined_offer_voids=form.declined_offer_voids.data,
            max_pause_days=form.max_pause_days.data or 0,
            notes=form.notes.data or None,
            correction=form.correction.data,
            prerequisites=form.prerequisite_labels,
            qualify_within_months=form.qualify_within_months.data,
            search_areas=form.search_area_codes,
            requires_work_authorisation=form.requires_work_authorisation.data,
            remote_abroad_counts=form.remote_abroad_counts.data,
        )
    except (Invalid, Conflict) as error:
        field_of = {"min_annual_salary_minor": "pay_floor", "refund_cap_minor": "refund_cap"}
        return _programme_page(programme_id, form, refused(form, error, field_of))
    audit(
        "policy.published",
        f"policy:{policy.id}",
        f"{programme.name} v{policy.version} from {policy.effective_from}"
        + (" (a correction)" if form.correction.data else ""),
    )
    session.commit()
    flash(
        _(
            "Version %(version)s of %(programme)s's guarantee published; enrollments signed from"
            " %(day)s are bound to it.",
            version=policy.version,
            programme=programme.name,
            day=day(policy.effective_from),
        ),
        "success",
    )
    return redirect(url_for(".programme", programme_id=programme.id))


def _programme_page(programme_id: int, form: PolicyForm | None, status: int):
    programme = records.get_or_404(db_session(), Programme, programme_id)
    if form is None:
        form = PolicyForm(formdata=None)
    return render_template("registrar/programme.html", programme=programme, form=form), status
