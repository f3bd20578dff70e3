"""Rewrite the README's sample-data figures block from the evaluation results, so no figure there is typed in.

Usage: .venv/bin/python benchmarks/readme_figures.py [--run]
  --run   first run `jiaoban evaluate data/samples/closed_cases.csv --json benchmarks/results/samples_evaluate.json`
The TipDM sentence uses benchmarks/results/tipdm_cli_*.json when present (written by benchmarks/cli_tipdm.py).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
EVAL_JSON = RESULTS / "samples_evaluate.json"
COMMAND = ["jiaoban", "evaluate", "data/samples/closed_cases.csv", "--json", "benchmarks/results/samples_evaluate.json"]


def block(r: dict, run_date: str) -> str:
    m, co = r["metrics"], r["metrics"].get("co_handlers") or {}
    years = r["data"]["years"]
    lines = [
        f"`{' '.join(COMMAND)}` (temporal split: trained on {years[0]}–{r['test_year'] - 1}, {r['n_train']} cases; "
        f"tested on {r['test_year']}, {m['n_test']} cases; run {run_date}):",
        "",
        "| top-1 | top-3 | macro-F1 | review threshold | auto-assigned (above threshold) | precision on those | ECE "
        "| co-handlers P / R / F1 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {m['top1']:.3f} | {m['top3']:.3f} | {m['macro_f1']:.3f} | {m['threshold']:.3f} | "
        f"{m['coverage_at_threshold']:.1%} | {m['precision_at_threshold']:.3f} | {m['ece']:.3f} | "
        f"{co.get('precision', 0):.2f} / {co.get('recall', 0):.2f} / {co.get('f1', 0):.2f} |",
        "",
        f"The review threshold was chosen for {r['params']['target_precision']:.0%} precision on out-of-fold "
        f"predictions of the training years (never on the test year); on the new year it delivered "
        f"{m['precision_at_threshold']:.1%}. The sample data holds items that could have gone to either of two "
        f"departments, and new topics appear in later years. Co-handler suggestions are the weakest part "
        f"(F1 {co.get('f1', 0):.2f}).",
    ]
    tipdm = {name: RESULTS / f"tipdm_cli_{name}.json" for name in ("titles", "bodies")}
    if all(p.is_file() for p in tipdm.values()):
        top1 = {n: json.loads(p.read_text(encoding="utf-8"))["metrics"]["top1"] for n, p in tipdm.items()}
        lines.append(f"On the public TipDM data the same command gives top-1 {top1['titles']:.3f} (titles) and "
                     f"{top1['bodies']:.3f} (bodies): see `docs/evaluation-tipdm.md`; peers on the same folds are in "
                     "`docs/benchmarks.md`.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="run the evaluation first")
    args = ap.parse_args()
    if args.run:
        subprocess.run([str(ROOT / ".venv" / "bin" / COMMAND[0]), *COMMAND[1:]], cwd=ROOT, check=True)
    r = json.loads(EVAL_JSON.read_text(encoding="utf-8"))
    run_date = time.strftime("%Y-%m-%d", time.localtime(EVAL_JSON.stat().st_mtime))
    start, end = "<!-- figures:samples -->", "<!-- /figures:samples -->"
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    README.write_text(pattern.sub(lambda _: f"{start}\n{block(r, run_date)}\n{end}", text), encoding="utf-8")
    print(f"updated {README.relative_to(ROOT)} from {EVAL_JSON.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
