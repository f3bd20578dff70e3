"""Jobs on PostgreSQL go through procrastinate (api.queue_pg): deferred on creation, run by its worker, a stalled
worker's task retried and resumed. Runs on the test PostgreSQL server whatever JIAOBAN_TEST_BACKEND says."""

from __future__ import annotations

import time

import psycopg

from api.queue_pg import TASK, PgQueue, ensure_schema
from tests.api.conftest import H
from tests.api.test_sessions import csv_bytes, sheet_rows, upload, wait_job


def queue_rows(url: str) -> list[tuple]:
    """procrastinate's tasks, oldest first: (task name, our job id, status)."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT task_name, args->>'job_id', status::text FROM procrastinate_jobs "
                            "ORDER BY id").fetchall()


def drain(worker: PgQueue, url: str, limit_s: float = 30) -> None:
    """Run ``worker`` until procrastinate's first task has succeeded."""
    worker.start()
    try:
        deadline = time.monotonic() + limit_s
        while queue_rows(url)[0][2] != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.close()
    assert queue_rows(url)[0][2] == "succeeded"


def test_the_schema_is_applied_once(pg_client):
    _, url = pg_client
    assert ensure_schema(url) is False  # the service applied it at start; again is a no-op
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is not None


def test_a_sheet_job_is_a_procrastinate_task_that_its_worker_runs(pg_client):
    client, url = pg_client
    queue = client.app.state.jobs
    assert isinstance(queue, PgQueue)
    queue.stop()  # hold the worker: the task waits in procrastinate's queue
    job_id = upload(client, csv_bytes(sheet_rows(5))).json()["job"]["id"]
    assert queue_rows(url) == [(TASK, str(job_id), "todo")]
    worker = PgQueue(queue.runner.__class__(queue.sdb, client.app.state.models.current), url)
    worker.start()
    try:
        job = wait_job(client, job_id)
    finally:
        worker.close()
    assert job["status"] == "done" and job["done"] == 5
    assert queue_rows(url) == [(TASK, str(job_id), "succeeded")]


def test_a_dead_workers_task_is_retried_and_resumes_with_the_rows_left(pg_client):
    client, url = pg_client
    queue = client.app.state.jobs
    queue.stop()
    job_id = upload(client, csv_bytes(sheet_rows(6))).json()["job"]["id"]
    with psycopg.connect(url) as conn:  # a worker took the task, then died: no heartbeat for an hour
        wid = conn.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour') "
                           "RETURNING id").fetchone()[0]
        conn.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s", (wid,))
    queue.sdb.update_job(job_id, status="running", worker="dead-host:1:x")
    worker = PgQueue(queue.runner.__class__(queue.sdb, client.app.state.models.current), url, stalled_s=1.0,
                     heartbeat_s=0.5)
    worker.start()
    try:
        job = wait_job(client, job_id)
    finally:
        worker.close()
    assert job["status"] == "done" and job["done"] == 6
    assert [r[2] for r in queue_rows(url)] == ["succeeded"]


def test_a_job_cancelled_while_queued_is_not_run(pg_client):
    client, url = pg_client
    queue = client.app.state.jobs
    queue.stop()
    r = upload(client, csv_bytes(sheet_rows(4)))
    job_id = r.json()["job"]["id"]
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=H["assigner"]).json()["status"] == "cancelled"
    drain(PgQueue(queue.runner.__class__(queue.sdb, client.app.state.models.current), url), url)
    job = queue.sdb.get_job(job_id)
    assert job["status"] == "cancelled" and job["done"] == 0
    assert client.get(f"/api/v1/sessions/{r.json()['id']}/rows", headers=H["assigner"]).status_code == 200


def test_a_job_without_a_task_is_deferred_when_a_worker_starts_and_only_once(pg_client):
    """A job queued before the store moved to procrastinate (or whose defer was lost) has no task: the next worker
    to start defers it and runs it; a second defer of the same waiting job queues nothing."""
    client, url = pg_client
    queue = client.app.state.jobs
    queue.stop()
    job_id = upload(client, csv_bytes(sheet_rows(3))).json()["job"]["id"]
    with psycopg.connect(url) as conn:  # as if it had been queued on our own job table, before the switch
        conn.execute("DELETE FROM procrastinate_jobs")
    worker = PgQueue(queue.runner.__class__(queue.sdb, client.app.state.models.current), url)
    assert worker.orphans() == [job_id]
    assert worker.defer(job_id) is True and worker.defer(job_id) is False  # another replica starting at once
    assert queue_rows(url) == [(TASK, str(job_id), "todo")] and worker.orphans() == []
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM procrastinate_jobs")
    try:
        assert worker.start() == [job_id]
        job = wait_job(client, job_id)
    finally:
        worker.close()
    assert job["status"] == "done" and job["done"] == 3
    assert queue_rows(url) == [(TASK, str(job_id), "succeeded")]


def test_a_running_worker_defers_a_job_whose_defer_was_lost(pg_client):
    client, url = pg_client
    queue = client.app.state.jobs
    queue.stop()
    worker = PgQueue(queue.runner.__class__(queue.sdb, client.app.state.models.current), url, stalled_s=1.0,
                     heartbeat_s=0.3)
    worker.start()
    try:
        queue.sdb.on_job_created = None  # the job's row is committed, its task never queued
        job_id = upload(client, csv_bytes(sheet_rows(2))).json()["job"]["id"]
        job = wait_job(client, job_id)
    finally:
        worker.close()
    assert job["status"] == "done" and job["done"] == 2
