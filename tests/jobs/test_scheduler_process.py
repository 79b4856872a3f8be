"""Real scheduler processes (``python -m jobs``) on a committed database: a second one waits for
the first's lock, runs nothing meanwhile and takes over once the first is killed; one that is
interrupted keeps the lock until its running job has finished."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from app.models.base import utc_now
from jobs.leadership import lock_holder_pids
from jobs.models import SchedulerHeartbeat, SchedulerJobRun
from refunds.models import RefundClaim
from refunds.states import ClaimState
from tests import factories
from tests.jobs.conftest import make_owed_graduate, wait_for

ROOT = Path(__file__).resolve().parents[2]
SWEEP_LOG = re.compile(r"sweep as of \S+: (\d+) owed without a claim, (\d+) flagged")


class SchedulerProcess:
    """``python -m jobs`` with its output in a file, read with bounded waits."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log_file = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobs"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 30.0) -> re.Match:
        """The first match of ``pattern`` in the log; fails if the process exits or time is up."""
        give_up = time.monotonic() + timeout
        while (found := re.search(pattern, self.log)) is None:
            assert self.process.poll() is None, f"exited {self.process.returncode}:\n{self.log}"
            assert time.monotonic() < give_up, f"no {pattern!r} after {timeout} s:\n{self.log}"
            time.sleep(0.05)
        return found

    def kill(self) -> None:
        """Die at once, as after a crash or an OOM kill."""
        self.process.kill()
        self.process.wait(timeout=10)

    def interrupt(self) -> int:
        """Stop as an operator's Ctrl-C would; the exit status."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._log_file.close()


@pytest.fixture
def start_scheduler(committed_database, tmp_path) -> Iterator:
    """``start(name)``: a scheduler process on the committed database, its sweep twelve hours
    away and its executor hourly; every one is gone after the test."""
    url, _engine = committed_database
    now = utc_now()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SWEEP_TIME": f"{(now + timedelta(hours=12)).hour:02d}:00",
        "EXECUTOR_INTERVAL_SECONDS": "3600",
    }
    started: list[SchedulerProcess] = []

    def start(name: str, **more_env: str) -> SchedulerProcess:
        started.append(SchedulerProcess({**env, **more_env}, tmp_path / f"{name}.log"))
        return started[-1]

    yield start
    for process in started:
        process.close()


def scheduler_lock_is_free(url: str, engine) -> bool:
    """Whether nobody holds the scheduler lock the processes take. On SQLite the lock file sits
    beside this test's own database; on PostgreSQL the advisory lock is keyed on the test's own
    schema."""
    if not url.startswith("postgresql"):
        return True
    with engine.connect() as connection:
        return lock_holder_pids(connection) == []


@pytest.fixture
def no_other_scheduler(committed_database) -> None:
    """Skip when a scheduler outside this test (``make run``) holds the lock."""
    if not scheduler_lock_is_free(*committed_database):
        pytest.skip("another scheduler holds the scheduler lock of this machine")


@contextmanager
def claims_locked_against_writes(engine) -> Iterator[None]:
    """Hold a table lock that makes any insert of a claim wait until the block ends."""
    with engine.connect() as connection:
        connection.execute(text(f"LOCK TABLE {RefundClaim.__tablename__} IN EXCLUSIVE MODE"))
        yield
        connection.rollback()


def commit_owed_graduate(engine) -> int:
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        factories.use_session(session)
        try:
            graduation = make_owed_graduate()
            session.commit()
        finally:
            factories.use_session(None)
    return graduation.id


def test_a_second_scheduler_process_waits_for_the_lock_and_takes_over_when_the_first_dies(
    committed_database, no_other_scheduler, start_scheduler
):
    _url, engine = committed_database
    graduation_id = commit_owed_graduate(engine)

    # Started together, to pay the start-up time once; whichever takes the lock goes first.
    one, other = start_scheduler("one"), start_scheduler("other")
    wait_for(
        lambda: any("scheduler lock taken" in p.log for p in (one, other)), "a scheduler's lock"
    )
    first, second = (one, other) if "scheduler lock taken" in one.log else (other, one)
    # The first's catch-up sweep at start flags the graduate nobody flagged yet.
    assert first.wait_for_log(SWEEP_LOG.pattern).groups() == ("1", "1")
    assert second.wait_for_log("waiting for it|scheduler lock taken")[0] == "waiting for it"
    time.sleep(0.5)  # time enough to run a sweep, were it not waiting
    assert "scheduler lock taken" not in second.log
    assert not SWEEP_LOG.search(second.log), "the second swept while the first held the lock"

    first.kill()
    second.wait_for_log("scheduler lock taken")
    # Its own catch-up sweep finds the graduate already flagged.
    assert second.wait_for_log(SWEEP_LOG.pattern).groups() == ("0", "0")
    assert second.interrupt() == 0
    assert "scheduler stopped" in second.log

    with sessionmaker(engine)() as session:
        [claim] = session.scalars(
            select(RefundClaim).where(RefundClaim.graduation_id == graduation_id)
        )
        assert claim.state is ClaimState.FLAGGED
        assert claim.amount_minor == 300_000


def test_an_interrupted_scheduler_keeps_the_lock_until_its_running_job_has_finished(
    committed_database, no_other_scheduler, start_scheduler
):
    url, engine = committed_database
    if not url.startswith("postgresql"):
        # SQLite fails a blocked sweep at once ("database is locked") instead of holding it.
        pytest.skip("a sweep is held mid-run by a PostgreSQL table lock")
    commit_owed_graduate(engine)

    with claims_locked_against_writes(engine):
        scheduler = start_scheduler("scheduler")
        # The sweep at start is running, stuck on the claims. Signal once the main thread is back
        # to waiting: APScheduler swallows a Ctrl-C that lands while it hands a job over.
        scheduler.wait_for_log("Removed job sweep-at-start")
        time.sleep(0.2)
        scheduler.process.send_signal(signal.SIGINT)
        time.sleep(0.5)  # time enough to let go of the lock, were it not waiting for the sweep
        assert scheduler.process.poll() is None, scheduler.log
        assert not scheduler_lock_is_free(url, engine), "lock let go with the sweep still running"

    assert scheduler.process.wait(timeout=30) == 0, scheduler.log
    swept = SWEEP_LOG.search(scheduler.log)
    assert swept.groups() == ("1", "1")
    assert scheduler.log.index("scheduler stopped") > swept.start()
    assert scheduler_lock_is_free(url, engine)


REMINDERS_LOG = re.compile(r"reminders as of \S+: (\d+) due, (\d+) sent, (\d+) failed")


def commit_graduates_to_remind(engine, today: date) -> tuple[str, str]:
    """Two graduates the start-up reminders must reach: one a few days from the deadline,
    one three weeks into a window asking for five applications a week, with none logged.
    Their addresses."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        factories.use_session(session)
        try:
            near = factories.GraduationFactory(
                qualified_on=today - relativedelta(months=6) + timedelta(days=5)
            )
            behind = factories.GraduationFactory(
                qualified_on=today - timedelta(days=20),
                enrollment=factories.EnrollmentFactory(
                    policy=factories.GuaranteePolicyFactory(weekly_applications=5)
                ),
            )
            session.commit()
        finally:
            factories.use_session(None)
    return near.enrollment.student.email, behind.enrollment.student.email


