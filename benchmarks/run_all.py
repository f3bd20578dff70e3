"""Run every benchmark in turn (routing, search, speed), each in its own process, and report how long each took.

Each benchmark writes ``benchmarks/results/<name>.json`` and its own section of ``docs/benchmarks.md``; a failed one
is reported and the others still run. The exit status is non-zero if any failed.

Example::

    .venv/bin/python benchmarks/run_all.py --data ../shared/datasets/tipdm2020c
    .venv/bin/python benchmarks/run_all.py --quick --only routing,search
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCHMARKS = {"routing": "bench_routing.py", "search": "bench_search.py", "speed": "bench_speed.py"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="example: .venv/bin/python benchmarks/run_all.py --quick")
    parser.add_argument("--data", type=Path, help="tipdm2020c folder (default: ../shared/datasets/tipdm2020c)")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset of: "
                                                                      + ", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="smoke run of each benchmark (figures not to quote)")
    args = parser.parse_args(argv)
    failed, times = [], {}
    started = time.perf_counter()
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        if name not in BENCHMARKS:
            parser.error(f"unknown benchmark {name!r}: choose from {', '.join(BENCHMARKS)}")
        cmd = [sys.executable, str(HERE / BENCHMARKS[name])]
        if args.data:
            cmd += ["--data", str(args.data)]
        if args.quick:
            cmd.append("--quick")
        print(f"== {name}: {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        code = subprocess.call(cmd, cwd=ROOT)
        times[name] = time.perf_counter() - t0
        if code != 0:
            failed.append(name)
            print(f"== {name} FAILED (exit {code})", flush=True)
    total = time.perf_counter() - started
    for name, seconds in times.items():
        print(f"{name:>8}: {seconds / 60:5.1f} min{'  FAILED' if name in failed else ''}")
    print(f"{'total':>8}: {total / 60:5.1f} min")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
