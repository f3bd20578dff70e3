"""Does in-domain fine-tuning of the encoder lift precedent search on unseen TipDM message → reply pairs?

Usage: .venv/bin/python benchmarks/bench_finetune_tipdm.py [--data DIR] [--encoder DIR] [--folds 2] [--quick]
       .venv/bin/python benchmarks/bench_finetune_tipdm.py --doc-only    # only rewrite the doc from the saved results

The TipDM 2020 C messages with replies are split into ``--folds`` folds by group (rows sharing a normalised title
subject or a near-identical body opening are one group, so a duplicate never sits on both sides). For each fold the
encoder is fine-tuned (``training.finetune._train``: MultipleNegativesRankingLoss, word embeddings frozen) on the
other folds' pairs, built as ``training.finetune.training_pairs`` builds them (title subject → body opening, message
→ reply opening), and ``--n-test`` pairs of the held-out fold are scored with the base and the tuned encoder by the
ranking protocol of ``bench_precedents.py`` (``lead`` index; dense ranking alone, and the hybrid with BM25 whose
weight is chosen by 10-fold cross-validation over the scored pairs): (a) title → its own body, (b) message → its own
official reply, among the sampled pairs. Per-query reciprocal ranks give bootstrap intervals of
MRR@10 and of the after − before difference, a paired bootstrap p and a Wilcoxon signed-rank p. Writes
benchmarks/results/finetune_tipdm.json and the ``finetune-tipdm`` section of docs/search-quality.md. The tuned
encoders go to a temporary folder and are deleted. Skipped (exit 0) when the data folder is absent.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    DEFAULT_ENCODER,
    RESULTS,
    ROOT,
    environment_lines,
    replace_section,
    report_header,
    setup_logging,
    table,
    write_results,
)

logger = logging.getLogger("bench_finetune_tipdm")

DOC = ROOT / "docs" / "search-quality.md"
SECTION = "finetune-tipdm"
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "tipdm2020c"
CSV_NAME = "messages_with_replies.csv"
TASKS = {"a": "title → own body", "b": "message → own official reply"}
TARGETS = {"a": 0.95, "b": 0.85}
PUNCT = re.compile(r"[\W_]+")
BODY_KEY_CHARS = 60  # bodies whose normalised opening (punctuation and spaces removed) matches are one group


def read_rows(data: Path) -> list[tuple[str, str, str]]:
    with open(data / CSV_NAME, encoding="utf-8-sig", newline="") as fh:
        return [(r["title"], r["body"], r["reply"]) for r in csv.DictReader(fh)
                if r["title"] and r["body"] and r["reply"]]


def group_ids(rows: list[tuple[str, str, str]]) -> list[int]:
    """Union of rows sharing a normalised title subject or a near-identical body opening; one id per row."""
    from nlp.normalize import normalize, title_subject

    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[str, int] = {}
    for i, (title, body, _) in enumerate(rows):
        keys = ["t:" + PUNCT.sub("", title_subject(title) or normalize(title)),
                "b:" + PUNCT.sub("", normalize(body))[:BODY_KEY_CHARS]]
        for key in keys:
            if len(key) <= 2:
                continue
            if key in seen:
                parent[find(i)] = find(seen[key])
            else:
                seen[key] = i
    return [find(i) for i in range(len(rows))]


def grouped_folds(groups: list[int], folds: int, seed: int) -> list[list[int]]:
    """Row indices per fold: groups shuffled, then each group to the currently smallest fold."""
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    order = list(members)
    random.Random(seed).shuffle(order)
    out: list[list[int]] = [[] for _ in range(folds)]
    for g in order:
        min(out, key=len).extend(members[g])
    return [sorted(f) for f in out]


def ranked_rr(pairs, embedder, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Per task (a) and (b), per pair: RR@10 of the dense ranking alone and of the hybrid (BM25 + dense) with its
    weight chosen by 10-fold cross-validation over the pairs (grouped by the target text), as bench_precedents."""
    from bench_precedents import build, reciprocal_rank_table

    from models.search_weights import cross_validate
    from nlp.normalize import normalize

    index = build(pairs, embedder, "lead")
    out = {}
    for task, target in (("a", "items"), ("b", "replies")):
        grid = reciprocal_rank_table(index, pairs, target)
        groups = [normalize(p[1 if task == "a" else 2]) for p in pairs]
        out[task] = {"dense": grid[:, -1], "hybrid": cross_validate(grid, groups, 10, seed)}
    return out