def test_the_scheduler_sends_the_reminders_due_at_start_after_its_sweep(
    committed_database, no_other_scheduler, start_scheduler, mail_server
):
    _url, engine = committed_database
    near, behind = commit_graduates_to_remind(engine, utc_now().date())
    mail_server.clear()

    scheduler = start_scheduler(
        "scheduler", SMTP_HOST=mail_server.host, SMTP_PORT=str(mail_server.port)
    )

    assert scheduler.wait_for_log(REMINDERS_LOG.pattern).groups() == ("2", "2", "0")
    assert scheduler.log.index("sweep as of") < scheduler.log.index("reminders as of")
    subjects = {message["To"]: message["Subject"] for message in mail_server.messages}
    assert subjects[near].startswith("Your job guarantee deadline is in ")
    assert subjects[behind] == "You are behind on your job search (week 3 of your window)"
    assert scheduler.interrupt() == 0


# --- leadership that cannot split (PostgreSQL) -----------------------------------------------

#: Schedulers that check their lock every second and run the (idle) executor every second.
EVERY_SECOND = {
    "SCHEDULER_HEARTBEAT_SECONDS": "1",
    "EXECUTOR_INTERVAL_SECONDS": "1",
    "STRIPE_API_KEY": "sk_test_unused",  # no refund is due: the provider is never called
    "STRIPE_API_BASE": "http://127.0.0.1:9",
}


