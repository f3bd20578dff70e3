"""The curl examples in docs/api.md run as printed against a real server (only the port is changed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.api.test_restart import ROOT, free_port, start, stop, wait_ready

DOC = ROOT / "docs" / "api.md"


def examples() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    commands = []
    for block in blocks:
        if "uvicorn" in block or "jiaoban train" in block or "make install" in block:
            continue
        for cmd in re.split(r"\n(?=curl )", block.strip()):
            commands.append("\n".join(line for line in cmd.splitlines() if not line.lstrip().startswith("#")))
    return commands


def documented_keys() -> str:
    return re.search(r'JIAOBAN_API_KEYS="([^"]+)"', DOC.read_text(encoding="utf-8")).group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_examples_work_as_printed(tmp_path, models_dir):
    env = {**os.environ, "JIAOBAN_ENV": "development", "JIAOBAN_DATABASE": str(tmp_path / "j.db"),
           "JIAOBAN_DATA_DIR": str(tmp_path / "data"), "JIAOBAN_MODELS_DIR": str(models_dir),
           "JIAOBAN_DEPARTMENTS": str(ROOT / "data" / "samples" / "departments.json"),
           "JIAOBAN_API_KEYS": documented_keys(), "PYTHONPATH": str(ROOT)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    proc = start(env, port, log)
    try:
        wait_ready(proc, base, log)
        outputs = {}
        for cmd in examples():
            run = subprocess.run(["bash", "-c", cmd.replace("127.0.0.1:8000", f"127.0.0.1:{port}")], cwd=ROOT,
                                 capture_output=True, text=True, timeout=60)
            assert run.returncode == 0, (cmd, run.stderr)
            outputs[cmd.split("\n")[0]] = json.loads(run.stdout)
        by_path = {re.search(r"/api/v1/[\w/]+", k).group(0): v for k, v in outputs.items()}
        assert by_path["/api/v1/route"]["lead"][0]["probability"] > 0
        assert by_path["/api/v1/cases"]["id"] == 1
        assert by_path["/api/v1/cases/1/decision"]["error"]["code"] == "unknown_department"  # the last one wins
        overdue = by_path["/api/v1/ledger/overdue"]
        assert overdue["count"] == 1 and overdue["data"][0]["days_left"] == -42
        session = by_path["/api/v1/sessions"]
        assert session["upload"]["added"] == session["upload"]["rows_read"] - 1 == 149
        assert session["upload"]["errors"][0]["row"] == 2 and session["job"]["total"] == 149
    finally:
        stop(proc)
