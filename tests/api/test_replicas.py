"""Province scale on one machine: two uvicorn replicas behind nginx (docs/deploy/nginx.conf) and a separate worker
process, over one PostgreSQL store and one models directory. A sheet routed by the worker is visible from both
replicas; a promotion on one replica is served by both within seconds while concurrent clients see no failure.

Loopback only, bounded: 4 processes, 4 client threads, at most about 75 s of traffic.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest

from api.queue_pg import TASK
from tests import servers
from tests.api.conftest import API_KEYS, H
from tests.api.test_sessions import csv_bytes, sheet_rows
from tests.conftest import MINI_REGISTRY, ROOT

pytestmark = pytest.mark.slow

SWITCH_S = 15.0  # a promotion must reach every replica within this (they poll the store every second here)


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"{url}: the process ended with {proc.returncode}")
        try:
            r = httpx.get(f"{url}/api/v1/health/ready", timeout=2)
            if r.status_code == 200:
                return r.json()["checks"]
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready after {timeout} s")


@pytest.fixture()
def deployment(tmp_path, models_root, pg_cluster):
    if not Path(servers.NGINX).exists():
        pytest.skip("nginx not installed (make test installs Debian's nginx-light): replica test skipped")
    database_url = pg_cluster.database()
    models = Path(shutil.copytree(models_root, tmp_path / "shared-models"))
    departments = tmp_path / "departments.json"
    departments.write_text(json.dumps(MINI_REGISTRY, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JIAOBAN_DATABASE_URL": database_url,
           "JIAOBAN_MODELS_DIR": str(models), "JIAOBAN_DEPARTMENTS": str(departments), "JIAOBAN_API_KEYS": API_KEYS,
           "JIAOBAN_ENCODER": "hashing", "JIAOBAN_JOBS_IN_PROCESS": "false", "JIAOBAN_MODEL_POLL_S": "1",
           "JIAOBAN_DATA_DIR": str(tmp_path / "data"), "JIAOBAN_LOG_LEVEL": "WARNING"}
    procs: list[subprocess.Popen] = []
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(name: str, *args: str) -> subprocess.Popen:
        out = open(logs / f"{name}.log", "w")
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    ports = [servers.free_port(), servers.free_port()]
    replicas = [start(f"replica{i}", sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                      "--port", str(p)) for i, p in enumerate(ports)]  # both at once: they migrate under a lock
    worker = start("worker", sys.executable, "-m", "api.worker")
    work = Path(tempfile.mkdtemp(prefix="jiaoban-nginx-"))
    front = servers.free_port()
    (work / "nginx.conf").write_text(servers.nginx_conf(front, ports, work), encoding="utf-8")
    nginx = start("nginx", servers.NGINX, "-c", str(work / "nginx.conf"), "-g", "daemon off;")
    try:
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url, proc in zip(urls, replicas):
            _wait_ready(url, proc)
        _wait_ready(f"http://127.0.0.1:{front}", nginx, timeout=30)
        yield {"front": f"http://127.0.0.1:{front}", "replicas": urls, "worker": worker, "database_url": database_url,
               "models": models}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)
        for log in sorted(logs.iterdir()):  # shown when the test fails
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")


def _job_done(url: str, job_id: int, timeout: float = 90.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = httpx.get(f"{url}/api/v1/jobs/{job_id}", headers=H["assigner"], timeout=10).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} not finished after {timeout} s")


def test_two_replicas_and_a_worker_share_sessions_and_switch_models_without_a_failed_request(deployment):
    front, replicas = deployment["front"], deployment["replicas"]
    # A sheet uploaded through the proxy is routed by the worker process, and both replicas show the result.
    r = httpx.post(f"{front}/api/v1/sessions", headers=H["assigner"], timeout=60,
                   files={"file": ("会期建议.csv", csv_bytes(sheet_rows(10)))}, data={"name": "省人代会"})
    assert r.status_code == 202, r.text
    session_id, job_id = r.json()["id"], r.json()["job"]["id"]
    job = _job_done(replicas[0], job_id)
    assert job["status"] == "done" and job["done"] == 10
    with psycopg.connect(deployment["database_url"]) as conn:
        worker_name = conn.execute("SELECT worker FROM jobs WHERE id = %s", (job_id,)).fetchone()[0]
        queued = conn.execute("SELECT status::text FROM procrastinate_jobs WHERE task_name = %s AND "
                              "args->>'job_id' = %s", (TASK, str(job_id))).fetchall()
    assert worker_name.split(":")[1] == str(deployment["worker"].pid)  # the worker ran it, not a replica
    assert queued == [("succeeded",)]  # through procrastinate's queue, by its worker
    seen = []
    for url in replicas:
        rows = httpx.get(f"{url}/api/v1/sessions/{session_id}/rows", headers=H["assigner"], timeout=30).json()
        seen.append(sorted((row["row"], row["routed"], row["suggestion"]["lead"][0]["id"]) for row in rows["data"]))
    assert len(seen[0]) == 10 and all(routed for _, routed, _ in seen[0]) and seen[0] == seen[1]

    # Concurrent clients route through the proxy while an admin promotes another version on replica 0.
    first = httpx.get(f"{replicas[0]}/api/v1/health/ready", timeout=10).json()["checks"]["model_version"]
    other = next(v["version"] for v in httpx.get(f"{replicas[0]}/api/v1/models", headers=H["admin"],
                                                  timeout=10).json()["data"] if v["version"] != first)
    stop = threading.Event()
    results: Counter = Counter()
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=front, headers=H["assigner"], timeout=30) as c:
            for i in range(2000):
                if stop.is_set():
                    return
                try:
                    resp = c.post("/api/v1/route", json={"title": f"小区加装电梯{n}-{i}", "body": "老旧小区加装电梯"})
                    outcome = resp.json()["model_version"] if resp.status_code == 200 else f"HTTP {resp.status_code}"
                except httpx.HTTPError as exc:
                    outcome = f"error {type(exc).__name__}"
                with lock:
                    results[outcome] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    def answered(version: str, n: int, within: float) -> None:
        end = time.monotonic() + within
        while results[version] < n and time.monotonic() < end:
            time.sleep(0.1)

    try:
        answered(first, 4, 30)
        promoted = httpx.post(f"{replicas[0]}/api/v1/models/{other}/promote", params={"why": "省级部署切换"},
                              headers=H["admin"], timeout=60)
        assert promoted.status_code == 200, promoted.text
        start, switched = time.monotonic(), {}
        while len(switched) < len(replicas) and time.monotonic() - start < SWITCH_S:
            for url in replicas:
                if url not in switched and httpx.get(f"{url}/api/v1/health/ready",
                                                     timeout=10).json()["checks"]["model_version"] == other:
                    switched[url] = round(time.monotonic() - start, 1)
            time.sleep(0.2)
        answered(other, 4, 30)  # traffic after the switch, answered by the new version
    finally:
        stop.set()
        for th in threads:
            th.join(60)
    print(f"switch seconds per replica: {switched}; answers: {dict(results)}")
    assert len(switched) == len(replicas), f"not every replica switched within {SWITCH_S} s: {switched}"
    failed = {k: n for k, n in results.items() if k not in (first, other)}
    assert failed == {} and results[first] > 0 and results[other] > 0
