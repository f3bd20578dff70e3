"""A whole session sheet through the session workspace: upload, background routing, re-upload, on loopback.

Starts ``uvicorn api.main:app`` with the active model of ``--models-dir`` (as ``bench_load.py`` does: a throw-away
database, fixed bench keys), then posts a ``--rows``-row CSV made from ``data/samples/open_batch.csv`` (new case
numbers, small text variations) to ``POST /sessions`` and measures

- the upload's answer (reading and registering every row; routing runs afterwards in the background worker),
- the job from queued to done (every row with precedents, the repeat check, and 并案 over the whole sheet),
- ``POST /route`` latency sampled while the job runs (the service stays usable during a session's routing),
- the same sheet uploaded again into the session (every row matched, nothing registered twice).

Results are merged by ``--scenario`` into ``benchmarks/results/session.json`` and the ``session`` section of
docs/benchmarks.md is rewritten from them. Proposal texts are never printed or logged. Example:
``.venv/bin/python benchmarks/bench_session.py``; compare variants with ``--env KEY=VALUE``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _common import (
    DEFAULT_ENCODER,
    DOC,
    RESULTS,
    ROOT,
    busy_fraction,
    environment_lines,
    fmt,
    replace_section,
    report_header,
    setup_logging,
    table,
)
from bench_load import (
    KEYS,
    check_setup,
    encoder_texts,
    env_pair,
    read_rows,
    sheet_csv,
    start_service,
    stop_service,
    wait_ready,
)

TARGET_S = 60.0
HEAD = {"X-API-Key": KEYS["assigner"]}


def probe_routes(base: str, rows: list[dict], stop: threading.Event, out: list[float], every: float = 0.5) -> None:
    """One ``POST /route`` at a time, ``every`` seconds after the last answer, until ``stop``."""
    with httpx.Client(timeout=60, headers=HEAD) as client:
        n = 0
        while not stop.is_set():
            row = rows[n % len(rows)]
            n += 1
            t0 = time.perf_counter()
            r = client.post(f"{base}/route", json={"title": row["标题"], "body": row["内容"]})
            if r.status_code == 200:
                out.append(time.perf_counter() - t0)
            stop.wait(every)


def run_session(base: str, rows: list[dict], n: int, timeout: float, probe_every: float = 0.5,
                distinct: bool = True) -> dict:
    # distinct: every row a text of its own for the encoder, as in a real sheet; else the open batch's texts repeat
    data = sheet_csv(rows, n, distinct=distinct)
    out: dict = {"rows": n, "bytes": len(data), "encoder_texts": encoder_texts(data), "probe_every_s": probe_every}
    with httpx.Client(timeout=timeout, headers=HEAD) as client:
        t0 = time.perf_counter()
        r = client.post(f"{base}/sessions", files={"file": ("sheet.csv", data, "text/csv")}, data={"name": "bench"})
        out["upload_s"] = round(time.perf_counter() - t0, 2)
        if r.status_code != 202:
            return {**out, "status": str(r.status_code)}
        session = r.json()
        job_id = session["job"]["id"]
        probes: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(target=probe_routes, args=(base, rows, stop, probes, probe_every), daemon=True)
        if probe_every > 0:  # 0: the sheet alone, nothing else asked of the service meanwhile
            probe.start()
        polls = 0
        while time.perf_counter() - t0 < timeout:
            job = client.get(f"{base}/jobs/{job_id}").json()
            polls += 1
            if job["status"] not in ("queued", "running"):
                break
            time.sleep(0.5)
        stop.set()
        if probe.is_alive():
            probe.join(timeout=60)
        finished = time.perf_counter()
        started = job.get("started_at")
        out.update(status=job["status"], job_done=job["done"], total_s=round(finished - t0, 1), polls=polls,
                   job_started=started, job_finished=job.get("finished_at"))
        counts = client.get(f"{base}/sessions/{session['id']}").json()["counts"]
        out.update(counts=counts, rows_per_s=round(job["done"] / max(finished - t0, 1e-9), 1))
        if probes:
            ms = sorted(1000 * p for p in probes)
            out["route_during_job_ms"] = {"n": len(ms), "p50": round(statistics.median(ms), 1),
                                          "max": round(ms[-1], 1)}
        t1 = time.perf_counter()
        again = client.post(f"{base}/sessions/{session['id']}/upload",
                            files={"file": ("sheet-again.csv", data, "text/csv")})
        out["reupload_s"] = round(time.perf_counter() - t1, 2)
        if again.status_code == 202:
            u = again.json()["upload"]
            out["reupload"] = {k: u[k] for k in ("added", "changed", "unchanged", "missing")}
        out["cases"] = client.get(f"{base}/cases", params={"limit": 1},
                                  headers={"X-API-Key": KEYS["admin"]}).json()["count"]
    return out


def render(results: dict) -> str:
    lines = ["## Session workspace: a whole sheet through `POST /sessions`", "",
             "`benchmarks/bench_session.py`: a CSV made from the sample open batch (new case numbers, a varied "
             "clause opening each repeated body, so every row is a text of its own for the encoder; with "
             "`--repeated` the clause closes the body instead, so most rows repeat an earlier row's encoder text, "
             "as the acceptance test's sheet does) posted to "
             "`POST /sessions`; the upload answers once every row is read and registered, "
             "routing then runs in the service's background worker (every row with precedents, the repeat check "
             "and 并案 over the whole sheet) while `POST /route` is sampled (`--probe-every` seconds after each "
             "answer; 0: none, the sheet alone); then the same sheet "
             "is uploaded again into the session.", ""]
    rows = []
    for name, s in results.items():
        r = s["result"]
        during = r.get("route_during_job_ms") or {}
        again = r.get("reupload") or {}
        rows.append([f"`{name}`", f"{r['rows']} ({r.get('encoder_texts', '–')} distinct)",
                     fmt(r.get("upload_s"), ".1f") + " s", fmt(r.get("total_s"), ".1f") + " s",
                     fmt(r.get("rows_per_s"), ".1f"), r.get("status"),
                     f"{fmt(during.get('p50'), '.0f')} / {fmt(during.get('max'), '.0f')} ms ({during.get('n', 0)})",
                     f"{fmt(r.get('reupload_s'), '.1f')} s: {again.get('added', '–')} added, "
                     f"{again.get('unchanged', '–')} unchanged", r.get("cases")])
    lines += table(["scenario", "rows", "upload answered", "upload → routed", "rows/s", "job",
                    "`POST /route` during the job p50 / max", "same sheet again", "cases in store"], rows)
    for name, s in results.items():
        r = s["result"]
        met = r.get("status") == "done" and r.get("total_s", 1e9) <= TARGET_S
        every = r.get("probe_every_s", 0.5)
        probes = f"a `POST /route` probe {every:g} s after each answer" if every else "the sheet alone (no probes)"
        lines += ["", f"`{name}`: target ≤ {TARGET_S:.0f} s for {r['rows']} rows: {fmt(r.get('total_s'), '.1f')} s "
                  f"({'met' if met else 'missed'}); {probes}; counts {json.dumps(r.get('counts'), ensure_ascii=False)}"]
        lines += environment_lines(s)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument("--encoder", default=str(DEFAULT_ENCODER), help="encoder directory (or 'hashing')")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--env", type=env_pair, action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--startup-timeout", type=float, default=300)
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--repeated", action="store_true",
                        help="the open batch repeated (most rows the same encoder text as an earlier one)")
    parser.add_argument("--probe-every", type=float, default=0.5,
                        help="seconds between POST /route probes during the job (0: none, the sheet alone)")
    parser.add_argument("--json", type=Path, default=RESULTS / "session.json")
    args = parser.parse_args(argv)
    setup_logging()
    if problem := check_setup(args.models_dir, args.encoder):
        print(f"setup failed: {problem}", file=sys.stderr)
        return 2
    report = report_header(("fastapi", "uvicorn", "torch", "sentence-transformers", "faiss-cpu"), False)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jiaoban-session-") as tmp:
        proc, base, t0 = start_service(args, Path(tmp))
        try:
            wait_ready(proc, base, t0, args.startup_timeout, Path(tmp))
            report["result"] = run_session(base, read_rows(), args.rows, args.timeout, args.probe_every,
                                           not args.repeated)
        finally:
            stop_service(proc)
    report["runtime_s"] = round(time.perf_counter() - started, 1)
    report["env"] = dict(args.env)
    report["machine"]["busy_after"] = busy_fraction()
    results = json.loads(args.json.read_text(encoding="utf-8")) if args.json.is_file() else {}
    results[args.scenario] = report
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    replace_section(DOC, "session", render(results))
    print(json.dumps(report["result"], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
