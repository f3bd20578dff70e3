"""Load on the HTTP service over loopback: concurrent clients, a session sheet upload, single-request latency.

Starts ``uvicorn api.main:app`` on 127.0.0.1 with the active model of ``--models-dir`` (it must have a search
index), a throw-away database and fixed bench keys, then

- load: ``--clients`` closed-loop clients (one thread and one ``httpx.Client`` each) for ``--seconds``, a 45/35/20
  mix of ``POST /route``, ``POST /search`` and ``POST /cases`` (each case with a new case number), chosen by a seeded
  RNG per client, after a warm-up of each kind;
- single: ``--single`` sequential ``POST /route`` requests, one at a time;
- sheet: a ``--sheet``-row CSV made from ``data/samples/open_batch.csv`` (new case numbers, small text variations)
  posted once to ``POST /route/upload``.

Results are merged by ``--scenario`` into ``benchmarks/results/load.json``; compare variants with ``--env`` (e.g.
``--env JIAOBAN_ENCODER_THREADS=1``) or ``--workers``. Missed targets are reported, not fatal; only a setup failure
exits non-zero. Proposal texts are never printed or logged. Example: ``.venv/bin/python benchmarks/bench_load.py``
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
from _common import DEFAULT_ENCODER, RESULTS, ROOT, busy_fraction, report_header, setup_logging

logger = logging.getLogger("bench_load")

SAMPLES = ROOT / "data" / "samples"
KEYS = {"admin": "bench-admin-key-0001", "assigner": "bench-assigner-key1", "drafter": "bench-drafter-key01"}
MIX = (("route", 45), ("search", 35), ("cases", 20))
TIMEOUT_S = 30.0
TARGETS = {"routes_per_s": 20.0, "route_p99_ms": 1000.0, "failures": 0, "sheet_s_2000": 60.0, "single_p50_ms": 100.0}


# -- setup --------------------------------------------------------------------------------------------------------
def check_setup(models_dir: Path, encoder: str) -> str | None:
    """None when the models dir has an active bundle with a search index and the encoder exists; else why not."""
    from models.bundle import SEARCH_DIR, BundleError, BundleStore

    how = ("make one with `make model`, or `jiaoban encoder-build --out var/encoders/multilingual-e5-small` and "
           "`jiaoban train data/samples/closed_cases.csv --promote --force --duplicate-labels "
           "data/samples/duplicate_labels.csv`")
    try:
        path = BundleStore(models_dir).active_path()
    except BundleError as exc:
        return f"{exc}; {how}"
    if not (path / SEARCH_DIR / "search.json").is_file():
        return f"the active model {path.name} has no search index; {how}"
    if encoder != "hashing" and not (Path(encoder) / "modules.json").is_file():
        return f"no encoder at {encoder}; {how}"
    return None


def read_rows() -> list[dict]:
    with open(SAMPLES / "open_batch.csv", encoding="utf-8-sig", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r.get("标题")]


def start_service(args, workdir: Path, extra_env: dict | None = None) -> tuple[subprocess.Popen, str, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "JIAOBAN_ENV": "development", "JIAOBAN_MODELS_DIR": str(args.models_dir),
           "JIAOBAN_ENCODER": str(args.encoder), "JIAOBAN_DATABASE": str(workdir / "bench.db"),
           "JIAOBAN_DATA_DIR": str(workdir), "JIAOBAN_LOG_LEVEL": "WARNING",
           "JIAOBAN_API_KEYS": ",".join(f"{role}:{key}" for role, key in KEYS.items()), **(extra_env or {}),
           **dict(args.env)}
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", "--no-access-log"]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    log = open(workdir / "uvicorn.log", "w")
    # Own session: a kill reaches every worker of the process group.
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return proc, f"http://127.0.0.1:{port}/api/v1", time.perf_counter()


class Deployment:
    """One service process, or ``--replicas`` of them behind nginx over a throwaway PostgreSQL cluster."""

    def __init__(self, args):
        self.args = args
        self.procs: list[subprocess.Popen] = []
        self.cluster = None
        self.nginx: subprocess.Popen | None = None
        self.ready: dict | None = None

    def start(self, workdir: Path) -> tuple[str, float]:
        from tests import servers

        args, extra = self.args, {}
        t0 = time.perf_counter()
        if args.postgres or args.replicas > 1:
            try:
                self.cluster = servers.Cluster().start()
            except servers.Unavailable as exc:
                raise SystemExit(f"setup failed: {exc}") from None
            extra["JIAOBAN_DATABASE_URL"] = self.cluster.database()
        bases = []
        for i in range(args.replicas):
            (workdir / f"r{i}").mkdir()
            proc, base, _ = start_service(args, workdir / f"r{i}", extra)
            self.procs.append(proc)
            bases.append(base)
        for proc, base, i in zip(self.procs, bases, range(args.replicas)):
            self.ready = wait_ready(proc, base, t0, args.startup_timeout, workdir / f"r{i}").get("checks")
        if not (args.proxy or args.replicas > 1):
            return bases[0], t0
        port = servers.free_port()
        (workdir / "nginx").mkdir()
        conf = workdir / "nginx" / "nginx.conf"
        ports = [int(b.split(":")[2].split("/")[0]) for b in bases]
        conf.write_text(servers.nginx_conf(port, ports, workdir / "nginx"), encoding="utf-8")
        with open(workdir / "nginx" / "uvicorn.log", "w") as log:  # the name wait_ready shows on a failure
            self.nginx = subprocess.Popen([servers.NGINX, "-c", str(conf), "-g", "daemon off;"], stdout=log,
                                          stderr=subprocess.STDOUT)
        front = f"http://127.0.0.1:{port}/api/v1"
        wait_ready(self.nginx, front, time.perf_counter(), 30, workdir / "nginx")
        return front, t0

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            stop_service(proc)
        if self.nginx is not None:
            self.nginx.terminate()
            self.nginx.wait(20)
        if self.cluster is not None:
            self.cluster.stop()


def wait_ready(proc: subprocess.Popen, base: str, started: float, limit_s: float, workdir: Path) -> dict:
    with httpx.Client(timeout=10) as client:
        while time.perf_counter() - started < limit_s and proc.poll() is None:
            try:
                r = client.get(f"{base}/health/ready")
                if r.status_code == 200:
                    return r.json()
            except httpx.TransportError:
                pass
            time.sleep(0.5)
    tail = (workdir / "uvicorn.log").read_text(errors="replace")[-1500:].strip()
    state = f"exited with {proc.returncode}" if proc.poll() is not None else f"not ready after {limit_s:.0f} s"
    raise SystemExit(f"setup failed: the service {state}; its log ends:\n{tail}")


def stop_service(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:  # workers (and a master that would not stop)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# -- requests -----------------------------------------------------------------------------------------------------
class Requests:
    """Request bodies for one client: rows cycle from a per-client offset; search queries are titles."""

    def __init__(self, rows: list[dict], client_no: int, run_id: str):
        self.rows, self.n, self.client_no, self.run_id, self.made = rows, client_no, client_no, run_id, 0

    def make(self, op: str, rng: random.Random) -> tuple[str, dict]:
        row, self.n = self.rows[self.n % len(self.rows)], self.n + 1
        if op == "route":
            return "/route", {"title": row["标题"], "body": row["内容"]}
        if op == "search":
            return "/search", {"query": rng.choice(self.rows)["标题"], "k": 10}
        self.made += 1
        case_no = f"LOAD-{self.run_id}-{self.client_no:02d}-{self.made:05d}"
        return "/cases", {"case_no": case_no, "kind": row.get("类型") or "建议", "title": row["标题"],
                          "body": row["内容"], "proposer": row.get("提案人", "")}


def one(client, base: str, path: str, body: dict) -> tuple[float, str]:
    """Latency and outcome ('200', '503', or an exception's class name) of one request."""
    t0 = time.perf_counter()
    try:
        status = str(client.post(base + path, json=body).status_code)
    except Exception as exc:  # a failure to count, never to print (the text could leak into a message)
        status = type(exc).__name__
    return time.perf_counter() - t0, status


def ok(status: str) -> bool:
    return status.isdigit() and 200 <= int(status) < 300


def client_loop(no: int, args, base: str, rows: list[dict], run_id: str, start: threading.Barrier,
                deadline: list[float], stop: threading.Event, out: list) -> None:
    rng, reqs, (ops, weights) = random.Random(args.seed * 1000 + no), Requests(rows, no, run_id), zip(*MIX)
    with httpx.Client(timeout=TIMEOUT_S, headers={"X-API-Key": KEYS["assigner"]}) as client:
        try:
            start.wait()
        except threading.BrokenBarrierError:
            return
        while not stop.is_set() and time.perf_counter() < deadline[0]:
            op = rng.choices(ops, weights)[0]
            began = time.perf_counter()
            out.append((op, began, *one(client, base, *reqs.make(op, rng))))


def run_load(args, base: str, rows: list[dict], run_id: str, stop: threading.Event) -> dict:
    out: list = []
    start = threading.Barrier(args.clients + 1)
    deadline = [float("inf")]
    threads = [threading.Thread(target=client_loop, args=(i, args, base, rows, run_id, start, deadline, stop, out),
                                daemon=True) for i in range(args.clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    deadline[0] = t0 + args.seconds
    for t in threads:
        while t.is_alive():
            t.join(timeout=0.5)
    elapsed = max([b + lat for _, b, lat, _ in out], default=t0) - t0
    report = {"clients": args.clients, "seconds": args.seconds, "elapsed_s": round(elapsed, 2), "ops": {}}
    for op, _ in MIX:
        mine = [(lat, st) for o, _, lat, st in out if o == op]
        good = [lat for lat, st in mine if ok(st)]
        report["ops"][op] = {"count": len(mine), "ok": len(good), "req_per_s": round(len(mine) / elapsed, 2),
                             **latency_ms([lat for lat, _ in mine]), "failures": len(mine) - len(good),
                             "statuses": dict(Counter(st for _, st in mine))}
    ops = report["ops"]
    # routes/s counts POST /route answered 2xx; routings/s adds the case creations, which route the item too.
    return {**report, "requests": len(out), "req_per_s": round(len(out) / elapsed, 2),
            "failures": sum(o["failures"] for o in ops.values()),
            "routes_per_s": round(ops["route"]["ok"] / elapsed, 2),
            "routings_per_s": round((ops["route"]["ok"] + ops["cases"]["ok"]) / elapsed, 2)}


def latency_ms(seconds: list[float]) -> dict:
    if not seconds:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    ms = np.asarray(seconds) * 1000
    return {k: round(float(np.percentile(ms, q)), 1) for k, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99))}


def warm_up(base: str, rows: list[dict], run_id: str, n: int) -> Counter:
    reqs, rng, seen = Requests(rows, 99, f"{run_id}w"), random.Random(0), Counter()
    with httpx.Client(timeout=120, headers={"X-API-Key": KEYS["assigner"]}) as client:
        for _ in range(n):
            for op, _ in MIX:
                seen[(op, one(client, base, *reqs.make(op, rng))[1])] += 1
    return seen


def single(base: str, rows: list[dict], n: int) -> dict:
    reqs, rng, times, statuses = Requests(rows, 0, "single"), random.Random(1), [], Counter()
    with httpx.Client(timeout=TIMEOUT_S, headers={"X-API-Key": KEYS["assigner"]}) as client:
        for _ in range(n):
            latency, status = one(client, base, *reqs.make("route", rng))
            times.append(latency)
            statuses[status] += 1
    return {"n": n, **latency_ms(times), "statuses": dict(statuses)}


# -- session sheet ------------------------------------------------------------------------------------------------
def sheet_csv(rows: list[dict], n: int, distinct: bool = False) -> bytes:
    """``n`` rows: the open batch repeated with new case numbers; repeats get a short varied clause at the end.

    The encoder sees a title and the first 200 characters of the body, so a clause at the end of a long body leaves
    most repeats the same text to encode as their original. ``distinct``: the clause opens the body instead, so
    every row is a text of its own, as in a real session's sheet.
    """
    tails = ["请予研究。", "望予采纳。", "建议尽快落实。", "请有关部门重视。", "恳请支持。"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["编号", "类型", "标题", "内容", "提案人"])
    for i in range(n):
        row, k = rows[i % len(rows)], i // len(rows)
        clause = f"{tails[(i + k) % len(tails)]}（{k}）"
        body = row["内容"] if k == 0 else f"{clause}{row['内容']}" if distinct else f"{row['内容']}{clause}"
        writer.writerow([f"LD2026-{i + 1:05d}", row.get("类型") or "建议", row["标题"], body, row.get("提案人", "")])
    return buf.getvalue().encode("utf-8")


def encoder_texts(data: bytes) -> int:
    """How many distinct texts the encoder gets from a sheet (title + opening of the body, as the index embeds)."""
    from models.search import SearchConfig, case_text

    rows = csv.DictReader(io.StringIO(data.decode("utf-8")))
    return len({case_text(r["标题"], r["内容"], SearchConfig()) for r in rows})


def sheet(base: str, rows: list[dict], n: int, timeout: float, distinct: bool = False) -> dict:
    data = sheet_csv(rows, n, distinct)
    headers = {"X-API-Key": KEYS["assigner"]}
    t0 = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout, headers=headers) as client:
            r = client.post(f"{base}/route/upload", files={"file": ("sheet.csv", data, "text/csv")})
    except Exception as exc:
        return {"rows": n, "seconds": round(time.perf_counter() - t0, 2), "status": type(exc).__name__}
    seconds = time.perf_counter() - t0
    out = {"rows": n, "bytes": len(data), "seconds": round(seconds, 2), "status": str(r.status_code),
           "distinct_rows": distinct, "encoder_texts": encoder_texts(data)}
    if r.status_code == 200:
        body = r.json()
        results = body.get("data") or []
        groups = body.get("duplicate_groups") or []
        out.update(results=len(results), count=body.get("count"), errors=len(body.get("errors") or []),
                   needs_review=body.get("needs_review_count"), duplicate_groups=len(groups),
                   largest_group=max((len(g) for g in groups), default=0),
                   with_precedents=sum(bool(x.get("precedents")) for x in results),
                   with_repeat_of=sum(x.get("repeat_of") is not None for x in results),
                   rows_per_s=round(len(results) / seconds, 1))
    return out


