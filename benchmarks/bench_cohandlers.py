"""Co-handler (协办) suggestions: the text alone against the text conditioned on the lead, on unseen cases.

Two splits of the sample closed cases (data/samples/closed_cases.csv, the only data here with co-handlers; the
shared TipDM files have none):

- temporal: train on the years before the latest, test on the latest (as ``jiaoban evaluate`` does);
- leave-one-year-out: each year in turn is the test part (grouped folds: no year is in both parts).

Both variants are the real training (``RoutingModel.fit``; its co-handler step picks its threshold on its own
out-of-fold scores, with fold vocabularies) and suggest co-handlers for the predicted lead, as the service does.
F1 is micro over (item, unit) pairs; its 95 % interval and the paired difference come from a bootstrap over test
items (the same resampled items for both variants); p is the two-sided bootstrap share of differences across 0.

    nice -n 10 .venv/bin/python benchmarks/bench_cohandlers.py [--quick] [--splits temporal,loyo]

(``--splits temporal`` alone takes about 2 minutes on 2 busy cores; ``loyo`` adds ten more fits.)
"""

from __future__ import annotations

import argparse
import logging
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

logger = logging.getLogger("bench_cohandlers")
VARIANTS = {"text": False, "lead": True}  # co_use_lead


def counts(model, test) -> np.ndarray:
    """Per test item: (true positives, predicted, true) co-handler counts, for the predicted lead."""
    X = model.transform([(c.title, c.body) for c in test])
    proba = model.predict_proba(X=X)
    leads = [str(model.classes_[j]) for j in proba.argmax(axis=1)]
    co = model.co_proba(X=X, leads=leads)
    out = np.zeros((len(test), 3))
    for i, case in enumerate(test):
        truth = set(case.co_ids)
        pred: set[str] = set()
        if co is not None:
            labels = model.co_binarizer_.classes_
            pred = {labels[j] for j in np.argsort(-co[i])[:3] if co[i, j] >= model.co_threshold_} - {leads[i]}
        out[i] = (len(pred & truth), len(pred), len(truth))
    return out


def f1(c: np.ndarray) -> float:
    tp, n_pred, n_true = c.sum(axis=0)
    return float(2 * tp / (n_pred + n_true)) if n_pred + n_true else 0.0


def compare(per_variant: dict[str, np.ndarray], resamples: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n = len(next(iter(per_variant.values())))
    boots = {k: [] for k in per_variant}
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        for k, c in per_variant.items():
            boots[k].append(f1(c[idx]))
    out = {k: {"f1": f1(c), "ci": list(np.percentile(boots[k], [2.5, 97.5])),
               "precision": float(c[:, 0].sum() / max(c[:, 1].sum(), 1)),
               "recall": float(c[:, 0].sum() / max(c[:, 2].sum(), 1))} for k, c in per_variant.items()}
    diff = np.array(boots["lead"]) - np.array(boots["text"])
    out["difference"] = {"f1": out["lead"]["f1"] - out["text"]["f1"], "ci": list(np.percentile(diff, [2.5, 97.5])),
                         "p": float(min(1.0, 2 * min((diff <= 0).mean(), (diff >= 0).mean())))}
    return out


def run(splits: list[str], quick: bool, resamples: int) -> dict:
    from dataclasses import replace

    from models.classifier import RoutingModel, RoutingParams
    from models.departments import DepartmentRegistry
    from training.dataset import load_training_set, temporal_split
    from training.train import with_registry_words

    registry = DepartmentRegistry.load(ROOT / "data/samples/departments.json")
    ts = load_training_set(ROOT / "data/samples/closed_cases.csv", registry)
    cases = ts.cases
    if quick:
        cases = [c for i, c in enumerate(cases) if i % 3 == 0]
    params = with_registry_words(RoutingParams(), registry)
    parts: list[tuple[str, list, list]] = []
    if "temporal" in splits:
        train, test, year = temporal_split(cases)
        parts.append((f"temporal (test {year})", train, test))
    if "loyo" in splits:
        for year in sorted({c.year for c in cases}):
            rest, held = [c for c in cases if c.year != year], [c for c in cases if c.year == year]
            parts.append((f"year {year} out", rest, held))
    out: dict = {"rows": len(cases), "splits": {}}
    pooled: dict[str, list] = {k: [] for k in VARIANTS}
    for name, train, test in parts:
        per = {}
        for variant, use_lead in VARIANTS.items():
            t0 = time.perf_counter()
            model = RoutingModel(replace(params, co_use_lead=use_lead)).fit_cases(train)
            per[variant] = counts(model, test)
            logger.info("%s %s: F1 %.3f (%.0f s)", name, variant, f1(per[variant]), time.perf_counter() - t0)
        out["splits"][name] = {"n_train": len(train), "n_test": len(test), **compare(per, resamples)}
        if name.startswith("year"):
            for k in VARIANTS:
                pooled[k].append(per[k])
    if pooled["text"]:
        out["splits"]["leave-one-year-out, pooled"] = {
            "n_test": sum(len(c) for c in pooled["text"]),
            **compare({k: np.vstack(v) for k, v in pooled.items()}, resamples)}
    return out


def markdown(report: dict) -> str:
    rows = []
    for name, r in report["result"]["splits"].items():
        d = r["difference"]
        rows.append([name, r["n_test"],
                     f"{fmt(r['text']['f1'])} [{fmt(r['text']['ci'][0])}, {fmt(r['text']['ci'][1])}]",
                     f"{fmt(r['lead']['f1'])} [{fmt(r['lead']['ci'][0])}, {fmt(r['lead']['ci'][1])}]",
                     f"{fmt(r['lead']['precision'])} / {fmt(r['lead']['recall'])}",
                     f"{d['f1']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]", fmt(d["p"], ".4f")])
    lines = ["## Co-handlers conditioned on the lead (bench_cohandlers)", "",
             "Co-handler (协办) F1 on unseen sample cases (micro over item × unit pairs, at most 3 suggestions, for "
             "the *predicted* lead). *text*: one-vs-rest SVMs on the words alone (the earlier model, with the fold "
             "vocabulary leak fixed); *lead*: the same margin combined with the lead's usual partners in the closed "
             "cases (smoothed share of the lead's cases each unit co-handled) and the unit's base rate, one logistic "
             "regression over out-of-fold scores (`models/cohandlers.py`, `RoutingParams.co_use_lead`; not the "
             "default: it does not gain). 95 % bootstrap "
             "intervals over test items; the difference is paired (same resamples).", "",
             *table(["split", "test items", "F1 text", "F1 lead", "lead P / R", "difference", "p"], rows), "",
             *environment_lines(report)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--splits", default="temporal,loyo")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="a third of the cases: a smoke run, not for quoting")
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    setup_logging()
    t0 = time.perf_counter()
    report = {**report_header(("scikit-learn", "numpy"), args.quick),
              "result": run(args.splits.split(","), args.quick, args.resamples)}
    report["runtime_s"] = time.perf_counter() - t0
    write_results("cohandlers", report)
    if not args.quick:
        replace_section(args.doc, "cohandlers", markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
