"""The scheduler: its jobs and their timing from the settings, never started by the web app, and
one lock that makes a second scheduler wait instead of running the jobs twice."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import select

from app import create_app
from jobs import leadership as leadership_module
from jobs import tasks
from jobs.leadership import Leadership
from jobs.scheduler import build_scheduler, run_job, single_scheduler_lock
from tests.jobs.conftest import wait_for

SUNDAY_AFTERNOON = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)


@pytest.fixture
def scheduled_app(app) -> Flask:
    """The app with a sweep at 14:30 UTC, the executor every 45 s and reminders at 16:05
    instead of the defaults."""
    app.config["SETTINGS"] = replace(
        app.config["SETTINGS"],
        sweep_time="14:30",
        executor_interval_seconds=45,
        reminder_time="16:05",
    )
    return app


@pytest.fixture
def leadership(scheduled_app) -> Leadership:
    """The lock as a SQLite scheduler holds it (a file lock cannot be lost)."""
    return Leadership(scheduled_app, "scheduler-under-test")


def task_of(job) -> object:
    """The task a scheduled job runs under the lock."""
    assert job.func is run_job
    return job.args[2]


@contextmanager
def started_paused(scheduler: BackgroundScheduler) -> Iterator[dict]:
    """Start ``scheduler`` paused (its own thread), so its jobs are really added but never run."""
    scheduler.start(paused=True)
    try:
        assert scheduler.running
        yield {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown()
    assert not scheduler.running


def fire_times(trigger, count: int, after: datetime) -> list[datetime]:
    """The next ``count`` instants at which ``trigger`` fires after ``after``."""
    times, previous, now = [], None, after
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, now)
        times.append(previous)
        now = previous
    return times


def test_build_scheduler_gives_every_job_the_explicit_defaults(scheduled_app, leadership):
    scheduler = build_scheduler(scheduled_app, leadership)

    with started_paused(scheduler) as jobs:
        assert set(jobs) == {
            "sweep",
            "executor",
            "claim-notices",
            "reconciliation",
            "reminders",
            "heartbeat",
        }
        for job in jobs.values():
            assert job.coalesce is True, job.id
            assert job.max_instances == 1, job.id
            assert job.misfire_grace_time >= 3600, job.id


def test_build_scheduler_is_a_background_scheduler_in_utc(scheduled_app, leadership):
    scheduler = build_scheduler(scheduled_app, leadership)

    assert isinstance(scheduler, BackgroundScheduler)
    assert scheduler.timezone.utcoffset(SUNDAY_AFTERNOON) == timedelta(0)
    for job in scheduler.get_jobs():
        assert job.trigger.timezone.utcoffset(SUNDAY_AFTERNOON) == timedelta(0), job.id
        if job.id != "heartbeat":
            assert job.args == (leadership, job.id, task_of(job), scheduled_app), job.id


def test_build_scheduler_sweeps_daily_at_the_configured_sweep_time_in_utc(
    scheduled_app, leadership
):
    [job] = [
        job for job in build_scheduler(scheduled_app, leadership).get_jobs() if job.id == "sweep"
    ]

    assert task_of(job) is tasks.run_sweep
    assert isinstance(job.trigger, CronTrigger)
    assert fire_times(job.trigger, 2, after=SUNDAY_AFTERNOON) == [
        datetime(2026, 3, 2, 14, 30, tzinfo=UTC),
        datetime(2026, 3, 3, 14, 30, tzinfo=UTC),
    ]


def test_build_scheduler_runs_the_executor_every_executor_interval_seconds(
    scheduled_app, leadership
):
    [job] = [
        job for job in build_scheduler(scheduled_app, leadership).get_jobs() if job.id == "executor"
    ]

    assert task_of(job) is tasks.run_executor
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(seconds=45)


def test_build_scheduler_reconciles_once_a_day(scheduled_app, leadership):
    [job] = [
        job
        for job in build_scheduler(scheduled_app, leadership).get_jobs()
        if job.id == "reconciliation"
    ]

    assert task_of(job) is tasks.run_reconciliation
    first, second, third = fire_times(job.trigger, 3, after=SUNDAY_AFTERNOON)
    assert second - first == third - second == timedelta(days=1)


def test_build_scheduler_sends_reminders_daily_at_the_configured_reminder_time_in_utc(
    scheduled_app, leadership
):
    [job] = [
        job
        for job in build_scheduler(scheduled_app, leadership).get_jobs()
        if job.id == "reminders"
    ]

    assert task_of(job) is tasks.run_reminders
    assert isinstance(job.trigger, CronTrigger)
    assert fire_times(job.trigger, 2, after=SUNDAY_AFTERNOON) == [
        datetime(2026, 3, 1, 16, 5, tzinfo=UTC),
        datetime(2026, 3, 2, 16, 5, tzinfo=UTC),
    ]


def test_create_app_starts_no_scheduler(monkeypatch, database_url):
    started = []
    monkeypatch.setattr(BaseScheduler, "start", lambda self, *a, **kw: started.append(self))
    threads_before = set(threading.enumerate())

    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    try:
        response = app.test_client().get("/healthz")
    finally:
        app.extensions["database"].dispose()

    assert response.status_code == 200
    assert started == []
    assert set(threading.enumerate()) - threads_before == set()


@pytest.fixture(params=["sqlite", "postgresql"])
def lock_app(request, tmp_path, database_url, monkeypatch) -> Flask:
    """A bare app whose scheduler lock is a file in a temporary instance folder (SQLite) or an
    advisory lock on the test database under a key of this test's own (PostgreSQL)."""
    if request.param == "postgresql":
        if not database_url.startswith("postgresql"):
            pytest.skip("the advisory lock needs TEST_DATABASE_URL on PostgreSQL")
        url = database_url
        # Advisory locks are database-wide: a key of our own keeps other runs out of the way.
        monkeypatch.setattr(leadership_module, "ADVISORY_LOCK_KEY", uuid.uuid4().int % 2**31)
    else:
        url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["DATABASE_URL"] = url
    return app


