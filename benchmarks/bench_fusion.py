"""Does precedent evidence improve routing? Runs training.fusion.fusion_study on the sample data.

Usage: .venv/bin/python benchmarks/bench_fusion.py [--mode bm25|hybrid|dense] [--encoder SPEC]
Writes benchmarks/results/fusion_<mode>.json. The blend weight is chosen on the validation year (2024) and
then judged on the test year (2025); see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from models.departments import DepartmentRegistry
from models.embeddings import load_embedder
from training.dataset import load_training_set
from training.fusion import fusion_study
from training.train import prepare_segmenter

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mode", default="bm25", choices=["bm25", "hybrid", "dense"])
    ap.add_argument("--encoder", default="hashing",
                    help="encoder spec; 'hashing' is enough for --mode bm25 (its vectors are not used)")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    registry = DepartmentRegistry.load(ROOT / "data/samples/departments.json")
    prepare_segmenter(registry)
    ts = load_training_set(ROOT / "data/samples/closed_cases.csv", registry)
    start = time.time()
    result = fusion_study(ts, load_embedder(args.encoder), mode=args.mode, k=args.k, progress=print)
    result["seconds"] = round(time.time() - start, 1)
    result["command"] = f".venv/bin/python benchmarks/bench_fusion.py --mode {args.mode} --encoder {args.encoder}"
    out = ROOT / "benchmarks" / "results" / f"fusion_{args.mode}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
