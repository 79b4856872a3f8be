"""The scheduler process: APScheduler 3's ``BlockingScheduler``, never inside a web worker.

Only one runs jobs at a time: on PostgreSQL it holds an advisory lock for its whole life, on
SQLite a lock file beside the database; a second scheduler waits for the lock instead of
running the jobs twice.
"""

from __future__ import annotations

import fcntl
import logging
import signal
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import make_url, text

from app.database import make_engine
from jobs import tasks

log = logging.getLogger(__name__)

#: The advisory lock's key: any constant the other processes on the database don't use.
ADVISORY_LOCK_KEY = 0x4A4F4253  # "JOBS"

JOB_DEFAULTS = {
    "coalesce": True,  # a backlog of missed runs is run once
    "max_instances": 1,  # never two runs of the same job at once
    "misfire_grace_time": 3 * 3600,  # a run late by up to three hours still runs
}


@contextmanager
def single_scheduler_lock(app: Flask):
    """Hold the lock that makes this the only scheduler running jobs; wait for it if taken."""
    url = app.config["DATABASE_URL"]
    if url.startswith("postgresql"):
        engine = make_engine(url, pool_size=1)
        try:
            with engine.connect() as connection:
                got = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                ).scalar()
                if not got:
                    log.warning("another scheduler holds the lock; waiting for it")
                    connection.execute(
                        text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                    )
                connection.commit()
                log.info("scheduler lock taken")
                try:
                    yield
                finally:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                    )
                    connection.commit()
        finally:
            # Also when the scheduler fails: a pooled connection left open leaks until exit.
            engine.dispose()
    else:
        lock_path = _sqlite_lock_path(url, Path(app.instance_path))
        with lock_path.open("w") as lock_file:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.warning("another scheduler holds %s; waiting for it", lock_path)
                fcntl.flock(lock_file, fcntl.LOCK_EX)
            log.info("scheduler lock taken")
            yield


def _sqlite_lock_path(url: str, instance_path: Path) -> Path:
    # Beside the database file, so that schedulers of one database exclude each other and
    # schedulers of different databases don't.
    database = make_url(url).database
    if not database or database == ":memory:":
        return instance_path / "scheduler.lock"
    return Path(f"{database}.scheduler.lock")


def _stop_on_sigterm(*_args) -> None:
    # ``kill`` (and ``make run``'s shutdown) sends SIGTERM: stop as on Ctrl-C, letting a running
    # job finish while the lock is held.
    raise SystemExit(0)


def build_scheduler(app: Flask) -> BlockingScheduler:
    """The scheduler with its four jobs, from the app's settings."""
    settings = app.config["SETTINGS"]
    hour, minute = (int(part) for part in settings.sweep_time.split(":"))
    reminder_hour, reminder_minute = (int(part) for part in settings.reminder_time.split(":"))
    scheduler = BlockingScheduler(job_defaults=JOB_DEFAULTS, timezone=UTC)
    scheduler.add_job(
        tasks.run_sweep,
        CronTrigger(hour=hour, minute=minute, timezone=UTC),
        args=[app],
        id="sweep",
        name="daily guarantee sweep",
    )
    scheduler.add_job(
        tasks.run_executor,
        IntervalTrigger(seconds=settings.executor_interval_seconds, timezone=UTC),
        args=[app],
        id="executor",
        name="refund executor",
    )
    scheduler.add_job(
        tasks.run_reconciliation,
        CronTrigger(hour=(hour + 1) % 24, minute=minute, timezone=UTC),
        args=[app],
        id="reconciliation",
        name="daily reconciliation",
    )
    scheduler.add_job(
        tasks.run_reminders,
        CronTrigger(hour=reminder_hour, minute=reminder_minute, timezone=UTC),
        args=[app],
        id="reminders",
        name="daily reminder emails",
    )
    return scheduler


def main() -> None:
    """Run the scheduler until interrupted."""
    from app import create_app

    app = create_app()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with single_scheduler_lock(app):
        scheduler = build_scheduler(app)
        # Catch up at start: a sweep that was missed while nothing ran loses nobody; the
        # reminders run after it, in the same job, so they see the claims it flagged.
        scheduler.add_job(
            tasks.run_catch_up, args=[app], id="sweep-at-start", name="sweep and reminders at start"
        )
        log.info("scheduler started: %s", ", ".join(job.name for job in scheduler.get_jobs()))
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            # Let a running job finish while the lock is still held, or a second scheduler
            # could start the same job beside it.
            if scheduler.running:
                scheduler.shutdown()
            log.info("scheduler stopped")
