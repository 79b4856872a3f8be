"""The scheduler process: APScheduler 3's ``BackgroundScheduler`` watched by the main thread,
never inside a web worker.

Only one runs jobs at a time: on PostgreSQL it holds an advisory lock, on SQLite a lock file
beside the database; a second scheduler waits for the lock instead of running the jobs twice.
The holder checks the lock before every job and in a heartbeat (``jobs.leadership``); when it
finds the lock lost it stops starting jobs and waits for the lock again.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from app.observability import request_id_of
from jobs import tasks
from jobs.leadership import ADVISORY_LOCK_KEY, Leadership, single_scheduler_lock

log = logging.getLogger(__name__)

__all__ = ["ADVISORY_LOCK_KEY", "build_scheduler", "main", "run_job", "single_scheduler_lock"]

JOB_DEFAULTS = {
    "coalesce": True,  # a backlog of missed runs is run once
    "max_instances": 1,  # never two runs of the same job at once
    "misfire_grace_time": 3 * 3600,  # a run late by up to three hours still runs
}


def _stop_on_sigterm(*_args) -> None:
    # ``kill`` (and ``make run``'s shutdown) sends SIGTERM: stop as on Ctrl-C, letting a running
    # job finish while the lock is held.
    raise SystemExit(0)


def run_job(leadership: Leadership, job: str, task: Callable[[Flask], object], app: Flask):
    """Run ``task`` as ``job`` if this scheduler still holds the lock, recording the run."""
    run_id = leadership.begin_run(job)
    if run_id is None:
        log.warning("%s not run: this scheduler no longer holds the lock", job)
        return None
    error: BaseException | None = None
    try:
        with request_id_of(f"job-{job}-{run_id}"):  # on every log line the run writes
            return task(app)
    except BaseException as failure:
        error = failure
        raise
    finally:
        leadership.end_run(run_id, error)


def build_scheduler(app: Flask, leadership: Leadership) -> BackgroundScheduler:
    """The scheduler with its five jobs, from the app's settings, each run under
    ``leadership``, and the heartbeat that checks the lock between them."""
    settings = app.config["SETTINGS"]
    hour, minute = (int(part) for part in settings.sweep_time.split(":"))
    reminder_hour, reminder_minute = (int(part) for part in settings.reminder_time.split(":"))
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone=UTC)

    def add(job: str, task, trigger, name: str) -> None:
        scheduler.add_job(run_job, trigger, args=[leadership, job, task, app], id=job, name=name)

    add(
        "sweep",
        tasks.run_sweep,
        CronTrigger(hour=hour, minute=minute, timezone=UTC),
        "daily guarantee sweep",
    )
    add(
        "executor",
        tasks.run_executor,
        IntervalTrigger(seconds=settings.executor_interval_seconds, timezone=UTC),
        "refund executor",
    )
    add(
        "reconciliation",
        tasks.run_reconciliation,
        CronTrigger(hour=(hour + 1) % 24, minute=minute, timezone=UTC),
        "daily reconciliation",
    )
    add(
        "claim-notices",
        tasks.run_claim_notices,
        IntervalTrigger(seconds=settings.executor_interval_seconds, timezone=UTC),
        "emails to graduates about their claims",
    )
    add(
        "reminders",
        tasks.run_reminders,
        CronTrigger(hour=reminder_hour, minute=reminder_minute, timezone=UTC),
        "daily reminder emails",
    )
    scheduler.add_job(
        leadership.beat,
        IntervalTrigger(seconds=settings.scheduler_heartbeat_seconds, timezone=UTC),
        id="heartbeat",
        name="scheduler heartbeat",
    )
    return scheduler


def lead(app: Flask, leadership: Leadership) -> bool:
    """Run the jobs while this process holds the lock: ``True`` when the lock was lost (the
    caller waits for it again), ``False`` when stopped by a signal."""
    scheduler = build_scheduler(app, leadership)
    # Catch up at start: a sweep that was missed while nothing ran loses nobody; the
    # reminders run after it, in the same job, so they see the claims it flagged.
    scheduler.add_job(
        run_job,
        args=[leadership, "sweep-at-start", tasks.run_catch_up, app],
        id="sweep-at-start",
        name="sweep and reminders at start",
    )

    lost = threading.Event()
    leadership.on_lost = lost.set
    if not leadership.beat():
        return True
    log.info("scheduler started: %s", ", ".join(job.name for job in scheduler.get_jobs()))
    scheduler.start()
    try:
        # The main thread only waits, so a signal always lands here (APScheduler's own loop
        # would swallow a Ctrl-C that arrived while it handed a job over).
        while not lost.wait(timeout=1):
            pass
    except (KeyboardInterrupt, SystemExit):
        # Let a running job finish while the lock is still held, or a second scheduler
        # could start the same job beside it.
        scheduler.shutdown()
        log.info("scheduler stopped")
        return False
    # Lost: no new job starts (each checks the lock first); one already running finishes.
    scheduler.shutdown(wait=False)
    return True


def main() -> None:
    """Run the scheduler until interrupted; after losing the lock, wait for it again."""
    from app import create_app

    app = create_app()
    # Two lines per run of every job, the heartbeat's too, would drown the log: each run is in
    # scheduler_job_runs, and a job's failure is still logged as an error.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    while True:
        with single_scheduler_lock(app) as leadership:
            lost = lead(app, leadership)
        if not lost:
            return
        log.warning("waiting to take the scheduler lock again")
