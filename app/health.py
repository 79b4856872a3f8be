"""``GET /healthz``: whether the service can reach its database. ``GET /readyz``: that, and
whether a scheduler has lately proved that it holds the lock and runs the jobs."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.database import db_session
from app.models.base import utc_now
from jobs.leadership import latest_heartbeat

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    """200 with ``{"database": "ok"}`` when a query goes through, 503 otherwise."""
    try:
        db_session().execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return {"status": "unavailable", "database": type(error).__name__}, 503
    return {"status": "ok", "database": "ok"}


@blueprint.get("/readyz")
def readyz():
    """200 when the database answers and a scheduler beat within
    ``SCHEDULER_HEARTBEAT_STALE_SECONDS``; 503 naming what is wrong otherwise."""
    try:
        beat = latest_heartbeat(db_session())
    except SQLAlchemyError as error:
        db_session().rollback()
        return {"status": "unavailable", "database": type(error).__name__}, 503
    stale_after = timedelta(
        seconds=current_app.config["SETTINGS"].scheduler_heartbeat_stale_seconds
    )
    body = {"status": "ok", "database": "ok", "scheduler": "ok"}
    if beat is None:
        body.update(status="unavailable", scheduler="no scheduler has ever beaten")
    else:
        age = utc_now() - beat.beat_at
        body["scheduler_heartbeat_age_seconds"] = round(age.total_seconds(), 1)
        if age > stale_after:
            body.update(
                status="unavailable",
                scheduler=(
                    f"heartbeat stale: last at {beat.beat_at.isoformat()} from {beat.scheduler}"
                ),
            )
    return body, 200 if body["status"] == "ok" else 503


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
