"""Does precedent evidence improve routing? Runs benchmarks/fusion_study.py on the sample data.

Usage: .venv/bin/python benchmarks/bench_fusion.py [--mode bm25|hybrid|dense] [--encoder SPEC]
       .venv/bin/python benchmarks/bench_fusion.py --render     # only rewrite the doc from the saved results
Writes benchmarks/results/fusion_<mode>.json and the results section of docs/routing-precedents.md (every mode
that has a results file). The blend weight is chosen on the validation year (2024) and then judged on the test
year (2025).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from fusion_study import fusion_study  # noqa: E402  (beside this script)

from models.departments import DepartmentRegistry
from models.embeddings import load_embedder
from training.dataset import load_training_set

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mode", default="bm25", choices=["bm25", "hybrid", "dense"])
    ap.add_argument("--encoder", default="hashing",
                    help="encoder spec; 'hashing' is enough for --mode bm25 (its vectors are not used)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--render", action="store_true", help="only rewrite the doc section from the saved results")
    args = ap.parse_args()
    if args.render:
        render()
        return
    registry = DepartmentRegistry.load(ROOT / "data/samples/departments.json")
    ts = load_training_set(ROOT / "data/samples/closed_cases.csv", registry)
    start = time.time()
    result = fusion_study(ts, load_embedder(args.encoder), mode=args.mode, k=args.k, progress=print)
    result["seconds"] = round(time.time() - start, 1)
    result["command"] = f".venv/bin/python benchmarks/bench_fusion.py --mode {args.mode} --encoder {args.encoder}"
    out = ROOT / "benchmarks" / "results" / f"fusion_{args.mode}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    render()


MODES = {"bm25": "BM25 over jieba tokens", "dense": "dense (e5) only", "hybrid": "hybrid (BM25 + e5, RRF)"}


def render(doc: Path = ROOT / "docs" / "routing-precedents.md") -> None:
    """The results section of the doc: one table per mode that has a results file."""
    lines = []
    for mode, name in MODES.items():
        path = ROOT / "benchmarks" / "results" / f"fusion_{mode}.json"
        if not path.is_file():
            continue
        r = json.loads(path.read_text(encoding="utf-8"))
        val, test = r["validation_top1"], r["test_top1_by_weight"]
        lines += [f"### Precedents by {name}", "",
                  f"Command: `{r['command']}` ({r['seconds']:.0f} s; encoder `{r['encoder']}`, top {r['k']} "
                  "precedents).", "",
                  f"| weight w | top-1, validation {r['validation_year']} | top-1, test {r['test_year']} |",
                  "|---:|---:|---:|"]
        lines += [f"| {float(w):.1f} | {val[w]:.3f} | {test[w]:.3f} |" for w in val]
        verdict = "helps on the test year" if r["keep"] else "does not help on the test year"
        lines += ["", f"Chosen on validation: w = {r['chosen_weight']}; test top-1 {r['test_top1_classifier']:.3f} → "
                      f"{r['test_top1_blended']:.3f}: {verdict}.", ""]
    start, end = "<!-- fusion:results -->", "<!-- /fusion:results -->"
    text = doc.read_text(encoding="utf-8")
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    doc.write_text(f"{head}{start}\n" + "\n".join(lines) + f"\n{end}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
