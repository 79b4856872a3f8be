"""The registrar's overview: counts of the records and what was written last."""

from __future__ import annotations

from flask import render_template

from app.database import db_session
from app.pages.registrar import blueprint
from app.services import listings


@blueprint.get("")
def home():
    """Counts of the records and what was written last."""
    session = db_session()
    return render_template(
        "registrar/home.html",
        counts=listings.record_counts(session),
        activity=listings.recent_activity(session),
    )
