"""Does the review threshold keep its promise on unseen data? Nested evaluation and 30-per-unit small-data proxies.

Nested part (TipDM titles and bodies): grouped outer k-fold; each outer training part runs the real training
(``RoutingModel.fit``, which picks its threshold on its own inner folds) and the outer test part, never seen, shows
the precision of the auto-assigned items with a 95 % exact interval. Two rules from the same fitted models:

- before: the full model's probabilities, threshold at the point estimate of out-of-fold precision (the earlier rule);
- after: the cross-fitted probabilities (mean of the inner fold models), threshold certified by a Clopper-Pearson
  fixed-sequence test (models.certify); an uncertified model auto-assigns nothing.

Proxy part: TipDM bodies and the sample cases, 30 training items per unit drawn at random (seeds 0..R-1), tested
on all the rest. Each figure has a 95 % interval; top-1 is paired against TF-IDF + LinearSVC on the same items
(bootstrap interval of the difference, McNemar's exact test).

    nice -n 10 .venv/bin/python benchmarks/bench_threshold.py --data ../shared/datasets/tipdm2020c

Skips the TipDM parts cleanly when the folder is absent. Writes benchmarks/results/threshold.json and the
``threshold`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import logging
import random
import time
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import (
    DEFAULT_DATA,
    DOC,
    ROOT,
    Stopwatch,
    dataset_dir,
    environment_lines,
    replace_section,
    report_header,
    setup_logging,
    table,
    write_results,
)

logger = logging.getLogger("bench_threshold")

FILES = {"titles": "titles_labeled.csv", "bodies": "bodies_labeled.csv"}
RULES = ("point", "certified", "crossfit_mean", "crossfit_logit", "crossfit_fold")
RULE_NAMES = {
    "point": "full model, lowest threshold whose out-of-fold precision (point estimate) reaches 95%",
    "certified": "**adopted**: full model, certified threshold (Clopper-Pearson fixed-sequence, alpha 0.05)",
    "crossfit_mean": "rejected: mean of the fold models' probabilities, certified threshold",
    "crossfit_logit": "rejected: fold models' scores averaged, then softmax; certified threshold",
    "crossfit_fold": "rejected: one fold model per item (by a hash of its text), certified threshold",
}
SVC_BASELINE = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2, "C": 1.0}


class TfidfSVC:
    """The plain baseline: TF-IDF over stock jieba words and bigrams, LinearSVC, ranked by decision value."""

    def fit(self, texts: list[str], labels: list[str]) -> TfidfSVC:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import LinearSVC

        p = SVC_BASELINE
        self.model_ = make_pipeline(
            TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, ngram_range=p["ngram_range"],
                            sublinear_tf=p["sublinear_tf"], min_df=p["min_df"]),
            LinearSVC(C=p["C"])).fit(texts, labels)
        return self

    def ranked(self, texts: list[str]) -> list[list[str]]:
        scores = self.model_.decision_function(texts)
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
        classes = self.model_.classes_
        return [[str(classes[j]) for j in row[:10]] for row in np.argsort(-scores, axis=1)]


def jieba_texts(cases) -> list[str]:
    import jieba

    return [" ".join(t for t in jieba.lcut(f"{c.title} {c.body}".strip()) if t.strip()) for c in cases]


def judged(model, cases) -> dict:
    """Both rules' outcomes of one fitted model on unseen cases."""
    from training.evaluate import _leads

    X = model.transform([(c.title, c.body) for c in cases])
    truth = np.array(_leads(cases))
    out = {"truth": truth}
    from scipy.special import softmax

    from models.classifier import _scores

    C, T = len(model.classes_), model.temperature_
    logit_sum, logit_n = np.zeros((X.shape[0], C)), np.zeros(C)
    fold_of = np.array([zlib.crc32((c.title + c.body).encode()) % len(model.fold_models_) for c in cases])
    single = np.zeros((X.shape[0], C))
    for f, (cols, est) in enumerate(model.fold_models_):
        sc = _scores(est, X)
        logit_sum[:, cols] += sc
        logit_n[cols] += 1
        scores = np.full((X.shape[0], C), -np.inf)
        scores[:, cols] = sc
        single[fold_of == f] = softmax(scores[fold_of == f] / T, axis=1)
    mean_logit = softmax(np.where(logit_n > 0, logit_sum / np.maximum(logit_n, 1), -1e4) / T, axis=1)
    full = model.full_proba(X=X)
    variants = (("point", full), ("certified", full), ("crossfit_mean", model.predict_proba(X=X)),
                ("crossfit_logit", mean_logit), ("crossfit_fold", single))
    for rule, proba in variants:
        top = model.classes_[proba.argmax(axis=1)]
        conf = proba.max(axis=1)
        if rule == "point":
            accepted = conf >= model.validation_["point_threshold"]
        else:
            accepted = (conf >= model.threshold_) & bool(model.certified_)
        order = np.argsort(-proba, axis=1)[:, :10]
        out[rule] = {"hit": top == truth, "accepted": accepted,
                     "ranked": [[str(model.classes_[j]) for j in row] for row in order]}
    return out


