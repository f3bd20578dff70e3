"""The case store on SQLite and on PostgreSQL: write throughput with 1 and with 8 writer threads, read-back, and the
bytes each case takes (with its decision, reply and stored suggestion), for the sizing plan in docs/scaling.md.

    .venv/bin/python benchmarks/bench_store.py --cases 2000      # writes benchmarks/results/store.json

Cases are the sample closed cases (real lengths of title, body and reply), each routed by the sample model's
classifier (the suggestion kept beside a case), then written as the service writes them: create, decide, reply.
PostgreSQL is a throwaway local cluster (Debian's server, as the tests start it) unless ``--database-url`` names one.
No proposal text is printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import RESULTS, ROOT, busy_fraction, report_header

from api.store import Store
from models.bundle import BundleStore
from models.service import RoutingService
from tests import servers


def sample_cases(n: int, models_dir: Path) -> list[dict]:
    with open(ROOT / "data" / "samples" / "closed_cases.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    service = RoutingService.load(BundleStore(models_dir).active_path(), with_search=False)
    out = []
    for i in range(n):
        r = rows[i % len(rows)]
        suggestion = service.route_one(r["标题"], r["内容"], precedents=False).to_dict()
        out.append({"title": r["标题"], "body": r["内容"], "reply": r["答复内容"], "suggestion": suggestion,
                    "lead": suggestion["lead"][0]["id"]})
    return out


def write_all(store: Store, cases: list[dict], threads: int, tag: str) -> float:
    """Create, decide and close every case from ``threads`` writers; returns seconds."""
    def work(part: list[tuple[int, dict]]) -> None:
        for i, c in part:
            case_id = store.create_case({"case_no": f"{tag}-{i}", "title": c["title"], "body": c["body"],
                                         "year": 2026, "suggestion": c["suggestion"]})
            store.add_decision(case_id, {"lead_id": c["lead"], "co_ids": [], "accepted": True,
                                         "suggestion": c["suggestion"], "assigned_on": "2026-02-01",
                                         "due_on": "2026-05-01", "decided_by": "bench"})
            store.add_outcome(case_id, {"reply": c["reply"], "category": "A", "feedback": "满意",
                                        "closed_on": "2026-04-01", "recorded_by": "bench"})

    items = list(enumerate(cases))
    parts = [items[k::threads] for k in range(threads)]
    t0 = time.perf_counter()
    workers = [threading.Thread(target=work, args=(p,)) for p in parts]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - t0


def size_bytes(store: Store) -> int:
    if store.dialect == "sqlite":
        with store.reader() as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return store.path.stat().st_size
    with store.reader() as c:
        return int(c.execute("SELECT pg_database_size(current_database())").fetchone()[0])


def measure(target, cases: list[dict]) -> dict:
    store = Store(target)
    store.open()
    empty = size_bytes(store)
    out = {"back_end": store.dialect}
    for threads in (1, 8):
        seconds = write_all(store, cases, threads, f"t{threads}")
        out[f"cases_per_s_{threads}_threads"] = round(len(cases) / seconds, 1)
    t0 = time.perf_counter()
    closed = store.closed_cases()
    out["closed_export_s"] = round(time.perf_counter() - t0, 3)
    assert len(closed) == 2 * len(cases), "every written case is read back"
    out["bytes_per_case"] = round((size_bytes(store) - empty) / len(closed))
    store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="cases written per thread count (twice in all)")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a throwaway local cluster)")
    parser.add_argument("--json", type=Path, default=RESULTS / "store.json")
    args = parser.parse_args(argv)
    cases = sample_cases(args.cases, args.models_dir)
    report = report_header(("psycopg",), False)
    cluster = None
    try:
        url = args.database_url
        if url is None:
            cluster = servers.Cluster().start()
            url = cluster.database()
        with tempfile.TemporaryDirectory() as tmp:
            report["runs"] = [measure(Path(tmp) / "bench.db", cases), measure(url, cases)]
    except servers.Unavailable as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if cluster is not None:
            cluster.stop()
    report["machine"]["busy_after"] = busy_fraction()
    report["cases"] = args.cases
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print("| back end | cases/s, 1 writer | cases/s, 8 writers | bytes per case | export of closed cases, s |")
    print("|---|---:|---:|---:|---:|")
    for r in report["runs"]:
        print(f"| {r['back_end']} | {r['cases_per_s_1_threads']} | {r['cases_per_s_8_threads']} | "
              f"{r['bytes_per_case']:,} | {r['closed_export_s']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
