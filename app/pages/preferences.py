"""Each person's language, number formats and time zone, chosen on their account.

Anyone signed in with a password (graduates and employers included) picks a locale (or leaves it
to their browser) and a time zone (or leaves it to their country). Pages and emails follow the
choice from the next page on; the API keeps answering in UTC.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext, lazy_gettext, refresh
from wtforms import SelectField, ValidationError

from app.audit import record
from app.auth import current_principal
from app.auth.access import NotSignedIn
from app.database import db_session
from app.i18n import COUNTRY_TIMEZONES, LOCALES, valid_time_zone
from app.models import User
from app.pages.fields import PageForm

blueprint = Blueprint("preferences", __name__, url_prefix="/account")

#: Time zones offered first: where the school's people live.
COMMON_TIME_ZONES = sorted(
    {
        *COUNTRY_TIMEZONES.values(),
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Halifax",
        "America/Vancouver",
        "America/Edmonton",
        "America/Winnipeg",
        "UTC",
    }
)


class PreferencesForm(PageForm):
    locale = SelectField(lazy_gettext("Language and number formats"), choices=[])
    time_zone = SelectField(
        lazy_gettext("Time zone"),
        choices=[],
        description=lazy_gettext("Deadlines and other times are shown in this time zone."),
    )

    def fill_choices(self) -> None:
        self.locale.choices = [("", gettext("As my browser asks")), *LOCALES.items()]
        self.time_zone.choices = [
            ("", gettext("My country's")),
            *((zone, zone.replace("_", " ")) for zone in COMMON_TIME_ZONES),
        ]

    def validate_time_zone(self, field) -> None:
        if field.data and not valid_time_zone(field.data):
            raise ValidationError(gettext("Choose a time zone from the list."))


@blueprint.route("/preferences", methods=["GET", "POST"])
def preferences():
    """The signed-in person's language and time zone; saving applies them at once."""
    principal = current_principal()
    if principal.user_id is None:
        raise NotSignedIn()
    session = db_session()
    user = session.get(User, principal.user_id)
    form = PreferencesForm()
    form.fill_choices()
    if not form.is_submitted():
        form.locale.data = user.locale or ""
        form.time_zone.data = user.time_zone or ""
        return render_template("account/preferences.html", form=form)
    if not form.validate():
        return render_template("account/preferences.html", form=form), 400
    user.locale = form.locale.data or None
    user.time_zone = form.time_zone.data or None
    record(
        session,
        principal.actor,
        "account.preferences_changed",
        f"user:{user.id}",
        f"locale={user.locale or 'browser'} time_zone={user.time_zone or 'country'}",
    )
    session.commit()
    refresh()  # this response already speaks the new language
    flash(gettext("Your preferences are saved."), "success")
    return redirect(url_for(".preferences"))