# -- report -------------------------------------------------------------------------------------------------------
def verdicts(s: dict) -> list[tuple[str, str, bool]]:
    load, sh, si, rows = s.get("load"), s.get("sheet"), s.get("single"), []
    if load:
        p99, rps = load["ops"]["route"]["p99_ms"], load["routes_per_s"]
        rows += [(f"≥ {TARGETS['routes_per_s']:.0f} routes/s", f"{rps}", rps >= TARGETS["routes_per_s"]),
                 (f"route p99 < {TARGETS['route_p99_ms']:.0f} ms", f"{p99} ms",
                  p99 is not None and p99 < TARGETS["route_p99_ms"]),
                 ("0 failures", f"{load['failures']}", load["failures"] == TARGETS["failures"])]
    if sh:
        limit = TARGETS["sheet_s_2000"] * sh["rows"] / 2000
        rows.append((f"sheet {sh['rows']} rows ≤ {limit:.0f} s", f"{sh['seconds']} s (status {sh['status']})",
                     sh["status"] == "200" and sh["seconds"] <= limit))
    if si:
        rows.append((f"single route p50 < {TARGETS['single_p50_ms']:.0f} ms", f"{si['p50_ms']} ms",
                     si["p50_ms"] < TARGETS["single_p50_ms"]))
    return rows


