"""Does the e5 encoder add accuracy to the n-gram routing model? Stacked kNN votes and e5 features (issue #12).

Grouped outer 5-fold on TipDM titles and bodies, the folds of ``bench_threshold.py`` (near-duplicates together).
On each outer training part our model (``RoutingModel(RoutingParams())``, the service's default) is fitted once; its
own inner out-of-fold scores (grouped 5-fold, items scored as unseen) are kept, and every choice below is made on
those inner folds only, never on the outer test part:

- ``knn``: our probabilities blended with a kNN vote over the training items' e5 vectors (top-k cosine-weighted
  votes per unit); k and the blend weight chosen for inner out-of-fold macro-F1;
- ``e5_lr``: our probabilities blended with a LogisticRegression on the e5 vectors (its inner out-of-fold
  probabilities, C = 10); the weight chosen the same way;
- ``concat``: the e5 vector appended to our TF-IDF blocks as one more unit-norm block, same LinearSVC (no choice).

Each item is encoded once (its service text, title subject + body, first ``--lead-chars`` characters) and the vectors
are cached under /tmp. Baselines on the same folds: TF-IDF + LinearSVC on stock jieba word 1-2-grams and character
1-3-grams (the strongest plain one: word-only, as in bench_threshold, is shown too). Figures: top-1, macro-F1 with
95 % bootstrap intervals, paired bootstrap of the macro-F1 difference (two-sided p) and McNemar's exact test on top-1.

    nice -n 10 .venv/bin/python benchmarks/bench_e5_stack.py --data ../shared/datasets/tipdm2020c

Skips cleanly when the folder is absent. Writes benchmarks/results/e5_stack.json and its docs/benchmarks.md section.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import (
    DEFAULT_DATA,
    DEFAULT_ENCODER,
    DOC,
    RESULTS,
    Stopwatch,
    dataset_dir,
    environment_lines,
    replace_section,
    report_header,
    setup_logging,
    table,
    write_results,
)
from _e5_vectors import cached_vectors, lead_texts
from bench_threshold import FILES, TfidfSVC, jieba_texts

from models.classifier import RoutingModel, RoutingParams
from models.knn_vote import knn_votes

logger = logging.getLogger("bench_e5_stack")

KS = (5, 10, 20, 40)
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(9))
# One C: each costs five inner fits on a 2-core machine; C 10 beat 100 on the first titles fold's inner folds.
LR_CS = (10.0,)
METHODS = {
    "svc_words": "TF-IDF + LinearSVC, jieba word 1-2-grams (bench_threshold's baseline)",
    "svc": "TF-IDF + LinearSVC, jieba word 1-2-grams + character 1-3-grams (**the baseline**)",
    "ours": "our model, `RoutingParams()` defaults (the service today)",
    "knn": "ours blended with a kNN vote over e5 vectors (k, weight from inner folds)",
    "e5_lr": "ours blended with LogisticRegression (C 10) on e5 vectors (weight from inner folds)",
    "concat": "our LinearSVC with the e5 vector as one more unit-norm feature block",
}


class KeepingOOF(RoutingModel):
    """Our model, keeping its inner out-of-fold scores and folds (the same ones that calibrate it)."""

    def _out_of_fold_scores(self, X, y, cal):
        oof, folds = super()._out_of_fold_scores(X, y, cal)
        self.inner_ = (cal, oof, [val for _, val in self._folds(X[cal])])
        return oof, folds


class WordCharSVC(TfidfSVC):
    """The plain baseline at its strongest: jieba word 1-2-grams and character 1-3-grams, LinearSVC."""

    def fit(self, texts: list[str], labels: list[str]) -> WordCharSVC:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.svm import LinearSVC

        words = TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, ngram_range=(1, 2),
                                sublinear_tf=True, min_df=2)
        chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2,
                                preprocessor=_no_spaces)
        self.model_ = make_pipeline(make_union(words, chars), LinearSVC(C=1.0)).fit(texts, labels)
        return self


def _no_spaces(text: str) -> str:  # character n-grams of the text itself, not of jieba's spaced tokens
    return text.replace(" ", "")


def macro_f1(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, proba.argmax(axis=1), average="macro"))


def choose_blend(y: np.ndarray, ours: np.ndarray, others: dict) -> tuple:
    """The (key, weight) whose blend (1 - w) ours + w other scores best on inner out-of-fold macro-F1."""
    best = (macro_f1(y, ours), None, 0.0)
    for key, other in others.items():
        for w in WEIGHTS[1:]:
            score = macro_f1(y, (1 - w) * ours + w * other)
            if score > best[0] + 1e-9:
                best = (score, key, w)
    return best[1], best[2], best[0]


def lr_proba(E_train, y_train, E_test, n_classes: int, C: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=C, max_iter=300).fit(E_train, y_train)
    out = np.zeros((len(E_test), n_classes))
    out[:, lr.classes_] = lr.predict_proba(E_test)
    return out


def certified_on(y_inner, p_inner, truth_idx, p_test) -> dict:
    """The certified 95 % threshold chosen on inner out-of-fold probabilities, applied to the outer test part."""
    from models.certify import certify_threshold

    cert = certify_threshold(p_inner.max(axis=1), p_inner.argmax(axis=1) == y_inner, 0.95, 0.05)
    accepted = (p_test.max(axis=1) >= cert.threshold) & bool(cert.certified)
    return {"accepted": accepted, "hit": p_test.argmax(axis=1) == truth_idx, "threshold": cert.threshold}


def one_fold(train, test, E_tr, E_te, texts_tr, texts_te) -> dict:
    """Every method's ranked labels (and the blends' certified outcomes) on one outer test part."""
    from scipy import sparse
    from scipy.special import softmax
    from sklearn.svm import LinearSVC

    leads_tr = [c.lead_id or c.lead for c in train]
    out: dict = {"ranked": {}, "cert": {}, "chosen": {}, "fit_s": {}}
    for name, cls in (("svc_words", TfidfSVC), ("svc", WordCharSVC)):
        with Stopwatch() as sw:
            out["ranked"][name] = cls().fit(texts_tr, leads_tr).ranked(texts_te)
        out["fit_s"][name] = sw.seconds
    with Stopwatch() as sw:
        model = KeepingOOF(RoutingParams()).fit_cases(train)
        X_te = model.transform([(c.title, c.body) for c in test])
        p_te = model.full_proba(X=X_te)
    out["fit_s"]["ours"] = sw.seconds
    classes, C = model.classes_, len(model.classes_)
    y, leads_te = np.searchsorted(classes, leads_tr), [c.lead_id or c.lead for c in test]
    truth_idx = np.where(np.isin(leads_te, classes), np.searchsorted(classes, leads_te), -1)
    cal, oof, inner_folds = model.inner_
    assert len(cal) == len(train), "TipDM folds are below calibration_max_items: every item is out of fold once"
    p_oof = softmax(np.where(np.isfinite(oof), oof, -1e4) / model.temperature_, axis=1)

    def ranked(p):
        return [[str(classes[j]) for j in row[:10]] for row in np.argsort(-p, axis=1)]

    out["ranked"]["ours"] = ranked(p_te)
    out["cert"]["ours"] = certified_on(y, p_oof, truth_idx, p_te)
    # kNN: inner votes from each inner fold's training part, outer votes from the whole training part.
    with Stopwatch() as sw:
        knn_oof = {k: np.zeros((len(train), C)) for k in KS}
        for val in inner_folds:
            keep = np.setdiff1d(np.arange(len(train)), val)
            for k, v in knn_votes(E_tr[val], E_tr[keep], y[keep], C).items():
                knn_oof[k][val] = v
        k, w, inner_f1 = choose_blend(y, p_oof, knn_oof)
        k = k or KS[0]
        p_knn = (1 - w) * p_te + w * knn_votes(E_te, E_tr, y, C, ks=(k,))[k]
    out["fit_s"]["knn"] = sw.seconds
    out["chosen"]["knn"] = {"k": k, "weight": w, "inner_macro_f1": inner_f1}
    out["ranked"]["knn"] = ranked(p_knn)
    out["cert"]["knn"] = certified_on(y, (1 - w) * p_oof + w * knn_oof[k], truth_idx, p_knn)
    # LogisticRegression on e5, stacked the same way.
    with Stopwatch() as sw:
        lr_oof = {c: np.zeros((len(train), C)) for c in LR_CS}
        for val in inner_folds:
            keep = np.setdiff1d(np.arange(len(train)), val)
            for c in LR_CS:
                lr_oof[c][val] = lr_proba(E_tr[keep], y[keep], E_tr[val], C, c)
        c_best, w, inner_f1 = choose_blend(y, p_oof, lr_oof)
        c_best = c_best or LR_CS[0]
        p_lr = (1 - w) * p_te + w * lr_proba(E_tr, y, E_te, C, c_best)
    out["fit_s"]["e5_lr"] = sw.seconds
    out["chosen"]["e5_lr"] = {"C": c_best, "weight": w, "inner_macro_f1": inner_f1}
    out["ranked"]["e5_lr"] = ranked(p_lr)
    out["cert"]["e5_lr"] = certified_on(y, (1 - w) * p_oof + w * lr_oof[c_best], truth_idx, p_lr)
    # e5 as one more feature block (each TF-IDF block is unit-norm; so is the e5 vector).
    with Stopwatch() as sw:
        X_tr = model.transform([(c.title, c.body) for c in train])
        svm = LinearSVC(C=model.params.C, class_weight="balanced", max_iter=model.params.max_iter,
                        random_state=0).fit(sparse.hstack([X_tr, sparse.csr_matrix(E_tr)]).tocsr(), y)
        scores = svm.decision_function(sparse.hstack([X_te, sparse.csr_matrix(E_te)]).tocsr())
    out["fit_s"]["concat"] = sw.seconds
    out["ranked"]["concat"] = [[str(classes[svm.classes_[j]]) for j in row[:10]] for row in np.argsort(-scores, 1)]
    return out


def paired(truth, cand, base, resamples: int) -> dict:
    """paired_comparison plus a two-sided paired-bootstrap p for the macro-F1 difference."""
    from training.stats import Outcomes, paired_comparison

    stats = paired_comparison(truth, cand, base, resamples=resamples)
    labels: dict[str, int] = {}
    for t in truth:
        labels.setdefault(t, len(labels))
    a, b = Outcomes(truth, cand, labels), Outcomes(truth, base, labels)
    rng, n = np.random.default_rng(1), len(truth)
    diffs = []
    for _ in range(resamples):
        wts = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        diffs.append(a.metrics(wts, len(labels) + 1)["macro_f1"] - b.metrics(wts, len(labels) + 1)["macro_f1"])
    d = np.array(diffs)
    stats["macro_f1_p"] = float(min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean()) + 1 / resamples))
    return stats


def evaluate(data: Path, encoder: Path, name: str, folds: int, limit: int | None, lead_chars: int,
             resamples: int) -> dict:
    from sklearn.model_selection import GroupKFold

    from training.dataset import load_training_set
    from training.evaluate import group_keys

    cases = load_training_set(data / FILES[name], None).cases
    E, enc_cost = cached_vectors(lead_texts(cases, lead_chars), encoder, f"{name}-lead{lead_chars}")
    if limit:  # a smoke run: a sample of the rows, the whole file's vectors (encoded once, cached)
        keep = sorted(random.Random(0).sample(range(len(cases)), min(limit, len(cases))))
        cases, E = [cases[i] for i in keep], E[keep]
    texts = jieba_texts(cases)
    parts: dict = defaultdict(list)
    for f, (tr, te) in enumerate(GroupKFold(n_splits=folds).split(cases, groups=group_keys(cases)), start=1):
        r = one_fold([cases[i] for i in tr], [cases[i] for i in te], E[tr], E[te], [texts[i] for i in tr],
                     [texts[i] for i in te])
        parts["truth"] += [cases[i].lead_id or cases[i].lead for i in te]
        for m, ranked in r["ranked"].items():
            parts[m] += ranked
        for m, c in r["cert"].items():
            parts[f"{m}_accepted"] += list(c["accepted"])
            parts[f"{m}_hit"] += list(c["hit"])
        parts["chosen"].append(r["chosen"])
        parts["fit_s"].append(r["fit_s"])
        logger.info("%s fold %d/%d: chosen %s, fit s %s", name, f, folds, r["chosen"],
                    {k: round(v, 1) for k, v in r["fit_s"].items()})
    truth = parts["truth"]
    out: dict = {"rows": len(cases), "folds": folds, "encoding": enc_cost, "chosen": parts["chosen"],
                 "fit_s": {m: [fs[m] for fs in parts["fit_s"]] for m in parts["fit_s"][0]}, "methods": {}}
    for m in METHODS:
        entry: dict = {"vs_svc": paired(truth, parts[m], parts["svc"], resamples)}
        if m not in ("svc", "svc_words", "ours"):
            entry["vs_ours"] = paired(truth, parts[m], parts["ours"], resamples)
        if f"{m}_accepted" in parts:
            acc, hit = np.array(parts[f"{m}_accepted"]), np.array(parts[f"{m}_hit"])
            entry["certified"] = {"coverage": float(acc.mean()),
                                  "precision": float(hit[acc].mean()) if acc.any() else None}
        out["methods"][m] = entry
    return out


def _cell(s: dict) -> str:
    return f"{s['value']:.3f} ({s['ci'][0]:.3f}–{s['ci'][1]:.3f})"


def _diff(st: dict | None) -> str:
    if not st:
        return ""
    d = st["diff"]["macro_f1"]
    return (f"{d['value'] * 100:+.1f} ({d['ci'][0] * 100:+.1f}–{d['ci'][1] * 100:+.1f}), p {st['macro_f1_p']:.2g}; "
            f"top-1 McNemar p {st['mcnemar']['p_value']:.2g}")


def markdown(report: dict) -> str:
    lines = ["## e5 vectors stacked on the n-gram model (issue #12, item 2)", "",
             "Grouped outer 5-fold (bench_threshold's folds); every choice (k, C, blend weight) is made on the "
             "inner out-of-fold predictions of the outer training part only. Each item's e5 vector "
             "(multilingual-e5-small, float32, passage prompt) is of its service text's first "
             f"{next(iter(report['sets'].values())).get('lead_chars', 200)} characters. Methods:", ""]
    lines += [f"- `{m}`: {text}" for m, text in METHODS.items()]
    lines += ["", "Intervals: 95% bootstrap over items; differences are paired (macro-F1 in points, two-sided "
              "paired-bootstrap p; McNemar's exact test on top-1). *Certified* is the 95% threshold certified on the "
              "inner out-of-fold probabilities of the same blend (models.certify), applied to the outer test part.",
              ""]
    rows = []
    for name, r in report["sets"].items():
        for m, e in r["methods"].items():
            c = e["vs_svc"]["candidate"]
            cert = e.get("certified")
            cert_cell = (f"{cert['coverage']:.1%} at {cert['precision']:.1%}" if cert and cert["precision"]
                         else ("nothing" if cert else ""))
            rows.append([f"{name} ({r['rows']:,})", f"`{m}`", _cell(c["top1"]), _cell(c["macro_f1"]),
                         "" if m == "svc" else _diff(e["vs_svc"]), _diff(e.get("vs_ours")), cert_cell])
    lines += table(["data", "method", "top-1 (95% CI)", "macro-F1 (95% CI)", "macro-F1 − SVC, points (95% CI)",
                    "macro-F1 − ours, points (95% CI)", "certified: auto at precision"], rows) + [""]
    rows = []
    for name, r in report["sets"].items():
        enc = r["encoding"]
        per_k = 1000 * enc["seconds"] / max(enc["items"], 1)
        fit = {m: np.mean(v) for m, v in r["fit_s"].items()}
        knn = ", ".join(f"k {c['knn']['k']} w {c['knn']['weight']}" for c in r["chosen"])
        lr = ", ".join(f"C {c['e5_lr']['C']:g} w {c['e5_lr']['weight']}" for c in r["chosen"])
        rows.append([name, f"{per_k:.0f} s" + (" (cached)" if enc["cached"] else ""),
                     " / ".join(f"{m} {fit[m]:.1f}" for m in ("svc", "ours", "knn", "e5_lr", "concat")), knn, lr])
    lines += table(["data", "encoding per 1,000 items", "fit s per fold (extra for knn, e5_lr, concat)",
                    "knn chosen per fold", "e5_lr chosen per fold"], rows) + [""]
    lines += [report.get("decision", ""), ""]
    lines += [f"- {name}: `{r['command']}` ({r['date']})" for name, r in report["sets"].items() if "command" in r]
    lines += environment_lines(report)
    return "\n".join(lines)


def decision(report: dict) -> str:
    """Adopt only what beats both the SVC (+2 points, p < 0.05) and our model (p < 0.05) on every set."""
    passed = []
    for m in ("knn", "e5_lr", "concat"):
        ok = all(r["methods"][m]["vs_svc"]["diff"]["macro_f1"]["value"] >= 0.02
                 and r["methods"][m]["vs_svc"]["macro_f1_p"] < 0.05
                 and r["methods"][m]["vs_ours"]["macro_f1_p"] < 0.05
                 and r["methods"][m]["vs_ours"]["diff"]["macro_f1"]["value"] > 0 for r in report["sets"].values())
        passed.append((m, ok))
    good = [m for m, ok in passed if ok]
    notes = []
    for name, r in report["sets"].items():
        best = max(("knn", "e5_lr", "concat"), key=lambda m: r["methods"][m]["vs_svc"]["diff"]["macro_f1"]["value"])
        gain = r["methods"][best]["vs_svc"]["diff"]["macro_f1"]["value"] * 100
        ours = r["methods"]["ours"]["vs_svc"]["diff"]["macro_f1"]["value"] * 100
        notes.append(f"on {name} the best, `{best}`, gains {gain:+.1f} points over the SVC (ours: {ours:+.1f})")
    beats = all(r["methods"][m]["vs_ours"]["macro_f1_p"] < 0.05 and r["methods"][m]["vs_ours"]["diff"]["macro_f1"]
                ["value"] > 0 for r in report["sets"].values() for m in ("knn", "e5_lr", "concat"))
    return ("Where we stand: " + "; ".join(notes) + (". Every e5 variant beats our model significantly on every set"
                                                     if beats else "") + ". Not tried in this round: "
            "chunk-pooled vectors of whole long bodies (the lead alone took most of the time budget to encode). "
            "Encoding cost is what the run that filled the /tmp cache measured, on the shared machine. "
            + "Decision (generated from the figures above): the adoption rule is macro-F1 at least 2 points over the "
            "SVC with p < 0.05 and a significant gain over our model, on titles and bodies both. "
            + (f"Meeting it: {', '.join(good)}." if good else "No method meets it; none is adopted and "
               "`RoutingParams()` is unchanged."))


def earlier_sets(args) -> dict:
    """The other sets of the last full run (``--sets bodies`` re-runs one set and keeps the other's figures)."""
    if args.limit or not (path := RESULTS / "e5_stack.json").is_file():
        return {}
    sets = json.loads(path.read_text(encoding="utf-8")).get("sets", {})
    return {name: r for name, r in sets.items() if name not in args.sets.split(",")
            and r.get("lead_chars") == args.lead_chars and r.get("folds") == args.folds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the tipdm2020c CSV files")
    parser.add_argument("--encoder", type=Path, default=DEFAULT_ENCODER)
    parser.add_argument("--sets", default="titles,bodies")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--lead-chars", type=int, default=200)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=None, help="at most this many rows per set (smoke runs)")
    parser.add_argument("--no-doc", action="store_true", help="write the JSON only")
    args = parser.parse_args(argv)
    setup_logging()
    start = time.time()
    data = dataset_dir(args.data, tuple(FILES.values()))
    if data is None or not (args.encoder.is_dir() or str(args.encoder) == "hashing"):  # hashing: smoke runs
        logger.warning("skipped: needs the TipDM folder (--data) and the encoder directory (--encoder)")
        return
    report = report_header(("scikit-learn", "numpy", "scipy", "jieba", "sentence-transformers", "torch"),
                           quick=bool(args.limit))
    report["sets"] = earlier_sets(args)
    for name in args.sets.split(","):
        report["sets"][name] = evaluate(data, args.encoder, name, args.folds, args.limit, args.lead_chars,
                                        args.resamples)
        report["sets"][name].update(command=report["command"], date=report["date"], lead_chars=args.lead_chars)
    report["decision"] = decision(report)
    report["runtime_s"] = time.time() - start
    write_results("e5_stack" + ("_quick" if args.limit else ""), report)
    if not args.no_doc and not args.limit:
        replace_section(DOC, "e5_stack", markdown(report))


if __name__ == "__main__":
    main()
