"""Unit duties (职能) as class prototypes for units with few cases: routing with and without them.

The sample cases (data/samples/closed_cases.csv and the registry's ``duties``), two kinds of split:

- 30 per unit: 30 training items per unit drawn at random (seeds 0..R-1, as bench_threshold's proxy), tested on
  all the rest; every unit is rare here, so every unit with duties gets a prototype;
- temporal: 2021-2024 for training, 2025 for testing; only units with fewer than ``duties_max_cases`` training
  cases get one.

Both variants are the real training (``RoutingModel.fit``); with ``duty_prototypes`` it chooses the prototypes'
weight on its own out-of-fold scores (``models/prototypes.py``), never on the test items. Top-1, top-3 and
macro-F1 with 95 % bootstrap intervals, the paired difference and McNemar's exact test on top-1
(``training.stats.paired_comparison``), and the review threshold's coverage and precision on the test items.

    nice -n 10 .venv/bin/python benchmarks/bench_duties.py [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (  # noqa: E402
    DOC,
    ROOT,
    environment_lines,
    fmt,
    replace_section,
    report_header,
    setup_logging,
    table,
    write_results,
)

logger = logging.getLogger("bench_duties")


def subsample(cases, per_unit: int, seed: int) -> tuple[list, list]:
    """``per_unit`` training cases per unit drawn at random (as bench_threshold's proxy), the rest for testing."""
    by_unit: dict[str, list[int]] = {}
    for i, c in enumerate(cases):
        by_unit.setdefault(c.lead_id or c.lead, []).append(i)
    rng = random.Random(seed)
    chosen: set[int] = set()
    for idx in by_unit.values():
        chosen.update(rng.sample(idx, min(per_unit, len(idx))))
    return [cases[i] for i in sorted(chosen)], [cases[i] for i in range(len(cases)) if i not in chosen]


def judged(model, test) -> dict:
    X = model.transform([(c.title, c.body) for c in test])
    proba = model.predict_proba(X=X)
    ranked = [[str(model.classes_[j]) for j in row[:10]] for row in np.argsort(-proba, axis=1)]
    truth = [c.lead_id or c.lead for c in test]
    accepted = (proba.max(axis=1) >= model.threshold_) & bool(model.certified_)
    hit = np.array([r[0] == t for r, t in zip(ranked, truth)])
    return {"ranked": ranked, "truth": truth, "coverage": float(accepted.mean()),
            "precision": float(hit[accepted].mean()) if accepted.any() else None}


def run(seeds: int, per_unit: int, quick: bool) -> dict:
    from models.classifier import RoutingModel, RoutingParams
    from models.departments import DepartmentRegistry
    from training.dataset import load_training_set, temporal_split
    from training.stats import paired_comparison
    from training.train import with_registry_words

    registry = DepartmentRegistry.load(ROOT / "data/samples/departments.json")
    cases = load_training_set(ROOT / "data/samples/closed_cases.csv", registry).cases
    if quick:
        cases = [c for i, c in enumerate(cases) if i % 2 == 0]
    base = with_registry_words(RoutingParams(), registry)
    proto = with_registry_words(RoutingParams(duty_prototypes=True), registry)
    parts = []
    for seed in range(seeds):
        train, test = subsample(cases, per_unit, seed)
        known = {c.lead_id or c.lead for c in train}
        parts.append((f"{per_unit} per unit, seed {seed}", train, [c for c in test if (c.lead_id or c.lead) in known]))
    train, test, year = temporal_split(cases)
    parts.append((f"temporal (test {year})", train, test))
    out: dict = {"rows": len(cases), "splits": {}}
    for name, train, test in parts:
        res = {}
        for variant, params in (("without", base), ("with", proto)):
            t0 = time.perf_counter()
            model = RoutingModel(params).fit_cases(train)
            res[variant] = {**judged(model, test), "fit_s": time.perf_counter() - t0,
                            "certified": bool(model.certified_), "threshold": float(model.threshold_),
                            "duties_weight": float(getattr(model, "duties_weight_", 0.0)),
                            "prototypes": int(0 if model.prototypes_ is None else
                                              (model.prototypes_.rows.getnnz(axis=1) > 0).sum())}
            logger.info("%s %s: %.0f s, weight %s", name, variant, res[variant]["fit_s"],
                        res[variant]["duties_weight"])
        stats = paired_comparison(res["with"]["truth"], res["with"]["ranked"], res["without"]["ranked"])
        keys = ("coverage", "precision", "fit_s", "duties_weight", "prototypes", "certified", "threshold")
        out["splits"][name] = {"n_train": len(train), "n_test": len(test), "stats": stats,
                               **{v: {k: r[k] for k in keys} for v, r in res.items()}}
    return out


def _ci(m: dict) -> str:
    return f"{fmt(m['value'])} [{fmt(m['ci'][0])}, {fmt(m['ci'][1])}]"


def _d(m: dict) -> str:
    return f"{m['value']:+.3f} [{m['ci'][0]:+.3f}, {m['ci'][1]:+.3f}]"


def verdict(splits: dict) -> str:
    """Adopted only if top-1 gains significantly on most splits and the review threshold keeps its coverage."""
    gains = sum(r["stats"]["diff"]["top1"]["value"] > 0 and r["stats"]["mcnemar"]["p_value"] < 0.05
                for r in splits.values())
    lost = [name for name, r in splits.items() if r["with"]["coverage"] < r["without"]["coverage"] - 0.05]
    text = f"Top-1 gains significantly (McNemar p < 0.05) on {gains} of {len(splits)} splits"
    if lost:
        uncertified = [name for name in lost if not splits[name]["with"]["certified"]]
        text += (f"; the auto-assigned share falls on {len(lost)} ({', '.join(lost)}), where the review threshold "
                 f"is no longer certified on {len(uncertified)}")
    adopted = gains > len(splits) / 2 and not lost
    return text + (". Adopted: `duty_prototypes` is on by default." if adopted else
                   ". Not the default (`RoutingParams.duty_prototypes` stays off); the option stays for a city "
                   "whose registry and case counts differ.")


def markdown(report: dict) -> str:
    rows = []
    for name, r in report["result"]["splits"].items():
        s = r["stats"]
        rows.append([name, r["n_train"], r["n_test"], f"{r['with']['prototypes']} / {fmt(r['with']['duties_weight'])}",
                     _ci(s["active"]["top1"]), _ci(s["candidate"]["top1"]), _d(s["diff"]["top1"]),
                     fmt(s["mcnemar"]["p_value"], ".4f"), _d(s["diff"]["top3"]), _d(s["diff"]["macro_f1"]),
                     f"{fmt(r['without']['coverage'])} → {fmt(r['with']['coverage'])}"])
    lines = ["## Unit duties as prototypes for rare units (bench_duties)", "",
             "Each unit with fewer than `duties_max_cases` (50) training cases gets its registry name and duties "
             "(职能) as a prototype: the cosine of an item's features with them, times one weight chosen on the "
             "training part's own out-of-fold top-1 (`models/prototypes.py`, `RoutingParams.duty_prototypes`), "
             "is added to the unit's score. *30 per unit*: 30 training cases per unit drawn at random, tested on "
             "the rest (every unit is rare); *temporal*: 2021–2024 → 2025 (few units are). Intervals are 95 % "
             "bootstrap over test items; differences are paired (with minus without), p is McNemar's exact test "
             "on top-1.", "",
             *table(["split", "train", "test", "prototypes / weight", "top-1 without", "top-1 with", "top-1 diff",
                     "p", "top-3 diff", "macro-F1 diff", "auto-assigned"], rows), "",
             verdict(report["result"]["splits"]), "", *environment_lines(report)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--per-unit", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="half the cases: a smoke run, not for quoting")
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    setup_logging()
    t0 = time.perf_counter()
    report = {**report_header(("scikit-learn", "numpy"), args.quick),
              "result": run(args.seeds, args.per_unit, args.quick)}
    report["runtime_s"] = time.perf_counter() - t0
    write_results("duties", report)
    if not args.quick:
        replace_section(args.doc, "duties", markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
