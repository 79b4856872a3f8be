"""The registrar's pages: programmes and their policy versions, students, enrollments, payments,
graduations, what is recorded after qualifying, and the CSV import; one module per record.

Every page needs READ_RECORDS (finance may look) and every change WRITE_RECORDS. A view parses
its form, calls ``app.services.records`` (or ``app.imports``) and redirects. A form the rules
refuse is shown again with each reason next to its field (400) and nothing written; a clash
with a record that exists (a duplicate email, a second graduation) is shown with 409.

Amounts are typed in the currency's main unit (``6500.00`` euros) and stored in minor units,
with as many decimals as babel says the currency has (2 for EUR, 0 for JPY).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app.audit import record
from app.auth import current_principal
from app.auth.access import Permission, authorize
from app.database import db_session
from app.services.errors import NotFound

blueprint = Blueprint("registrar", __name__, url_prefix="/registrar")


@blueprint.before_request
def _guard() -> None:
    """Every registrar page needs READ_RECORDS; every change needs WRITE_RECORDS."""
    looking = request.method in ("GET", "HEAD", "OPTIONS")
    permission = Permission.READ_RECORDS if looking else Permission.WRITE_RECORDS
    authorize(current_principal(), permission, target=request.path)


@blueprint.errorhandler(NotFound)
def _not_found(_error: NotFound):
    db_session().rollback()
    return render_template("errors/404.html"), 404


def audit(action: str, target: str, detail: str | None = None) -> None:
    """Record who wrote what: the record services take no principal, so the page says."""
    record(db_session(), current_principal().actor, action, target, detail)


# The views register themselves on the blueprint.
from app.pages.registrar import (  # noqa: E402
    csv_import,
    enrollments,
    follow_up,
    graduations,
    overview,
    programmes,
)

__all__ = [
    "blueprint",
    "csv_import",
    "enrollments",
    "follow_up",
    "graduations",
    "overview",
    "programmes",
]
