"""The scheduler's lock, held and watched: only the scheduler holding it runs jobs.

On PostgreSQL the lock is a session advisory lock on a connection of its own. That connection
can be lost (``pg_terminate_backend``, a restarted server, a network cut), and the lock with
it, while the process goes on: so before every job, and in a heartbeat every
``SCHEDULER_HEARTBEAT_SECONDS``, the holder checks on that very connection that it still holds
the lock. The job's run is recorded in the same statement as the check, so no run is ever
recorded as started after the lock was lost. On losing it the scheduler stops starting jobs at
once and goes back to waiting for the lock.

On SQLite the lock is a file lock beside the database, held by the open file until the process
ends; it cannot be lost while the process lives.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import socket
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import Connection, make_url, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from app.database import database, make_engine
from app.models.base import utc_now
from jobs.models import SchedulerHeartbeat, SchedulerJobRun

log = logging.getLogger("jobs.scheduler")

#: The advisory lock's first key: any constant the other processes on the database don't use.
#: The second key is the database schema's own (``schema_lock_key``), so that schedulers of
#: different schemas on one server don't exclude each other.
ADVISORY_LOCK_KEY = 0x4A4F4253  # "JOBS"

_HOLDS_LOCK = """
    EXISTS (
        SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
          AND classid::bigint = :key AND objid::bigint = :schema_key AND objsubid = 2
    )
"""


def schema_lock_key(schema: str) -> int:
    """The advisory lock's second key for a schema: a stable non-negative 31-bit number."""
    return zlib.crc32(schema.encode()) & 0x7FFFFFFF


def scheduler_name() -> str:
    """This process's name in the job-run records: host, process id and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Leadership:
    """This process holds the scheduler lock: check it, record runs under it, beat."""

    def __init__(self, app: Flask, name: str, connection: Connection | None = None):
        self.app = app
        #: This scheduler's name in the records.
        self.name = name
        #: The connection holding the advisory lock (PostgreSQL); ``None`` on SQLite.
        self._connection = connection
        self._schema_key: int | None = None
        self._guard = threading.Lock()  # one statement at a time on the lock's connection
        self._lost = threading.Event()
        self.lock_taken_at = utc_now()
        self.on_lost = lambda: None
        if connection is not None:
            schema = connection.scalar(text("SELECT current_schema()"))
            self._schema_key = schema_lock_key(schema)

    @property
    def lost(self) -> bool:
        """Whether the lock was found lost (then no job starts here any more)."""
        return self._lost.is_set()

    def _on_lock_connection(self, statement: str, params: dict):
        """Run ``statement`` on the lock's connection; ``None`` when the connection is gone."""
        params = {**params, "key": ADVISORY_LOCK_KEY, "schema_key": self._schema_key}
        with self._guard:
            try:
                row = self._connection.execute(text(statement), params).first()
                self._connection.commit()
            except SQLAlchemyError as error:
                log.error("scheduler lock connection failed: %s", getattr(error, "orig", error))
                return None
        return row

    def lose(self, why: str) -> None:
        """Take the lock as lost: no job starts here any more, and ``on_lost`` is called."""
        if not self._lost.is_set():
            self._lost.set()
            log.error("scheduler lock lost (%s): no job starts here until it is taken again", why)
            self.on_lost()

    def begin_run(self, job: str) -> int | None:
        """Record that ``job`` starts now, if the lock is still held; its run id, else ``None``
        (and the lock is lost)."""
        if self.lost:
            return None
        if self._connection is None:
            with self.app.app_context(), database().session() as session:
                run = SchedulerJobRun(job=job, scheduler=self.name, started_at=utc_now())
                session.add(run)
                session.commit()
                return run.id
        row = self._on_lock_connection(
            "INSERT INTO scheduler_job_runs (job, scheduler, started_at) "
            f"SELECT :job, :name, clock_timestamp() WHERE {_HOLDS_LOCK} RETURNING id",
            {"job": job, "name": self.name},
        )
        if row is None:
            self.lose(f"before the {job} job")
            return None
        return row[0]

    def end_run(self, run_id: int, error: BaseException | None) -> None:
        """Record how run ``run_id`` ended (on the app's own connections: even with the lock
        lost meanwhile, the run happened)."""
        with self.app.app_context(), database().session() as session:
            session.execute(
                update(SchedulerJobRun)
                .where(SchedulerJobRun.id == run_id)
                .values(
                    finished_at=utc_now(),
                    succeeded=error is None,
                    error=None if error is None else f"{type(error).__name__}: {error}"[:2000],
                )
            )
            session.commit()

    def beat(self) -> bool:
        """Check the lock and record the heartbeat; ``False`` (and the lock lost) if gone."""
        if self.lost:
            return False
        if self._connection is None:
            with self.app.app_context(), database().session() as session:
                session.merge(
                    SchedulerHeartbeat(
                        scheduler=self.name,
                        lock_taken_at=self.lock_taken_at,
                        beat_at=utc_now(),
                    )
                )
                session.commit()
            return True
        row = self._on_lock_connection(
            "INSERT INTO scheduler_heartbeats (scheduler, lock_taken_at, beat_at) "
            f"SELECT :name, :taken, clock_timestamp() WHERE {_HOLDS_LOCK} "
            "ON CONFLICT (scheduler) DO UPDATE SET beat_at = excluded.beat_at "
            "RETURNING scheduler",
            {"name": self.name, "taken": self.lock_taken_at},
        )
        if row is None:
            self.lose("at the heartbeat")
            return False
        return True


