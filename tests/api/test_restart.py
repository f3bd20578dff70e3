"""A real uvicorn process, killed with SIGKILL mid-life, keeps every case and decision it acknowledged."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import API_KEYS, H
from tests.conftest import MINI_REGISTRY

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict, port: int, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                                 "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(proc: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/api/v1/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"server not ready within {START_TIMEOUT}s:\n{log.read_text(errors='replace')[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def test_cases_survive_a_killed_server(tmp_path, models_dir):
    departments = tmp_path / "departments.json"
    departments.write_text(json.dumps(MINI_REGISTRY, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "JIAOBAN_ENV": "development", "JIAOBAN_DATABASE": str(tmp_path / "j.db"),
           "JIAOBAN_DATA_DIR": str(tmp_path / "data"), "JIAOBAN_MODELS_DIR": str(models_dir),
           "JIAOBAN_DEPARTMENTS": str(departments),
           "JIAOBAN_API_KEYS": API_KEYS, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "server.log"
    procs: list[subprocess.Popen] = []
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        procs.append(start(env, port, log))
        wait_ready(procs[-1], base, log)
        case = httpx.post(f"{base}/api/v1/cases", json={"title": "关于加快老旧小区加装电梯的建议", "body": "电梯"},
                          headers=H["assigner"], timeout=10).json()
        decision = httpx.post(f"{base}/api/v1/cases/{case['id']}/decision", json={"lead": "东湖区"},
                              headers=H["assigner"], timeout=10)
        assert decision.status_code == 201
        stop(procs[-1])
        assert procs[-1].returncode == -signal.SIGKILL

        procs.append(start(env, port, log))
        wait_ready(procs[-1], base, log)
        got = httpx.get(f"{base}/api/v1/cases/{case['id']}", headers=H["drafter"], timeout=10).json()
        assert got["status"] == "assigned" and got["lead"]["id"] == "dhq"
        assert got["decisions"][0]["accepted"] is False and got["suggestion"]["lead"][0]["id"] == "zjj"
    finally:
        for proc in procs:
            stop(proc)
