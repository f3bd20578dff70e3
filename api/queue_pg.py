"""Background jobs on PostgreSQL: procrastinate, a queue that lives in the same database, so no further server.

Our ``jobs`` table stays the product's view of a job (kind, rows done of total, cancel, error: what the page polls
and every replica reads); procrastinate does the queueing. Creating a job defers one procrastinate task naming it
(``jiaoban.run_job``); a worker (``python -m api.worker``, or a service with ``JIAOBAN_JOBS_IN_PROCESS=true``) is
woken by procrastinate's LISTEN/NOTIFY, takes the task under procrastinate's lock (a job runs once however many
workers share the queue) and runs it with ``api.jobs.JobRunner.run`` as the in-process worker does on SQLite.

A worker stopped mid-job (SIGTERM) leaves the job ``running`` with the rows routed so far saved, and defers it again;
a worker that died (kill -9, lost machine) stops its procrastinate heartbeat, and any live worker retries its
stalled tasks (``get_stalled_jobs``). Either way the next run resumes with the rows not routed yet.

A job with no task waiting or running for it (queued before the store moved to this queue, or whose defer was lost
between the job's commit and the task's) is deferred when a worker starts. Each task carries procrastinate's
``queueing_lock`` and ``lock`` named after its job, so replicas starting at once defer it once, and two tasks of one
job never run at the same time. A running worker looks again every ``STALLED_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

import procrastinate
import psycopg
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.schema import SchemaManager

from api.casework import now_iso
from api.jobs import JobRunner

logger = logging.getLogger(__name__)

QUEUE = "jiaoban"
TASK = "jiaoban.run_job"
STALLED_S = 30.0  # a procrastinate worker without a heartbeat for this long has died; its tasks are retried
HEARTBEAT_S = 5.0
_SCHEMA_LOCK = 0x6A696171  # advisory lock: replicas starting at once apply procrastinate's schema once


def ensure_schema(url: str) -> bool:
    """Apply procrastinate's schema unless the database has it (idempotent; safe with replicas starting at once).
    Returns whether it was applied now."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is not None and row[0] is not None:
            return False
        conn.execute(SchemaManager.get_schema())
    logger.info("applied procrastinate's schema")
    return True


def _app(url: str) -> procrastinate.App:
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))


class PgQueue:
    """The job runner's face on PostgreSQL: ``defer`` a job, ``start``/``stop`` a procrastinate worker thread.
    ``wake`` does nothing: procrastinate's LISTEN/NOTIFY wakes the workers."""

    def __init__(self, runner: JobRunner, url: str, *, stalled_s: float = STALLED_S, heartbeat_s: float = HEARTBEAT_S):
        self.runner, self.url = runner, url
        self.sdb, self.name = runner.sdb, runner.name
        self.stalled_s, self.heartbeat_s = stalled_s, heartbeat_s
        # Defers from any thread, through a small synchronous pool (the worker's app has its own, async, in its loop).
        self._defer_app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(
            conninfo=url, min_size=1, max_size=4))
        self._defer_app.task(name=TASK, queue=QUEUE, pass_context=False)(self._task)
        self._defer_app.open()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()

    def defer(self, job_id: int) -> bool:
        """Queue a task for the job; False when one is already waiting for it (nothing is queued twice)."""
        lock = f"jiaoban-job-{job_id}"
        try:
            self._defer_app.configure_task(TASK, queue=QUEUE, queueing_lock=lock, lock=lock).defer(job_id=job_id)
        except AlreadyEnqueued:
            return False
        return True

    def orphans(self) -> list[int]:
        """Jobs still to run (queued, or running) that no procrastinate task is waiting for or running."""
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT j.id FROM jobs j WHERE j.status IN ('queued', 'running') AND NOT EXISTS ("
                "SELECT 1 FROM procrastinate_jobs p WHERE p.task_name = %s AND p.status IN ('todo', 'doing') "
                "AND p.args->>'job_id' = j.id::text) ORDER BY j.id", (TASK,)).fetchall()
        return [int(r[0]) for r in rows]

    def wake(self) -> None:
        pass

    def defer_orphans(self) -> list[int]:
        """Defer every job no task stands for; returns those deferred now."""
        deferred = [job_id for job_id in self.orphans() if self.defer(job_id)]
        if deferred:
            logger.warning("deferred %d job(s) that had no task in the queue: %s", len(deferred), deferred)
        return deferred

    def start(self) -> list[int]:
        """Defer the jobs no task stands for, then start the worker thread; returns the jobs deferred now."""
        deferred = self.defer_orphans()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), name="jiaoban-queue", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        return deferred

    def stop(self, timeout: float = 30.0) -> None:
        self.runner.request_stop()  # a running job stops between chunks and is deferred again
        if self._thread is None or not self._thread.is_alive():
            return
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout)

    def close(self) -> None:
        """Stop the worker, if started, and close the pool jobs are deferred through."""
        self.stop()
        self._defer_app.close()

    async def _serve(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        app = _app(self.url)
        app.task(name=TASK, queue=QUEUE, pass_context=False)(self._task)
        async with app.open_async():
            worker = asyncio.create_task(app.run_worker_async(
                queues=[QUEUE], name=self.name, install_signal_handlers=False,
                update_heartbeat_interval=self.heartbeat_s, stalled_worker_timeout=self.stalled_s,
                shutdown_graceful_timeout=30))
            self._ready.set()
            swept = loop_time = self._loop.time()
            while not self._stopping.is_set() and not worker.done():
                try:
                    await self._retry_stalled(app)
                    if (loop_time := self._loop.time()) - swept >= self.stalled_s:  # a defer lost since start
                        swept = loop_time
                        await asyncio.to_thread(self.defer_orphans)
                except Exception:  # the database may be briefly gone; try again later
                    logger.exception("could not look for stalled jobs")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.heartbeat_s)
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _retry_stalled(self, app: procrastinate.App) -> None:
        for stalled in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=self.stalled_s):
            logger.warning("procrastinate job %s (jiaoban job %s) lost its worker; retrying it", stalled.id,
                           stalled.task_kwargs.get("job_id"))
            await app.job_manager.retry_job(stalled)

    def _task(self, job_id: int) -> None:
        job = self.sdb.get_job(job_id)
        if job is None or job["status"] not in ("queued", "running"):
            return  # cancelled before it ran, or already finished
        self.sdb.update_job(job_id, status="running", worker=self.name, started_at=job["started_at"] or now_iso())
        self.runner.run({**job, "status": "running", "worker": self.name})
        after = self.sdb.get_job(job_id)
        if after is not None and after["status"] == "running":  # interrupted by shutdown: the next worker resumes it
            self.defer(job_id)