def job_runs(engine) -> list[SchedulerJobRun]:
    with sessionmaker(engine, expire_on_commit=False)() as session:
        return list(session.scalars(select(SchedulerJobRun).order_by(SchedulerJobRun.id)))


def heartbeats(engine) -> dict[str, SchedulerHeartbeat]:
    with sessionmaker(engine, expire_on_commit=False)() as session:
        return {beat.scheduler: beat for beat in session.scalars(select(SchedulerHeartbeat))}


def test_a_scheduler_whose_lock_connection_is_ended_stops_running_jobs_and_waits_again(
    committed_database, start_scheduler
):
    url, engine = committed_database
    if not url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend ends a PostgreSQL connection; a file lock is not lost")
    one, other = start_scheduler("one", **EVERY_SECOND), start_scheduler("other", **EVERY_SECOND)
    wait_for(
        lambda: any("scheduler lock taken" in p.log for p in (one, other)), "a scheduler's lock"
    )
    first, second = (one, other) if "scheduler lock taken" in one.log else (other, one)
    second.wait_for_log("waiting for it")
    wait_for(lambda: sum(run.job == "executor" for run in job_runs(engine)) >= 2, "two runs")
    [first_name] = heartbeats(engine)

    with engine.connect() as connection:
        [pid] = lock_holder_pids(connection)
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    second.wait_for_log("scheduler lock taken")
    first.wait_for_log("scheduler lock lost")
    first.wait_for_log("waiting to take the scheduler lock again")
    assert first.wait_for_log("lock; waiting for it")
    wait_for(lambda: len(heartbeats(engine)) == 2, "the second's heartbeat")
    [second_name] = set(heartbeats(engine)) - {first_name}
    wait_for(
        lambda: sum(run.scheduler == second_name for run in job_runs(engine)) >= 3,
        "the second's runs",
    )
    time.sleep(1.5)  # a heartbeat and an executor run more, were the first still running jobs

    runs = job_runs(engine)
    taken_over_at = heartbeats(engine)[second_name].lock_taken_at
    assert {run.scheduler for run in runs} == {first_name, second_name}
    # Exactly one scheduler started jobs at any moment: every run of the first started before
    # the second took the lock, every run of the second after.
    assert all(run.started_at < taken_over_at for run in runs if run.scheduler == first_name)
    assert all(run.started_at >= taken_over_at for run in runs if run.scheduler == second_name)
    assert all(run.succeeded for run in runs if run.finished_at is not None), [
        run.error for run in runs
    ]
    assert first.process.poll() is None, "the first should wait for the lock, not exit"
    assert heartbeats(engine)[first_name].beat_at < taken_over_at


def test_readyz_goes_red_once_the_scheduler_stops_beating(committed_database, start_scheduler):
    url, _engine = committed_database
    from app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": url})
    app.config["SETTINGS"] = replace(app.config["SETTINGS"], scheduler_heartbeat_stale_seconds=3)
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 503  # no scheduler yet
        scheduler = start_scheduler("scheduler", SCHEDULER_HEARTBEAT_SECONDS="1")
        wait_for(lambda: client.get("/readyz").status_code == 200, "readyz to turn green")

        scheduler.kill()
        stopped_at = time.monotonic()
        wait_for(lambda: client.get("/readyz").status_code == 503, "readyz to turn red", 10)

        assert time.monotonic() - stopped_at >= 1.5  # not before the heartbeat went stale
        assert client.get("/readyz").json["scheduler"].startswith("heartbeat stale")
    finally:
        app.extensions["database"].dispose()