def rule_summary(hits: np.ndarray, accepted: np.ndarray, target: float) -> dict:
    from models.certify import clopper_pearson_interval

    n, k = int(accepted.sum()), int(hits[accepted].sum())
    low, high = clopper_pearson_interval(k, n)
    cov_low, cov_high = clopper_pearson_interval(n, len(hits))
    precision = k / n if n else float("nan")
    if n == 0:
        verdict = "nothing auto-assigned"
    else:
        verdict = "met" if precision >= target - 0.005 else "MISSED"
    return {"n": int(len(hits)), "accepted": n, "coverage": n / len(hits), "coverage_ci": [cov_low, cov_high],
            "precision": precision, "precision_ci": [low, high], "verdict": verdict}


def accuracy(truth, ranked, baseline_ranked) -> dict:
    from training.stats import paired_comparison

    return paired_comparison(list(truth), ranked, baseline_ranked, resamples=1000)


def nested(data: Path, folds: int, limit: int | None, sets: list[str]) -> dict:
    from sklearn.model_selection import GroupKFold

    from models.classifier import RoutingModel, RoutingParams
    from training.dataset import load_training_set
    from training.evaluate import group_keys

    out = {}
    for name in sets:
        cases = load_training_set(data / FILES[name], None).cases
        if limit:
            cases = random.Random(0).sample(cases, min(limit, len(cases)))
        texts = jieba_texts(cases)
        parts: dict = defaultdict(list)
        fits, thresholds, certified = [], [], []
        for k, (tr, te) in enumerate(GroupKFold(n_splits=folds).split(cases, groups=group_keys(cases)), start=1):
            train = [cases[i] for i in tr]
            test = [cases[i] for i in te]
            with Stopwatch() as sw:
                model = RoutingModel(RoutingParams(crossfit=True)).fit_cases(train)
            fits.append(sw.seconds)
            thresholds.append({"point": model.validation_["point_threshold"], "certified": model.threshold_})
            certified.append(bool(model.certified_))
            j = judged(model, test)
            base = TfidfSVC().fit([texts[i] for i in tr], [train[i].lead_id or train[i].lead for i in range(len(tr))])
            parts["truth"].extend(j["truth"])
            parts["baseline"].extend(base.ranked([texts[i] for i in te]))
            for rule in RULES:
                for key in ("hit", "accepted", "ranked"):
                    parts[f"{rule}_{key}"].extend(j[rule][key])
            logger.info("%s fold %d/%d: fit %.0f s, threshold %s, certified %s", name, k, folds, sw.seconds,
                        thresholds[-1], certified[-1])
        truth = np.array(parts["truth"])
        out[name] = {"rows": len(cases), "folds": folds, "fit_s": fits, "thresholds": thresholds,
                     "certified": certified,
                     "rules": {rule: rule_summary(np.array(parts[f"{rule}_hit"]), np.array(parts[f"{rule}_accepted"]),
                                                  0.95) for rule in RULES},
                     "accuracy_vs_svc": accuracy(truth, parts["certified_ranked"], parts["baseline"]),
                     "accuracy_full_vs_crossfit": accuracy(truth, parts["certified_ranked"],
                                                           parts["crossfit_mean_ranked"])}
    return out


def subsample(cases, per_unit: int, seed: int) -> tuple[list, list]:
    by_unit: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        by_unit[c.lead_id or c.lead].append(i)
    rng = random.Random(seed)
    train = set()
    for idx in by_unit.values():
        train.update(rng.sample(idx, min(per_unit, len(idx))))
    test = [cases[i] for i in range(len(cases)) if i not in train]
    return [cases[i] for i in sorted(train)], test