class Holder:
    """A thread that takes the scheduler lock and keeps it until released (a whole scheduler's
    life, in small): locks are per connection or per open file, so threads conflict like
    processes do."""

    def __init__(self, app: Flask):
        self.app = app
        self.holding = threading.Event()
        self.release = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        try:
            with single_scheduler_lock(self.app):
                self.holding.set()
                assert self.release.wait(timeout=30), "never released"
        except BaseException as error:  # noqa: BLE001 - reported by stop()
            self.errors.append(error)

    def start(self) -> Holder:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()
        assert self.errors == []


def test_single_scheduler_lock_makes_a_second_holder_wait_until_the_first_releases(
    lock_app, caplog
):
    caplog.set_level(logging.INFO, logger="jobs.scheduler")
    first = Holder(lock_app).start()
    assert first.holding.wait(timeout=10)

    second = Holder(lock_app).start()
    try:
        wait_for(
            lambda: "waiting for it" in caplog.text or second.holding.is_set(),
            "the second holder to wait or take the lock",
        )
        assert not second.holding.wait(timeout=0.3), "both held the lock at once"

        first.stop()
        assert second.holding.wait(timeout=10), "the second never got the released lock"
    finally:
        first.stop()
        second.stop()
    assert caplog.text.count("scheduler lock taken") == 2


def test_single_scheduler_lock_is_released_when_the_scheduler_fails(lock_app, caplog):
    with pytest.raises(RuntimeError), single_scheduler_lock(lock_app):
        raise RuntimeError("the scheduler died")

    holder = Holder(lock_app).start()
    try:
        assert holder.holding.wait(timeout=10)
    finally:
        holder.stop()
    assert "waiting for it" not in caplog.text


# --- every job runs under the lock, and its run is recorded ---------------------------------


def recorded_runs(session) -> list:
    from jobs.models import SchedulerJobRun

    return list(session.scalars(select(SchedulerJobRun).order_by(SchedulerJobRun.id)))


def test_run_job_records_a_run_that_succeeds(scheduled_app, leadership, session):
    assert run_job(leadership, "executor", lambda app: f"ran in {app.name}", scheduled_app) == (
        f"ran in {scheduled_app.name}"
    )

    [run] = recorded_runs(session)
    assert (run.job, run.scheduler, run.succeeded, run.error) == (
        "executor",
        "scheduler-under-test",
        True,
        None,
    )
    assert run.started_at <= run.finished_at


def test_run_job_records_a_run_that_fails_and_lets_the_error_through(
    scheduled_app, leadership, session
):
    def failing(_app):
        raise RuntimeError("provider down")

    with pytest.raises(RuntimeError, match="provider down"):
        run_job(leadership, "reconciliation", failing, scheduled_app)

    [run] = recorded_runs(session)
    assert (run.succeeded, run.error) == (False, "RuntimeError: provider down")
    assert run.finished_at is not None


def test_run_job_runs_nothing_once_the_lock_is_lost(scheduled_app, leadership, session):
    stopped = []
    leadership.on_lost = lambda: stopped.append(True)
    leadership.lose("in a test")
    ran = []

    assert run_job(leadership, "sweep", ran.append, scheduled_app) is None

    assert ran == []
    assert recorded_runs(session) == []
    assert stopped == [True]
    assert leadership.beat() is False


def test_the_heartbeat_records_when_the_lock_was_last_found_held(leadership, session):
    from jobs.leadership import latest_heartbeat

    assert latest_heartbeat(session) is None
    assert leadership.beat() is True
    first = latest_heartbeat(session).beat_at
    assert leadership.beat() is True

    beat = latest_heartbeat(session)
    assert beat.scheduler == "scheduler-under-test"
    assert beat.lock_taken_at <= first <= beat.beat_at


def test_the_scheduler_reconciles_with_the_provider_before_it_sweeps_at_start(monkeypatch):
    # After a crash or a restored backup, what the provider made is recorded before anything
    # is judged again.
    ran: list[str] = []
    for job in ("run_reconciliation", "run_sweep", "run_reminders"):
        monkeypatch.setattr(tasks, job, lambda _app, job=job: ran.append(job))

    tasks.run_catch_up(object())

    assert ran == ["run_reconciliation", "run_sweep", "run_reminders"]
