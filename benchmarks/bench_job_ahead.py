"""A sheet's routing job in process, with one chunk in flight or several (``api.jobs.AHEAD``).

Uploads the distinct ``--rows``-row sheet of ``bench_load.py`` into a throw-away store through the API (worker held
back), then runs the job in this process with ``JobRunner.ahead`` = each of ``--ahead`` and prints the seconds as
JSON. No text is printed or logged. Example::

    .venv/bin/python benchmarks/bench_job_ahead.py --ahead 1,2 --chunk 32,64 --rows 2000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import DEFAULT_ENCODER, ROOT, busy_fraction
from bench_load import KEYS, read_rows, sheet_csv


def run(ahead: int, rows: int, models_dir: Path, encoder: str, chunk: int) -> float:
    with tempfile.TemporaryDirectory(prefix="jiaoban-ahead-") as tmp:
        os.environ.update({
            "JIAOBAN_ENV": "development", "JIAOBAN_MODELS_DIR": str(models_dir), "JIAOBAN_ENCODER": encoder,
            "JIAOBAN_DATABASE": f"{tmp}/bench.db", "JIAOBAN_DATA_DIR": tmp, "JIAOBAN_LOG_LEVEL": "WARNING",
            "JIAOBAN_JOBS_IN_PROCESS": "false",
            "JIAOBAN_API_KEYS": ",".join(f"{role}:{key}" for role, key in KEYS.items())})
        from fastapi.testclient import TestClient

        from api.jobs import JobRunner
        from api.main import create_app
        from models.settings import Settings

        app = create_app(Settings())  # this run's environment (get_settings() keeps the first run's store)
        with TestClient(app) as client:
            r = client.post("/api/v1/sessions", headers={"X-API-Key": KEYS["assigner"]},
                            files={"file": ("sheet.csv", sheet_csv(read_rows(), rows, True), "text/csv")})
            r.raise_for_status()
            sessions = app.state.sessions
            runner = JobRunner(sessions, app.state.models.current, ahead=ahead, chunk=chunk)
            job = sessions.claim_job("bench")
            started = time.perf_counter()
            runner.run(job)
            seconds = time.perf_counter() - started
            if sessions.get_job(job["id"])["status"] != "done":
                raise SystemExit(f"job ended {sessions.get_job(job['id'])['status']}")
            return seconds


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ahead", default="1,2")
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--chunk", default="32", help="rows per routing call (api.jobs.CHUNK), comma-separated")
    ap.add_argument("--models-dir", type=Path, default=ROOT / "var" / "models")
    ap.add_argument("--encoder", default=str(DEFAULT_ENCODER))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    out = {"rows": args.rows, "busy_before": busy_fraction(), "seconds": {}}
    for chunk in (int(c) for c in args.chunk.split(",")):
        for ahead in (int(a) for a in args.ahead.split(",")):
            seconds = run(ahead, args.rows, args.models_dir, args.encoder, chunk)
            out["seconds"][f"chunk {chunk}, ahead {ahead}"] = round(seconds, 1)
    out["busy_after"] = busy_fraction()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