def proxies(data: Path | None, per_unit: int, seeds: int) -> dict:
    from models.classifier import RoutingModel, RoutingParams
    from models.departments import DepartmentRegistry
    from training.dataset import load_training_set
    from training.train import with_registry_words

    sets = {}
    if data is not None:
        sets["tipdm_bodies"] = (load_training_set(data / FILES["bodies"], None).cases, RoutingParams(crossfit=True))
    cases_file, registry_file = ROOT / "data/samples/closed_cases.csv", ROOT / "data/samples/departments.json"
    if cases_file.is_file() and registry_file.is_file():
        registry = DepartmentRegistry.load(registry_file)
        sets["samples"] = (load_training_set(cases_file, registry).cases,
                           with_registry_words(RoutingParams(crossfit=True), registry))
    out = {}
    for name, (cases, params) in sets.items():
        texts = dict(zip((id(c) for c in cases), jieba_texts(cases)))
        runs = []
        for seed in range(seeds):
            train, test = subsample(cases, per_unit, seed)
            test = [c for c in test if (c.lead_id or c.lead) in {t.lead_id or t.lead for t in train}]
            with Stopwatch() as sw:
                model = RoutingModel(params).fit_cases(train)
            j = judged(model, test)
            base = TfidfSVC().fit([texts[id(c)] for c in train], [c.lead_id or c.lead for c in train])
            cert = model.certificate_
            runs.append({"seed": seed, "n_train": len(train), "n_test": len(test), "units": len(model.classes_),
                         "fit_s": sw.seconds, "certified": bool(cert.certified), "threshold": cert.threshold,
                         "certificate": cert.to_dict(),
                         "rules": {r: rule_summary(j[r]["hit"], j[r]["accepted"], 0.95) for r in RULES},
                         "accuracy_vs_svc": accuracy(j["truth"], j["certified"]["ranked"],
                                                     base.ranked([texts[id(c)] for c in test]))})
            logger.info("%s seed %d: %d train, %d test, certified %s", name, seed, len(train), len(test),
                        cert.certified)
        out[name] = {"per_unit": per_unit, "runs": runs}
    return out


def _pct(x: float) -> str:
    return "–" if x is None or x != x else f"{x:.1%}"


def _ci(ci) -> str:
    return "–" if ci[0] is None or ci[0] != ci[0] else f"{ci[0]:.1%}–{ci[1]:.1%}"


def _acc_cells(stats: dict, metric: str) -> list[str]:
    c, a, d = stats["candidate"][metric], stats["active"][metric], stats["diff"][metric]
    return [f"{c['value']:.3f} ({c['ci'][0]:.3f}–{c['ci'][1]:.3f})",
            f"{a['value']:.3f} ({a['ci'][0]:.3f}–{a['ci'][1]:.3f})",
            f"{d['value']:+.3f} ({d['ci'][0]:+.3f}–{d['ci'][1]:+.3f})"]


