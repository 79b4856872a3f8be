"""``/healthz`` and ``/readyz``: the database, and a scheduler's recent heartbeat."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app import create_app
from app.models.base import utc_now
from jobs.models import SchedulerHeartbeat


def beat(session, seconds_ago: float) -> None:
    now = utc_now()
    session.add(
        SchedulerHeartbeat(
            scheduler="host:1:abc",
            lock_taken_at=now - timedelta(hours=1),
            beat_at=now - timedelta(seconds=seconds_ago),
        )
    )
    session.flush()


def test_readyz_is_503_while_no_scheduler_has_ever_beaten(client):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json["database"] == "ok"
    assert response.json["scheduler"] == "no scheduler has ever beaten"


def test_readyz_is_200_with_a_fresh_heartbeat(client, session):
    beat(session, seconds_ago=5)

    response = client.get("/readyz")

    assert response.status_code == 200, response.json
    assert response.json["status"] == "ok"
    assert 5 <= response.json["scheduler_heartbeat_age_seconds"] < 60


def test_readyz_is_503_once_the_heartbeat_is_older_than_the_setting(app, client, session):
    app.config["SETTINGS"] = replace(app.config["SETTINGS"], scheduler_heartbeat_stale_seconds=60)
    beat(session, seconds_ago=61)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json["scheduler"].startswith("heartbeat stale: last at ")
    assert "host:1:abc" in response.json["scheduler"]


def test_readyz_and_healthz_are_503_when_the_database_is_unreachable(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir.db"})
    client = app.test_client()

    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.json["database"] == "OperationalError", path
