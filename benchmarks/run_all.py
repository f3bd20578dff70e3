"""Run every benchmark in turn, each in its own process, and report how long each took.

Each benchmark writes ``benchmarks/results/<name>.json`` and its own section of a doc (``docs/benchmarks.md`` for
routing, search and speed; ``docs/evaluation-tipdm.md``, ``docs/routing-precedents.md`` and
``docs/search-quality.md`` for the others; the README's sample figures last); a failed one is reported and the
others still run. The exit status is non-zero if any failed. The duplicates check needs a trained sample model
with a search index (``make model``).

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
# name -> (script with its fixed arguments, how it takes the data folder: "--data", "--tipdm", "arg" (positional) or
# None, whether it has a --quick smoke mode); in the order they run.
BENCHMARKS = {
    "routing": ("bench_routing.py", "--data", True),
    "search": ("bench_search.py", "--data", True),
    "speed": ("bench_speed.py", "--data", True),
    "tipdm-cli": ("cli_tipdm.py", "arg", False),
    "threshold": ("bench_threshold.py", "--data", False),
    "char-unigrams": ("bench_char_unigrams.py", "--data", True),
    "e5-stack": ("bench_e5_stack.py", "--data", False),
    "knn-blend": ("bench_knn_blend.py", "--data", False),
    "cohandlers": ("bench_cohandlers.py", None, True),
    "duties": ("bench_duties.py --seeds 3", None, True),
    "precedents": ("bench_precedents.py --samples --n 200", "--data", False),
    "lead-chars": ("bench_lead_chars.py --samples", "--data", False),
    "reply-aids": ("bench_reply_aids.py", "--tipdm", False),
    "fusion-bm25": ("bench_fusion.py --mode bm25 --encoder hashing", None, False),
    "fusion-hybrid": ("bench_fusion.py --mode hybrid --encoder var/encoders/multilingual-e5-small", None, False),
    "duplicates": ("bench_duplicates.py", None, False),
    "finetune": ("bench_finetune.py", None, False),
    "finetune-tipdm": ("bench_finetune_tipdm.py", "--data", True),
    "encoder-ceiling": ("bench_encoder_ceiling.py", None, False),
    "distill": ("bench_distill.py", "--data", False),
    "load": ("bench_load.py --scenario default", None, False),
    "writes": ("bench_writes.py", None, False),
    "load-report": ("load_report.py", None, False),
    "readme": ("readme_figures.py --run", None, False),
}


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
        command, takes_data, has_quick = BENCHMARKS[name]
        script, *rest = command.split()
        cmd = [sys.executable, str(HERE / script), *rest]
        if args.quick and not has_quick:
            print(f"== {name}: skipped (no quick mode)", flush=True)
            continue
        if args.data and takes_data:
            cmd += [str(args.data)] if takes_data == "arg" else [takes_data, str(args.data)]
        cmd += ["--quick"] if args.quick else []
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