def print_table(s: dict) -> None:
    if load := s.get("load"):
        print(f"\nload: {load['clients']} clients × {load['seconds']} s (elapsed {load['elapsed_s']} s), "
              f"{load['requests']} requests, {load['req_per_s']} req/s, {load['failures']} failures")
        print(f"{'op':<8}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'fail':>6}  statuses")
        for op, o in load["ops"].items():
            print(f"{op:<8}{o['count']:>7}{o['req_per_s']:>8}{o['p50_ms']!s:>9}{o['p95_ms']!s:>9}"
                  f"{o['p99_ms']!s:>9}{o['failures']:>6}  {o['statuses']}")
        print(f"routes/s (POST /route, 2xx): {load['routes_per_s']}; with routed case creations: "
              f"{load['routings_per_s']}")
    if si := s.get("single"):
        print(f"single POST /route × {si['n']}: p50 {si['p50_ms']} ms, p99 {si['p99_ms']} ms {si['statuses']}")
    if sh := s.get("sheet"):
        print("sheet: " + ", ".join(f"{k} {v}" for k, v in sh.items()))
    print("\ntargets:")
    for name, value, met in s["targets"]:
        print(f"  {'MET   ' if met else 'MISSED'}  {name}: {value}")
    m = s["machine"]
    print(f"machine: {m['cores']} cores, busy with other work {m.get('busy_before')} before / "
          f"{m.get('busy_after')} after")


