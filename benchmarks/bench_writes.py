"""Writes under load: 50 clients for 60 s on loopback mixing routing, search, case creation and decisions; then every
write is read back and compared with what the client was told.

    .venv/bin/python benchmarks/bench_writes.py            # writes benchmarks/results/writes.json

Each client creates cases (without routing, as a ledger import would) and records decisions on its own cases, so a
lost or duplicated write, or a decision stored on the wrong case, shows up in the read-back.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from _common import DEFAULT_ENCODER, RESULTS, ROOT, busy_fraction, report_header, setup_logging
from bench_load import KEYS, check_setup, latency_ms, ok, read_rows, start_service, stop_service, wait_ready

logger = logging.getLogger("bench_writes")
MIX = (("route", 30), ("search", 25), ("create", 25), ("decide", 20))
LEADS = ("市住建局", "市教育局", "市交通运输局", "市卫健委", "市财政局", "市生态环境局")


class Client:
    """One closed-loop client: what it wrote, as the service answered it."""

    def __init__(self, no: int, base: str, rows: list[dict], run_id: str, seed: int):
        self.no, self.base, self.rows, self.run_id = no, base, rows, run_id
        self.rng = random.Random(seed * 1000 + no)
        self.created: dict[int, str] = {}  # case id -> case number
        self.decided: dict[int, str] = {}  # case id -> lead id the service confirmed
        self.samples: dict[str, list[float]] = {op: [] for op, _ in MIX}
        self.statuses: dict[str, Counter] = {op: Counter() for op, _ in MIX}

    def step(self, http: httpx.Client) -> None:
        op = self.rng.choices([o for o, _ in MIX], [w for _, w in MIX])[0]
        if op == "decide" and not self.created:
            op = "create"
        row = self.rng.choice(self.rows)
        t0 = time.perf_counter()
        try:
            if op == "route":
                r = http.post(f"{self.base}/route", json={"title": row["标题"], "body": row["内容"]})
            elif op == "search":
                r = http.post(f"{self.base}/search", json={"query": row["标题"], "k": 10})
            elif op == "create":
                case_no = f"W-{self.run_id}-{self.no:02d}-{len(self.created) + 1:05d}"
                r = http.post(f"{self.base}/cases", json={"case_no": case_no, "title": row["标题"],
                                                          "body": row["内容"], "route": False})
                if r.status_code == 201:
                    self.created[r.json()["id"]] = case_no
            else:
                case_id = self.rng.choice(list(self.created))
                r = http.post(f"{self.base}/cases/{case_id}/decision",
                              json={"lead": self.rng.choice(LEADS), "decided_by": f"压测{self.no}"})
                if r.status_code == 201:
                    self.decided[case_id] = r.json()["lead"]["id"]
            status = str(r.status_code)
        except Exception as exc:  # counted, never printed (a message could carry request text)
            status = type(exc).__name__
        self.samples[op].append(time.perf_counter() - t0)
        self.statuses[op][status] += 1


def run(base: str, rows: list[dict], clients: int, seconds: float, seed: int) -> tuple[dict, list[Client]]:
    run_id = time.strftime("%H%M%S")
    workers = [Client(n, base, rows, run_id, seed) for n in range(clients)]
    barrier, stop = threading.Barrier(clients + 1), threading.Event()

    def loop(c: Client) -> None:
        with httpx.Client(timeout=60, headers={"X-API-Key": KEYS["assigner"]}) as http:
            barrier.wait()
            while not stop.is_set():
                c.step(http)

    threads = [threading.Thread(target=loop, args=(c,)) for c in workers]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    ops = {}
    for op, _ in MIX:
        samples = [s for c in workers for s in c.samples[op]]
        statuses = sum((c.statuses[op] for c in workers), Counter())
        ops[op] = {"count": len(samples), "req_per_s": round(len(samples) / elapsed, 2),
                   "failures": sum(n for s, n in statuses.items() if not ok(s)), "statuses": dict(statuses),
                   **latency_ms(samples)}
    return {"clients": clients, "seconds": seconds, "elapsed_s": round(elapsed, 1), "ops": ops,
            "failures": sum(o["failures"] for o in ops.values())}, workers


def read_back(base: str, workers: list[Client]) -> dict:
    """Every case a client was told it created exists once with its number; every decision it was told of is the
    case's current lead."""
    missing = wrong_no = wrong_lead = 0
    with httpx.Client(timeout=60, headers={"X-API-Key": KEYS["admin"]}) as http:
        for c in workers:
            for case_id, case_no in c.created.items():
                r = http.get(f"{base}/cases/{case_id}")
                if r.status_code != 200:
                    missing += 1
                    continue
                case = r.json()
                wrong_no += case["case_no"] != case_no
                if case_id in c.decided:
                    wrong_lead += (case["lead"] or {}).get("id") != c.decided[case_id]
        listed = http.get(f"{base}/cases", params={"limit": 1}).json().get("count")
    created = sum(len(c.created) for c in workers)
    return {"cases_created": created, "decisions": sum(len(c.decided) for c in workers), "missing": missing,
            "wrong_case_no": wrong_no, "wrong_lead": wrong_lead, "cases_listed": listed,
            "all_read_back": missing == wrong_no == wrong_lead == 0 and listed == created}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument("--encoder", default=str(DEFAULT_ENCODER))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=RESULTS / "writes.json")
    args = parser.parse_args(argv)
    setup_logging()
    if problem := check_setup(args.models_dir, args.encoder):
        print(f"setup failed: {problem}", file=sys.stderr)
        return 2
    args.env, args.workers = [], None
    report = report_header(("fastapi", "uvicorn", "httpx"), False)
    with tempfile.TemporaryDirectory(prefix="jiaoban-writes-") as tmp:
        proc, base, t0 = start_service(args, Path(tmp))
        try:
            wait_ready(proc, base, t0, 300, Path(tmp))
            logger.info("load: %d clients for %.0f s", args.clients, args.seconds)
            report["load"], workers = run(base, read_rows(), args.clients, args.seconds, args.seed)
            report["read_back"] = read_back(base, workers)
        finally:
            stop_service(proc)
    report["machine"]["busy_after"] = busy_fraction()
    print(json.dumps({"load": report["load"], "read_back": report["read_back"]}, ensure_ascii=False, indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