@contextmanager
def single_scheduler_lock(app: Flask, name: str | None = None) -> Iterator[Leadership]:
    """Hold the lock that makes this the only scheduler running jobs; wait for it if taken."""
    name = name or scheduler_name()
    url = app.config["DATABASE_URL"]
    if url.startswith("postgresql"):
        engine = make_engine(url, pool_size=1)
        try:
            with engine.connect() as connection:
                schema_key = schema_lock_key(connection.scalar(text("SELECT current_schema()")))
                keys = {"key": ADVISORY_LOCK_KEY, "schema_key": schema_key}
                got = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key, :schema_key)"), keys
                ).scalar()
                if not got:
                    log.warning("another scheduler holds the lock; waiting for it")
                    connection.execute(text("SELECT pg_advisory_lock(:key, :schema_key)"), keys)
                connection.commit()
                log.info("scheduler lock taken")
                leadership = Leadership(app, name, connection)
                try:
                    yield leadership
                finally:
                    try:
                        connection.execute(
                            text("SELECT pg_advisory_unlock(:key, :schema_key)"), keys
                        )
                        connection.commit()
                    except SQLAlchemyError:
                        pass  # the connection is gone, and the lock went with it
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
            yield Leadership(app, name)


def _sqlite_lock_path(url: str, instance_path: Path) -> Path:
    # Beside the database file, so that schedulers of one database exclude each other and
    # schedulers of different databases don't.
    database = make_url(url).database
    if not database or database == ":memory:":
        return instance_path / "scheduler.lock"
    return Path(f"{database}.scheduler.lock")


def lock_holder_pids(connection: Connection) -> list[int]:
    """The server processes holding the scheduler lock of ``connection``'s schema (PostgreSQL)."""
    schema_key = schema_lock_key(connection.scalar(text("SELECT current_schema()")))
    return list(
        connection.scalars(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid::bigint = :key AND objid::bigint = :schema_key AND objsubid = 2"
            ),
            {"key": ADVISORY_LOCK_KEY, "schema_key": schema_key},
        )
    )


def latest_heartbeat(session) -> SchedulerHeartbeat | None:
    """The most recent heartbeat of any scheduler."""
    return session.scalars(
        select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.beat_at.desc()).limit(1)
    ).first()