def write(path: Path, name: str, scenario: dict) -> None:
    report = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    report.setdefault("scenarios", {})[name] = scenario
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote scenario %r to %s", name, path)


def interrupted(*_) -> None:
    raise KeyboardInterrupt


def env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="example: .venv/bin/python benchmarks/bench_load.py --seconds 10")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument("--encoder", default=str(DEFAULT_ENCODER), help="encoder directory (or 'hashing')")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--sheet", type=int, default=2000, help="rows of the uploaded sheet (0: skip)")
    parser.add_argument("--sheet-distinct", action="store_true",
                        help="vary the opening of each repeated row, so every row is a distinct text to encode")
    parser.add_argument("--sheet-timeout", type=float, default=600, help="seconds to wait for the upload's answer")
    parser.add_argument("--single", type=int, default=50, help="sequential single POST /route requests (0: skip)")
    parser.add_argument("--warmup", type=int, default=3, help="requests of each kind (per worker) before any timing")
    parser.add_argument("--workers", type=int, help="uvicorn --workers")
    parser.add_argument("--replicas", type=int, default=1,
                        help="uvicorn processes behind nginx (docs/deploy/nginx.conf) over one PostgreSQL store")
    parser.add_argument("--postgres", action="store_true",
                        help="the store on a throwaway local PostgreSQL cluster (implied by --replicas 2 or more)")
    parser.add_argument("--proxy", action="store_true", help="nginx in front (implied by --replicas 2 or more)")
    parser.add_argument("--env", type=env_pair, action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the service (repeatable), e.g. JIAOBAN_ENCODER_THREADS=1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--startup-timeout", type=float, default=300)
    parser.add_argument("--scenario", help="name the results are merged under (default: from --workers/--env)")
    parser.add_argument("--json", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args(argv)
    setup_logging()
    name = args.scenario or "-".join(["default", *([f"workers{args.workers}"] if args.workers else []),
                                      *(f"{k}={v}" for k, v in args.env)])
    if problem := check_setup(args.models_dir, args.encoder):
        print(f"setup failed: {problem}", file=sys.stderr)
        return 2
    rows = read_rows()
    scenario = report_header(("fastapi", "uvicorn", "httpx", "torch", "sentence-transformers", "faiss-cpu"), False)
    scenario.update(scenario=name, workers=args.workers or 1, env=dict(args.env), models_dir=str(args.models_dir))
    run_id = time.strftime("%H%M%S")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, interrupted)
    started = time.perf_counter()
    scenario.update(replicas=args.replicas, postgres=args.postgres or args.replicas > 1,
                    proxy=args.proxy or args.replicas > 1)
    with tempfile.TemporaryDirectory(prefix="jiaoban-load-") as tmp, Deployment(args) as deployment:
        workdir = Path(tmp)
        try:
            base, t0 = deployment.start(workdir)
            scenario["ready"] = deployment.ready
            scenario["startup_s"] = round(time.perf_counter() - t0, 1)
            logger.info("service ready in %.0f s; warming up", scenario["startup_s"])
            # so that each worker of each replica is warm
            warm = warm_up(base, rows, run_id, args.warmup * (args.workers or 1) * args.replicas)
            scenario["warmup"] = {f"{op} {st}": n for (op, st), n in warm.items()}
            if args.single:
                logger.info("single: %d sequential POST /route", args.single)
                scenario["single"] = single(base, rows, args.single)
            if args.clients and args.seconds:
                logger.info("load: %d clients for %.0f s", args.clients, args.seconds)
                scenario["load"] = run_load(args, base, rows, run_id, stop)
            if args.sheet:
                logger.info("sheet: uploading %d rows", args.sheet)
                scenario["sheet"] = sheet(base, rows, args.sheet, args.sheet_timeout, args.sheet_distinct)
        except SystemExit as exc:
            print(exc, file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted: the service was stopped, nothing written", file=sys.stderr)
            return 130
        finally:
            stop.set()
    scenario["machine"]["busy_after"] = busy_fraction()
    scenario["runtime_s"] = round(time.perf_counter() - started, 1)
    scenario["targets"] = verdicts(scenario)
    scenario["targets_met"] = all(met for _, _, met in scenario["targets"])
    print_table(scenario)
    scenario["targets"] = [{"target": t, "value": v, "met": m} for t, v, m in scenario["targets"]]
    write(args.json, name, scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())
