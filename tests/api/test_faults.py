"""Faults with real processes: SIGKILL in the middle of a sheet import, a training run or a promotion leaves the
store and the active model as they were (or the operation complete), never half-done."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

from models.bundle import BundleStore, verify_bundle
from tests.api.conftest import API_KEYS, H
from tests.api.fakedata import closed_rows, write_csv
from tests.conftest import MINI_REGISTRY, ROOT
from tests.servers import free_port

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def kill_after(proc: subprocess.Popen, seconds: float) -> None:
    time.sleep(seconds)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def case_count(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]


def test_sigkill_during_a_sheet_import_leaves_all_or_nothing(tmp_path, models_dir):
    deps = tmp_path / "departments.json"
    deps.write_text(json.dumps(MINI_REGISTRY, ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "jiaoban.db"
    env = {**os.environ, "JIAOBAN_DATABASE": str(db), "JIAOBAN_DATA_DIR": str(tmp_path), "JIAOBAN_API_KEYS": API_KEYS,
           "JIAOBAN_MODELS_DIR": str(models_dir), "JIAOBAN_DEPARTMENTS": str(deps), "JIAOBAN_ENCODER": "hashing"}
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(base + "/api/v1/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        rows = closed_rows(n_per_dept=3000)  # 15,000 rows: the import takes long enough to be killed inside
        sheet = write_csv(rows, tmp_path / "closed.csv")

        answered: list[int] = []

        def upload():
            try:
                with open(sheet, "rb") as fh:
                    answered.append(httpx.post(base + "/api/v1/cases/import", headers=H["admin"], timeout=60,
                                               files={"file": ("closed.csv", fh, "text/csv")}).status_code)
            except httpx.HTTPError:
                pass  # the server is killed under it

        sender = threading.Thread(target=upload)
        sender.start()
        kill_after(server, 2.0)
        sender.join(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    # Killed inside the import (15,000 rows take several seconds here): nothing of it is stored; had it finished
    # first, all of it would be.
    assert case_count(db) == (len(rows) if answered == [200] else 0)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_sigkill_during_training_leaves_no_version_and_the_active_one(tmp_path, models_dir):
    store = BundleStore(models_dir)
    active, versions = store.active(), store.versions()
    deps = tmp_path / "departments.json"
    deps.write_text(json.dumps(MINI_REGISTRY, ensure_ascii=False), encoding="utf-8")
    data = write_csv(closed_rows(n_per_dept=60), tmp_path / "closed.csv")
    for delay in (1.0, 2.5):
        proc = subprocess.Popen([sys.executable, "-c", "from training.cli import main; main()", "train", str(data),
                                 "--departments", str(deps), "--models-dir", str(models_dir), "--promote", "--force",
                                 "--encoder", "hashing"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        kill_after(proc, delay)
        assert store.active() == active or verify_bundle(store.active_path())  # as before, or a complete new one
        for v in set(store.versions()) - set(versions):
            verify_bundle(store.path(v))  # a listed version is always a whole one


def test_sigkill_during_promotions_always_leaves_a_loadable_active_version(models_dir):
    store = BundleStore(models_dir)
    a, b = store.versions()
    for i in range(6):
        target = (a, b)[i % 2]
        proc = subprocess.Popen([sys.executable, "-c", "from training.cli import main; main()", "promote", target,
                                 "--models-dir", str(models_dir)], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        kill_after(proc, 0.3 + 0.25 * i)
        assert store.active() in (a, b)
        verify_bundle(store.active_path())
        for line in (models_dir / "history.jsonl").read_text(encoding="utf-8").splitlines():
            json.loads(line)  # no torn line in the log