def wilcoxon_p(a: np.ndarray, b: np.ndarray) -> float | None:
    try:
        from scipy.stats import wilcoxon
    except ImportError:
        return None
    if not np.any(a - b):
        return 1.0
    return round(float(wilcoxon(a, b, zero_method="wilcox").pvalue), 4)


def summarise(before: np.ndarray, after: np.ndarray, seed: int) -> dict:
    from bench_precedents import paired

    from models.search_weights import bootstrap_ci

    return {"n": len(before),
            "before": {"mrr10": round(float(before.mean()), 4), "ci95": bootstrap_ci(before, seed),
                       "recall10": round(float((before > 0).mean()), 4),
                       "recall1": round(float((before == 1).mean()), 4)},
            "after": {"mrr10": round(float(after.mean()), 4), "ci95": bootstrap_ci(after, seed),
                      "recall10": round(float((after > 0).mean()), 4),
                      "recall1": round(float((after == 1).mean()), 4)},
            "diff": {**paired(after, before, seed), "wilcoxon_p": wilcoxon_p(after, before)}}


def run_fold(k: int, rows, folds, args, embedder_base, workdir: Path) -> dict:
    from bench_precedents import CachedEmbedder

    from models.embeddings import SentenceTransformerEmbedder
    from models.records import CaseRecord
    from models.search import SearchConfig
    from training.finetune import FineTuneParams, _train, training_pairs

    config = SearchConfig()
    train_rows = [rows[i] for j, f in enumerate(folds) if j != k for i in f]
    test_idx = folds[k]
    test = [rows[i] for i in random.Random(args.seed + k).sample(test_idx, min(args.n_test, len(test_idx)))]
    cases = [CaseRecord(row=i + 2, title=t, body=b, reply=r) for i, (t, b, r) in enumerate(train_rows)]
    pairs = list(dict.fromkeys(training_pairs(cases, config)))
    if args.max_train_pairs:
        pairs = random.Random(args.seed).sample(pairs, min(args.max_train_pairs, len(pairs)))
    params = FineTuneParams(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                            max_seq_length=args.max_seq_length, seed=args.seed)
    logger.info("fold %d: %d training rows, %d pairs; %d held-out rows, %d scored", k, len(train_rows), len(pairs),
                len(test_idx), len(test))
    t0 = time.perf_counter()
    ranked = ranked_rr(test, embedder_base, args.seed)
    embedder_base.save()
    before = {t: ranked[t]["dense"] for t in TASKS}
    before_h = {t: ranked[t]["hybrid"] for t in TASKS}
    eval_before_s = time.perf_counter() - t0
    logger.info("fold %d before: a %.4f, b %.4f (%.0f s)", k, before["a"].mean(), before["b"].mean(), eval_before_s)
    t0 = time.perf_counter()
    model, history = _train(args.encoder, pairs, (embedder_base.inner.query_prompt, embedder_base.inner.passage_prompt),
                            params, lambda done, total: done % 10 == 0 and logger.info("fold %d: step %d/%d", k, done,
                                                                                        total))
    train_s = time.perf_counter() - t0
    logger.info("fold %d: trained %d steps in %.0f s", k, len(history), train_s)
    model.max_seq_length = embedder_base.inner.max_seq_length  # score with the base encoder's window
    out = workdir / f"fold{k}"
    model.save(str(out))
    del model
    t0 = time.perf_counter()
    tuned = CachedEmbedder(SentenceTransformerEmbedder(out, num_threads=args.threads), workdir / "cache")
    ranked = ranked_rr(test, tuned, args.seed)
    after = {t: ranked[t]["dense"] for t in TASKS}
    after_h = {t: ranked[t]["hybrid"] for t in TASKS}
    eval_after_s = time.perf_counter() - t0
    del tuned
    shutil.rmtree(out, ignore_errors=True)
    logger.info("fold %d after: a %.4f, b %.4f (%.0f s); hybrid a %.4f → %.4f, b %.4f → %.4f", k, after["a"].mean(),
                after["b"].mean(), eval_after_s, before_h["a"].mean(), after_h["a"].mean(), before_h["b"].mean(),
                after_h["b"].mean())
    return {"fold": k, "train_rows": len(train_rows), "train_pairs": len(pairs), "heldout_rows": len(test_idx),
            "scored": len(test), "steps": len(history), "train_s": round(train_s, 1),
            "eval_before_s": round(eval_before_s, 1), "eval_after_s": round(eval_after_s, 1),
            "loss_first": history[:5], "loss_last": history[-5:],
            "tasks": {t: summarise(before[t], after[t], args.seed) for t in TASKS},
            "rr": {t: {"before": before[t].round(4).tolist(), "after": after[t].round(4).tolist()} for t in TASKS},
            "hybrid_tasks": {t: summarise(before_h[t], after_h[t], args.seed) for t in TASKS},
            "hybrid_rr": {t: {"before": before_h[t].round(4).tolist(), "after": after_h[t].round(4).tolist()}
                          for t in TASKS}}