def markdown(report: dict) -> str:
    lines = ["## Review threshold on unseen data (issue #12)", "",
             "The promise staff rely on: items at or above the review threshold are auto-assigned, and at least 95% "
             "of those are right. The threshold is chosen on out-of-fold predictions of the training data; those "
             "folds now see their items as a vocabulary fitted without them would (`models.features.as_unseen`: a "
             "held-out item loses the terms its fold's training part lacks, and each block is re-normalised). That "
             "was the main cause of the broken promise: before it, the held-out items kept terms a new item does not "
             "have and looked easier than new ones. Rules, all from the same fitted models of each outer fold:", ""]
    lines += [f"- `{rule}`: {text}" for rule, text in RULE_NAMES.items()]
    lines += ["", "Intervals: 95% exact (Clopper-Pearson) for shares, 95% paired bootstrap for accuracy; p: McNemar's "
              "exact test on top-1. The TF-IDF+LinearSVC baseline: stock jieba words and bigrams, "
              f"{SVC_BASELINE}, on the same folds. The rule before this issue, on the same data with "
              "`jiaoban evaluate` (commit 9556c43, docs/evaluation-tipdm.md then): titles 82.1% auto-assigned at "
              "93.2%, bodies 87.6% at 94.2%: both below the 94.5% floor.", ""]
    nest = report.get("nested")
    if nest:
        lines += [f"### Nested grouped {next(iter(nest.values()))['folds']}-fold on TipDM (each outer training part "
                  "runs the real training; the outer test part is unseen)", ""]
        rows = []
        for name, r in nest.items():
            for rule in RULES:
                s = r["rules"][rule]
                rows.append([f"{name} ({r['rows']:,})", f"`{rule}`", f"{s['coverage']:.1%} ({_ci(s['coverage_ci'])})",
                             f"{_pct(s['precision'])} ({_ci(s['precision_ci'])})", s["verdict"]])
        lines += table(["data", "rule", "auto-assigned (95% CI)", "precision on those (95% CI)",
                        "≥ 94.5%?"], rows) + [""]
        rows = []
        for name, r in nest.items():
            st = r["accuracy_vs_svc"]
            for metric in ("top1", "top3", "macro_f1"):
                rows.append([name, metric, *_acc_cells(st, metric),
                             f"{st['mcnemar']['p_value']:.3g}" if metric == "top1" else ""])
            st = r["accuracy_full_vs_crossfit"]
            rows.append([name, "top1, full model vs crossfit_mean", *_acc_cells(st, "top1"),
                         f"{st['mcnemar']['p_value']:.3g}"])
        lines += table(["data", "metric", "ours (full model)", "TF-IDF+LinearSVC (or crossfit_mean)", "difference",
                        "McNemar p"], rows) + [""]
        fits = ", ".join(f"{n}: {max(r['fit_s']):.0f} s" for n, r in nest.items())
        lines += [f"Slowest outer-fold training ({fits}; the machine was shared, see the busy figures below).", ""]
    prox = report.get("proxies")
    if prox:
        lines += [f"### Small-data proxies: {next(iter(prox.values()))['per_unit']} training items per unit (fewer "
                  "where a unit has fewer), tested on all the rest", ""]
        rows = []
        for name, r in prox.items():
            for run in r["runs"]:
                s, b = run["rules"]["certified"], run["rules"]["point"]
                st = run["accuracy_vs_svc"]
                status = (f"certified ({run['certificate']['coverage']:.0%} of out-of-fold)" if run["certified"]
                          else "cannot certify: all to review")
                rows.append([name, run["seed"], f"{run['n_train']}/{run['n_test']}", status,
                             f"{s['coverage']:.1%}", f"{_pct(s['precision'])} ({_ci(s['precision_ci'])})",
                             f"{b['coverage']:.1%} / {_pct(b['precision'])}",
                             *_acc_cells(st, "top1")[::2], f"{st['candidate']['top3']['value']:.3f}",
                             f"{st['mcnemar']['p_value']:.3g}"])
        lines += table(["data", "seed", "train/test", "`certified`", "auto", "precision (95% CI)",
                        "`point`: auto / precision", "top-1 ours (95% CI)", "top-1 − SVC (95% CI)", "top-3 ours",
                        "McNemar p"], rows) + [""]
    lines += ["Decisions. Adopted: the out-of-fold items scored as unseen, and the certified threshold on the full "
              "model. Rejected (measured above, same folds): the three cross-fitted deployments: each keeps the "
              "promise but auto-assigns fewer items than the full model with the certified threshold, and the fold "
              "models' mean ranks no better (`RoutingParams(crossfit=True)` keeps the first for comparisons). Not "
              "tried in this round: e5 document vectors, a kNN vote over precedents, unit duty texts as prototypes, "
              "per-unit thresholds, co-handlers conditioned on the lead.", ""]
    lines += environment_lines(report)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the tipdm2020c CSV files")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--per-unit", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3, help="random 30-per-unit draws per proxy data set")
    parser.add_argument("--parts", default="nested,proxies")
    parser.add_argument("--sets", default="titles,bodies", help="nested part: which TipDM files")
    parser.add_argument("--limit", type=int, default=None, help="nested part: at most this many rows (smoke runs)")
    parser.add_argument("--no-doc", action="store_true", help="write the JSON only")
    args = parser.parse_args(argv)
    setup_logging()
    start = time.time()
    data = dataset_dir(args.data, tuple(FILES.values()))
    report = report_header(("scikit-learn", "numpy", "scipy", "jieba"), quick=bool(args.limit))
    parts = args.parts.split(",")
    if "nested" in parts:
        if data is None:
            logger.warning("skipped the nested part: %s not found", args.data)
        else:
            report["nested"] = nested(data, args.folds, args.limit, args.sets.split(","))
    if "proxies" in parts:
        report["proxies"] = proxies(data, args.per_unit, args.seeds)
    report["runtime_s"] = time.time() - start
    write_results("threshold", report)
    if not args.no_doc:
        replace_section(DOC, "threshold", markdown(report))


if __name__ == "__main__":
    main()
