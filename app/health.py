"""``GET /healthz``: whether the service can reach its database."""

from __future__ import annotations

from flask import Blueprint, Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.database import db_session

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    """200 with ``{"database": "ok"}`` when a query goes through, 503 otherwise."""
    try:
        db_session().execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return {"status": "unavailable", "database": type(error).__name__}, 503
    return {"status": "ok", "database": "ok"}


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