def pooled(fold_results: list[dict], seed: int, key: str = "rr") -> dict:
    """The folds' per-query figures (``key``: ``rr`` dense, ``hybrid_rr`` hybrid) pooled; {} if a fold lacks them."""
    if not all(key in f for f in fold_results):
        return {}
    out = {}
    for t in TASKS:
        b = np.concatenate([np.array(f[key][t]["before"]) for f in fold_results])
        a = np.concatenate([np.array(f[key][t]["after"]) for f in fold_results])
        out[t] = summarise(b, a, seed)
    return out


def fmt_ci(d: dict) -> str:
    lo, hi = d["ci95"]
    return f"{d['mrr10']:.3f} [{lo:.3f}, {hi:.3f}]"


def fmt_p(p: float) -> str:
    """``p = 0.012``, or ``p < 0.001`` (the bootstrap's 4,000 draws resolve no smaller p)."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_diff(d: dict) -> str:
    lo, hi = d["ci95"]
    w = d.get("wilcoxon_p")
    return (f"{d['diff']:+.3f} [{lo:+.3f}, {hi:+.3f}], {fmt_p(d['p'])}"
            + (f" (Wilcoxon {fmt_p(w)})" if w is not None else ""))


def markdown(r: dict) -> str:
    res = r["result"]
    p = res["params"]
    folds = res["folds"]
    lines = ["## In-domain fine-tuning on a real archive: TipDM message → reply pairs, grouped k-fold", "",
             *environment_lines(r), "",
             f"{res['rows']:,} TipDM rows with title, body and reply, in {res['groups']:,} groups (same normalised "
             f"title subject or same {BODY_KEY_CHARS}-character body opening), split into {res['n_folds']} grouped "
             f"folds (seed {res['seed']}); {len(folds)} fold(s) run. Each fold's encoder is fine-tuned on the other "
             f"folds' pairs (title subject → body opening and message → reply opening, deduplicated; "
             f"MultipleNegativesRankingLoss, {p['epochs']} epoch(s), batch {p['batch_size']}, learning rate "
             f"{p['learning_rate']}, {p['max_seq_length']}-token training window, word embeddings frozen) and scored "
             f"on {folds[0]['scored']} sampled pairs of its held-out fold, before and after, with the ranking of "
             "`bench_precedents.py` (`lead` index, dense alone, MRR@10 and recall@10 among the sampled pairs: "
             "MRR falls as the collection grows, so only figures at 600 pairs compare with section "
             "`precedents-tipdm600`). Times are wall-clock on this shared machine. Intervals: 95 % bootstrap over "
             "queries; p: two-sided paired bootstrap of after − before, Wilcoxon signed-rank in brackets.", ""]
    lines += [f"- fold {f['fold']} was run by `{f['command']}` ({f['date']})" for f in folds
              if f.get("command") and f["command"] != r["command"]]
    lines += [""] if lines[-1] else []
    rows = []
    for f in folds:
        rows.append([f"fold {f['fold']}", f"{f['train_pairs']:,}", f"{f['train_s'] / 60:.1f} min",
                     f"{f['eval_before_s'] / 60:.1f} + {f['eval_after_s'] / 60:.1f} min"])
    lines += table(["fold", "training pairs", "fine-tuning", "scoring before + after"], rows) + [""]
    columns = ["task", "held-out", "n", "MRR@10 before", "after", "after − before", "recall@10"]
    lines += ["Dense alone:", ""] + table(columns, result_rows(folds, res["pooled"], "tasks"))
    hybrid = [f for f in folds if "hybrid_tasks" in f]
    if hybrid:
        lines += ["", "Hybrid (BM25 + the same encoder, the service's default ranking; its weight chosen by 10-fold "
                  "cross-validation over the scored pairs, as `bench_precedents.py`'s CV hybrid), before and after "
                  "the same fine-tuning" + ("" if len(hybrid) == len(folds) else
                                           f" (fold(s) {', '.join(str(f['fold']) for f in hybrid)} only: the "
                                           "other folds were run before the hybrid was scored)") + ":", ""]
        lines += table(columns, result_rows(hybrid, res.get("pooled_hybrid") or {}, "hybrid_tasks"))
    lines += ["", verdict(res), ""]
    return "\n".join(lines)


def result_rows(folds: list[dict], pooled_: dict, key: str) -> list[list]:
    rows = []
    sets = [(f"fold {f['fold']}", f[key]) for f in folds]
    if len(folds) > 1 and pooled_:
        sets.append(("both folds (each query among its fold's pairs)", pooled_))
    for t, name in TASKS.items():
        for label, tasks in sets:
            s = tasks[t]
            rows.append([name, label, s["n"], fmt_ci(s["before"]), fmt_ci(s["after"]), fmt_diff(s["diff"]),
                         f"{s['before']['recall10']:.3f} → {s['after']['recall10']:.3f}"])
    return rows


def verdict(res: dict) -> str:
    text = target_verdict(res["pooled"] if len(res["folds"]) > 1 else res["folds"][0]["tasks"], res, "dense alone")
    hybrid = [f for f in res["folds"] if "hybrid_tasks" in f]
    if hybrid:
        final = res.get("pooled_hybrid") if len(hybrid) > 1 else hybrid[0]["hybrid_tasks"]
        where = "" if len(hybrid) == len(res["folds"]) else f" (fold {hybrid[0]['fold']} only)"
        text += " " + target_verdict(final, res, "hybrid" + where)
    return text


def target_verdict(final: dict, res: dict, label: str) -> str:
    parts = []
    for t, name in TASKS.items():
        s = final[t]
        reached, (lo, hi) = s["after"]["mrr10"] >= TARGETS[t], s["after"]["ci95"]
        d = s["diff"]
        parts.append(f"{name} {s['before']['mrr10']:.3f} → {fmt_ci(s['after'])} ({d['diff']:+.3f} "
                     f"[{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}], {fmt_p(d['p'])}): the issue's target "
                     f"{TARGETS[t]} is " + ("reached" if reached else "not reached")
                     + (" (though inside the interval)" if not reached and hi >= TARGETS[t] else "")
                     + (" (though the interval reaches below it)" if reached and lo < TARGETS[t] else ""))
    n = sum(f["scored"] for f in res["folds"]) // len(res["folds"])
    return (f"On unseen pairs, {label} ({n} per collection; the notes' baselines compare only at 600): "
            + "; ".join(parts) + "."
            + ("" if n >= 600 else " A collection smaller than 600 pairs makes the task easier, so these figures "
               "do not show whether the target is met at 600."))


def earlier_folds(args, settings: dict) -> list[dict]:
    """The folds already in ``--json`` when it holds the same split and settings (else none, with a warning)."""
    if not args.json.is_file():
        return []
    old = json.loads(args.json.read_text(encoding="utf-8"))
    res = old.get("result", {})
    if old.get("quick") != args.quick or any(res.get(k) != v for k, v in settings.items()) or \
            any(f["scored"] != min(args.n_test, f["heldout_rows"]) for f in res.get("folds", [])):
        logger.warning("%s holds another split or other settings: not merged", args.json)
        return []
    return [f for f in res["folds"] if f["fold"] != args.fold]


def add_output_options(ap: argparse.ArgumentParser, json_default: Path, doc_default: Path) -> None:
    ap.add_argument("--json", type=Path, default=json_default)
    ap.add_argument("--doc", type=Path, default=doc_default)
    ap.add_argument("--doc-only", action="store_true", help="only rewrite the doc section from --json")


def doc_only_or_skip(args, section: str, markdown_) -> int | None:
    """The exit code when there is nothing to measure: ``--doc-only`` rewrites the section from ``--json``, and a
    missing data folder is a clean skip; else None."""
    if args.doc_only:
        replace_section(args.doc, section, markdown_(json.loads(args.json.read_text(encoding="utf-8"))))
        return 0
    if not (args.data / CSV_NAME).is_file():
        print(f"skipped: no {CSV_NAME} in {args.data} (pass --data DIR with the tipdm2020c files)")
        return 0
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"folder holding {CSV_NAME} (skipped if absent)")
    ap.add_argument("--encoder", type=Path, default=DEFAULT_ENCODER)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--max-seq-length", type=int, default=128, help="training window in tokens")
    ap.add_argument("--n-test", type=int, default=600, help="held-out pairs scored per fold")
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--run-folds", type=int, default=0, help="run only the first N folds (0: all)")
    ap.add_argument("--fold", type=int, default=None,
                    help="run only this fold and merge it into --json's other folds (same split and settings)")
    ap.add_argument("--max-train-pairs", type=int, default=0, help="cap on training pairs per fold (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: one fold, 256 training pairs, 100 held-out pairs (figures not to quote)")
    add_output_options(ap, RESULTS / "finetune_tipdm.json", DOC)
    args = ap.parse_args(argv)
    setup_logging()
    if (done := doc_only_or_skip(args, SECTION, markdown)) is not None:
        return done
    if args.quick:
        args.run_folds, args.max_train_pairs, args.n_test = 1, args.max_train_pairs or 256, min(args.n_test, 100)
    import torch

    torch.set_num_threads(args.threads)
    from bench_precedents import CachedEmbedder

    from models.embeddings import SentenceTransformerEmbedder

    started = time.perf_counter()
    report = report_header(("torch", "sentence-transformers", "transformers", "faiss-cpu"), quick=args.quick)
    rows = read_rows(args.data)
    groups = group_ids(rows)
    folds = grouped_folds(groups, args.folds, args.seed)
    logger.info("%d rows, %d groups, fold sizes %s", len(rows), len(set(groups)), [len(f) for f in folds])
    base = CachedEmbedder(SentenceTransformerEmbedder(args.encoder, num_threads=args.threads), Path("/tmp"))
    workdir = Path(tempfile.mkdtemp(prefix="jiaoban-ft-tipdm-"))
    settings = {"rows": len(rows), "groups": len(set(groups)), "n_folds": args.folds, "seed": args.seed,
                "params": {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.lr,
                           "max_seq_length": args.max_seq_length}}
    results = earlier_folds(args, settings) if args.fold is not None else []
    todo = [args.fold] if args.fold is not None else range(args.run_folds or args.folds)
    try:
        for k in todo:
            fold = run_fold(k, rows, folds, args, base, workdir)
            fold.update(command=report["command"], date=report["date"])
            results = sorted([f for f in results if f["fold"] != k] + [fold], key=lambda f: f["fold"])
            partial = {**settings, "folds": results}
            partial["pooled"] = pooled(results, args.seed)
            partial["pooled_hybrid"] = pooled(results, args.seed, "hybrid_rr")
            report["result"] = partial
            report["runtime_s"] = round(time.perf_counter() - started, 1)
            write_results("finetune_tipdm", report, args.json)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    replace_section(args.doc, SECTION, markdown(report))
    print(verdict(report["result"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
