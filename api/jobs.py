"""The background worker: one thread in a service or worker process takes queued jobs from the store.

A job's state and progress live in the store (``jobs``), so the page polls it and a restart finds it: a job left
``running`` by a stopped process is queued again (at start-up, or by any worker once its heartbeat is stale) and
resumes with the rows not routed yet (routed rows are saved chunk by chunk). Several processes over one store
each run a worker (service replicas, or ``python -m api.worker``); a claim is one transaction, so a job runs once.
On PostgreSQL procrastinate queues the jobs instead (``api.queue_pg``) and calls ``JobRunner.run`` for each; this
thread and its claim/requeue rules are the SQLite worker's. Cancelling is honoured between chunks; the rows routed
so far are kept.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from api.casework import now_iso
from api.sessions_db import SessionStore
from models.service import RoutingService

logger = logging.getLogger(__name__)

# Rows per routing call: large enough for the encoder's batches, small enough for a lively progress bar. The rows
# are routed in the order of their encoder texts' lengths (RoutingService.encoder_order), so a batch pads little.
# benchmarks/bench_job_ahead.py, 2,000 distinct rows, OpenVINO, 2 cores: chunks of 64 with 2 in flight 55.5 s,
# 64 with 1: 59.2 s, 32 with 2: 59.7 s, 32 with 1: 62.3 s.
CHUNK = 64
STALE_S = 300.0  # a running job without a progress update for this long has lost its worker
# Chunks of a sheet routed at once: while one chunk waits for the encoder (outside the GIL), the next is segmented
# and classified, so Python's work and the encoder's share the cores.
AHEAD = 2


Handler = Callable[[dict, Callable[[], bool]], str]


class JobRunner:
    """Runs queued jobs one at a time in a daemon thread (``start``/``stop``); ``wake`` after queueing one."""

    def __init__(self, sdb: SessionStore, service: Callable[[], RoutingService | None], *, poll_s: float = 2.0,
                 chunk: int = CHUNK, stale_s: float = STALE_S, handlers: Mapping[str, Handler] | None = None,
                 ahead: int = AHEAD):
        self.sdb = sdb
        # Other kinds of job (api.training_jobs, api.index_jobs): handler(job, stopping) -> final status.
        self.handlers = dict(handlers or {})
        self.service = service
        self.poll_s = poll_s
        self.chunk = chunk
        self.ahead = max(1, ahead)
        self.stale_s = stale_s
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> list[int]:
        """Queue again what a stopped process left running, then start the worker. Returns the requeued jobs."""
        requeued = self.requeue_abandoned()
        self._thread = threading.Thread(target=self._loop, name="jiaoban-jobs", daemon=True)
        self._thread.start()
        return requeued

    def requeue_abandoned(self) -> list[int]:
        """Jobs whose worker stopped: a process of this machine that is gone, or no heartbeat for ``stale_s``
        (another machine's worker; several service processes share one store and each runs a worker)."""
        stale = datetime.now(timezone.utc) - timedelta(seconds=self.stale_s)
        requeued = self.sdb.requeue_abandoned(dead=self._dead, stale_before=stale.isoformat(timespec="seconds"))
        if requeued:
            logger.warning("jobs %s were left running by a stopped worker; resuming them", requeued)
        return requeued

    @staticmethod
    def _dead(worker: str) -> bool:
        host, _, rest = worker.partition(":")
        pid = rest.partition(":")[0]
        if host != socket.gethostname() or not pid.isdigit():
            return not worker  # a job claimed before workers were named
        if int(pid) == os.getpid():
            return False  # this process: a worker of its own that is still running the job
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def request_stop(self) -> None:
        """Running jobs stop at their next check (between chunks); nothing waits for them."""
        self._stop.set()

    def stop(self, timeout: float = 30.0) -> None:
        self.request_stop()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            job = None
            try:
                self.requeue_abandoned()
                job = self.sdb.claim_job(self.name)
            except Exception:  # the store may be briefly locked or gone; try again later
                logger.exception("could not read the job queue")
            if job is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()
                continue
            self.run(job)

    def run(self, job: dict) -> None:
        try:
            if job["kind"] in self.handlers:
                status = self.handlers[job["kind"]](job, self._stop.is_set)
            elif job["kind"] == "route_session":
                status = self._route_session(job)
            else:
                raise RuntimeError(f"未知的任务类型 {job['kind']}")
            self.sdb.update_job(job["id"], status=status, finished_at=now_iso())
            logger.info("job %s %s", job["id"], status)
        except _Stopping:
            logger.info("job %s interrupted by shutdown; it resumes at the next start", job["id"])
        except Exception as exc:
            logger.exception("job %s failed", job["id"])
            message = str(exc) if isinstance(exc, JobError) else f"任务出错（{type(exc).__name__}），请重试或联系管理员"
            self.sdb.update_job(job["id"], status="failed", error=message, finished_at=now_iso())

    def _route_session(self, job: dict) -> str:
        session_id = job["session_id"]
        service = self.service()
        if service is None:
            raise JobError("没有在用的模型，无法给出交办建议：请管理员先训练并启用模型")
        pending = self.sdb.pending_rows(session_id)
        pending = [pending[i] for i in service.encoder_order([(r["title"], r["body"]) for r in pending])]
        done = int(job["done"])
        if done + len(pending) != job["total"]:
            self.sdb.update_job(job["id"], total=done + len(pending))
        chunks = iter([pending[start : start + self.chunk] for start in range(0, len(pending), self.chunk)])
        with ThreadPoolExecutor(self.ahead, thread_name_prefix="jiaoban-route") as pool:
            def submit() -> None:
                part = next(chunks, None)
                if part is not None:
                    flight.append((part, pool.submit(service.route, [(r["title"], r["body"]) for r in part],
                                                      rows=[r["sheet_row"] for r in part])))

            flight: deque[tuple[list[dict], Future]] = deque()
            for _ in range(self.ahead):
                submit()
            while flight:
                if self._stop.is_set():
                    pool.shutdown(cancel_futures=True)
                    raise _Stopping
                current = self.sdb.get_job(job["id"])
                if current and current["cancel_requested"]:
                    pool.shutdown(cancel_futures=True)
                    return "cancelled"
                part, future = flight.popleft()
                batch = future.result()
                submit()
                vectors = batch.vectors
                self.sdb.save_results([(r["row_id"], item.to_dict(), None if vectors is None else vectors[n])
                                       for n, (r, item) in enumerate(zip(part, batch.items))])
                done += len(part)
                self.sdb.update_job(job["id"], done=done)
        if service.has_search:
            row_ids, _, vectors = self.sdb.vectors(session_id)
            if vectors is not None:
                groups = service.group_vectors(vectors)
                self.sdb.set_groups(session_id, [([row_ids[i] for i in g], sim) for g, sim in groups])
        return "done"


class JobError(RuntimeError):
    """A job failure to show staff as it is (a Chinese message naming what to do)."""


class _Stopping(Exception):
    """The service is shutting down mid-job."""
