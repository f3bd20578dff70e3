"""Precedent search by k-fold on pairs: does the fusion chosen on validation pairs beat each of its parts?

Two tasks, on the TipDM 2020 C messages with official replies (``--data``) and on the sample closed cases
(``--samples``): (a) a title finds its own body among the bodies (target ``items``; the bodies are indexed without
their titles), (b) a message (title + body) finds its own official reply among the replies (target ``replies``).
For each ``dense_text`` (``lead``; ``chunks``: passages, max pooling) the two parts (BM25, dense) and plain RRF are
scored, and the fusion weight is chosen by ``models.search_weights`` on the other folds and judged on the held-out
fold (10 folds, pairs with the same target text kept together). Each figure is MRR@10 with a 95 % bootstrap interval;
the chosen fusion is compared with each part by a paired bootstrap of the per-query difference.

Latency: the chunked index tiled to ``--latency-cases`` cases (copies of the sampled cases: the search cost depends
on the number of cases and passages, not on their content), one unbatched query at a time, query encoding
included, for a title and for a 1,500-character query, per target.

Passage vectors are cached on disk (``--cache``, default /tmp) by encoder fingerprint and text, so a rerun encodes
only what is new. Example::

    nice -n 10 .venv/bin/python benchmarks/bench_precedents.py --data ../shared/datasets/tipdm2020c --samples
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import time
from pathlib import Path

import numpy as np
from _common import (
    DEFAULT_ENCODER,
    RESULTS,
    ROOT,
    busy_fraction,
    environment_lines,
    percentiles_ms,
    report_header,
    setup_logging,
)

logger = logging.getLogger("bench_precedents")
QUALITY_DOC = ROOT / "docs" / "search-quality.md"
FOLDS = 10


class CachedEmbedder:
    """An encoder whose passage and query vectors are kept on disk by text; ``live`` turns query caching off."""

    def __init__(self, inner, cache_dir: Path):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.path = getattr(inner, "path", None)
        self.file = cache_dir / f"jiaoban-vectors-{inner.fingerprint.replace('@', '-')}.npz"
        self.live = False
        self.store: dict[str, np.ndarray] = {}
        if self.file.is_file():
            with np.load(self.file) as z:
                self.store = dict(zip(z["keys"].tolist(), z["vectors"]))
        self.new = 0

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def _get(self, kind: str, texts, fn) -> np.ndarray:
        keys = [hashlib.sha1(f"{kind}\n{t}".encode()).hexdigest() for t in texts]
        todo = list(dict.fromkeys(i for i, k in enumerate(keys) if k not in self.store))
        for start in range(0, len(todo), 256):
            part = todo[start : start + 256]
            self.store.update(zip((keys[i] for i in part), fn([texts[i] for i in part])))
            self.new += len(part)
            logger.info("encoded %d/%d new %s texts", min(start + 256, len(todo)), len(todo), kind)
            if self.new >= 256:  # keep what was paid for if the run is stopped
                self.save()
        return np.array([self.store[k] for k in keys], dtype=np.float32).reshape(-1, self.dim)

    def encode_passages(self, texts, *, show_progress: bool = False) -> np.ndarray:
        return self._get("passage", list(texts), self.inner.encode_passages)

    def encode_queries(self, texts) -> np.ndarray:
        if self.live:
            return self.inner.encode_queries(texts)
        return self._get("query", list(texts), self.inner.encode_queries)

    def save(self) -> None:
        if self.new:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.file, keys=np.array(list(self.store)), vectors=np.array(list(self.store.values())))
            self.new = 0


def tipdm_pairs(data: Path, n: int, seed: int) -> list[tuple[str, str, str]]:
    import csv

    with open(data / "messages_with_replies.csv", encoding="utf-8-sig", newline="") as fh:
        rows = [(r["title"], r["body"], r["reply"]) for r in csv.DictReader(fh)
                if r["title"] and r["body"] and r["reply"]]
    return random.Random(seed).sample(rows, min(n, len(rows))) if n else rows


def sample_pairs(n: int, seed: int) -> list[tuple[str, str, str]]:
    from models.casefile import read_cases

    rows = [(c.title, c.body, c.reply) for c in read_cases(ROOT / "data/samples/closed_cases.csv").records
            if c.title and c.body and c.reply]
    return random.Random(seed).sample(rows, min(n, len(rows))) if n else rows


def build(pairs, embedder, dense_text: str, copies: int = 1, lead_chars: int | None = None):
    from models.records import CaseRecord
    from models.search import PrecedentIndex, SearchConfig

    config = SearchConfig(dense_text=dense_text)
    if lead_chars is not None:
        config.lead_chars = lead_chars
    index = PrecedentIndex(embedder, config)
    index.add([CaseRecord(row=i, case_no=f"d{c}-{i}", body=b, reply=r)
               for c in range(copies) for i, (_, b, r) in enumerate(pairs)])
    return index


def reciprocal_rank_table(index, pairs, target: str) -> np.ndarray:
    """Per pair, RR@10 of its own document under each weight of the grid (as ``calibrate_weights`` scores them)."""
    from models.passages import item_text
    from models.search_weights import reciprocal_ranks

    queries = [t if target == "items" else item_text(t, b) for t, b, _ in pairs]
    vectors = index.query_vectors(queries)
    mask = index.has_reply if target == "replies" else None
    n = index.config.candidates
    return np.array([reciprocal_ranks([p for p, _ in index.bm25_ranking(index.segmenter.tokenize(q), mask, n, target)],
                                      [p for p, _ in index.dense_ranking(vectors[i : i + 1], mask, n, target)], i)
                     for i, q in enumerate(queries)])


def paired(a: np.ndarray, b: np.ndarray, seed: int = 0, draws: int = 4000) -> dict:
    """Mean of a - b with a 95 % bootstrap interval and a two-sided bootstrap p-value."""
    rng = np.random.default_rng(seed)
    d = a - b
    means = rng.choice(d, size=(draws, len(d)), replace=True).mean(axis=1)
    p = min(1.0, 2 * min((means <= 0).mean(), (means >= 0).mean())) if d.any() else 1.0
    return {"diff": round(float(d.mean()), 4), "ci95": [round(float(np.quantile(means, q)), 4) for q in (0.025, 0.975)],
            "p": round(float(p), 4)}


def rejected_rules() -> dict:
    """Guard rules tried before the one in ``models.search_weights.choose``, scored the same way (table "rules")."""
    from models.search_weights import GRID, clearly_better

    def argmax(rr):  # the best mean on the choosing pairs, fusion only when strictly ahead of both parts
        mrr = rr.mean(axis=0)
        part = max((0, len(GRID) - 1), key=lambda g: mrr[g])
        fusion = max(range(1, len(GRID) - 1), key=lambda g: mrr[g])
        return fusion if mrr[fusion] > mrr[part] else part

    def from_part(rr):  # the better part, fusion only on a clear gain over it
        mrr = rr.mean(axis=0)
        part = max((0, len(GRID) - 1), key=lambda g: mrr[g])
        best = max(range(len(GRID)), key=lambda g: (mrr[g], g == part))
        return best if clearly_better(rr, best, part) else part

    def from_equal(rr):  # equal-weight fusion, anything else only on a clear gain over it
        mrr, equal = rr.mean(axis=0), GRID.index(1.0)
        best = max(range(len(GRID)), key=lambda g: (mrr[g], g == equal))
        return best if clearly_better(rr, best, equal) else equal

    return {"best mean": argmax, "better part unless fusion clearly ahead": from_part,
            "equal fusion unless another clearly ahead": from_equal}


def rule_costs(rr: np.ndarray, groups: list[str], seed: int) -> dict:
    """CV MRR@10 of each guard rule minus the better part's MRR@10."""
    from models import search_weights
    from models.search_weights import cross_validate

    best_part = max(rr[:, 0].mean(), rr[:, -1].mean())
    out = {"in use": round(float(cross_validate(rr, groups, FOLDS, seed).mean() - best_part), 4)}
    in_use = search_weights.choose
    try:
        for name, rule in rejected_rules().items():
            search_weights.choose = rule
            out[name] = round(float(cross_validate(rr, groups, FOLDS, seed).mean() - best_part), 4)
    finally:
        search_weights.choose = in_use
    return out


def score_task(rr: np.ndarray, groups: list[str], seed: int) -> dict:
    from models.search_weights import GRID, bootstrap_ci, cross_validate, label

    cv = cross_validate(rr, groups, FOLDS, seed)
    rows = {"bm25": rr[:, 0], "dense": rr[:, -1], "rrf (w=1)": rr[:, GRID.index(1.0)],
            "hybrid, weight by 10-fold CV": cv}
    out = {name: {"mrr10": round(float(v.mean()), 4), "ci95": bootstrap_ci(v, seed)} for name, v in rows.items()}
    out["hybrid, weight by 10-fold CV"]["vs"] = {name: paired(cv, rows[name], seed)
                                                for name in ("bm25", "dense", "rrf (w=1)")}
    out["grid_mrr10"] = {label(w): round(float(m), 4) for w, m in zip(GRID, rr.mean(axis=0))}
    out["rules"] = rule_costs(rr, groups, seed)
    return out


def latency(pairs, embedder, cases: int, queries: int, seed: int) -> dict:
    copies = -(-cases // len(pairs))
    index = build(pairs, embedder, "chunks", copies)
    embedder.live = True
    rng = random.Random(seed)
    bodies = [b for _, b, _ in pairs]
    long_queries = []
    for _ in range(queries):
        text = ""
        while len(text) < 1500:
            text += rng.choice(bodies)
        long_queries.append(text[:1500])
    titles = [t for t, _, _ in rng.sample(pairs, min(queries, len(pairs)))]
    out = {"cases": len(index), "passages": {f: len(index.fields[f].vectors) for f in index.fields}}
    index.search(titles[0], k=10)  # warm up
    for name, qs in (("title", titles), ("1500 chars", long_queries)):
        for target in ("items", "replies"):
            times = []
            for q in qs:
                start = time.perf_counter()
                index.search(q, k=10, target=target)
                times.append(time.perf_counter() - start)
            out[f"{name}, {target}"] = percentiles_ms(times)
            vectors = index.query_vectors(qs)
            times = []
            for q, v in zip(qs, vectors):
                start = time.perf_counter()
                index.search(q, k=10, target=target, vector=v[None, :])
                times.append(time.perf_counter() - start)
            out[f"{name}, {target}, search only"] = percentiles_ms(times)
            logger.info("latency %s %s: %s; search only %s", name, target, out[f"{name}, {target}"],
                        out[f"{name}, {target}, search only"])
    embedder.live = False
    return out


def run(name: str, pairs, embedder, seed: int, modes=("lead", "chunks")) -> dict:
    from nlp.normalize import normalize

    out: dict = {"pairs": len(pairs), "chars_median": {
        "title": int(np.median([len(t) for t, _, _ in pairs])), "body": int(np.median([len(b) for _, b, _ in pairs])),
        "reply": int(np.median([len(r) for _, _, r in pairs]))}, "modes": {}}
    for dense_text in modes:
        started = time.perf_counter()
        index = build(pairs, embedder, dense_text)
        res = {}
        for task, target, key in (("a", "items", 1), ("b", "replies", 2)):
            rr = reciprocal_rank_table(index, pairs, target)
            res[task] = score_task(rr, [normalize(p[key]) for p in pairs], seed)
            logger.info("%s %s (%s): %s", name, dense_text, task,
                        {k: v["mrr10"] for k, v in res[task].items() if "mrr10" in v})
        res["seconds"] = round(time.perf_counter() - started, 1)
        out["modes"][dense_text] = res
        embedder.save()
    return out


TASKS = {"a": "title → its own body (target items)", "b": "message → its own official reply (target replies)"}


def markdown(report: dict) -> str:
    lines = ["## Precedent search by k-fold on pairs", "", *environment_lines(report), ""]
    for name, ds in report["datasets"].items():
        med = ds["chars_median"]
        lines += [f"### {name}: {ds['pairs']:,} pairs (median characters: title {med['title']}, body {med['body']}, "
                  f"reply {med['reply']})", ""]
        for task, title in TASKS.items():
            modes = list(ds["modes"])
            lines += [f"**({task}) {title}**: MRR@10 [95 % interval]", "",
                      "| system | " + " | ".join(modes) + " |", "|---|" + "---:|" * len(modes)]
            for row in ("bm25", "dense", "rrf (w=1)", "hybrid, weight by 10-fold CV"):
                cells = [f"{m[task][row]['mrr10']:.3f} [{m[task][row]['ci95'][0]:.3f}, {m[task][row]['ci95'][1]:.3f}]"
                         for m in ds["modes"].values()]
                lines.append(f"| {row} | " + " | ".join(cells) + " |")
            lines.append("")
            for mode in modes:
                vs = ds["modes"][mode][task]["hybrid, weight by 10-fold CV"]["vs"]
                lines.append(f"- {mode}: CV hybrid minus " + "; ".join(
                    f"{k} {v['diff']:+.3f} [{v['ci95'][0]:+.3f}, {v['ci95'][1]:+.3f}], p = {v['p']:.3f}"
                    for k, v in vs.items()))
            lines.append("")
    cells = [(name, mode, task) for name, ds in report["datasets"].items() for mode in ds["modes"] for task in TASKS]
    if cells:
        rules = list(report["datasets"][cells[0][0]]["modes"][cells[0][1]]["a"]["rules"])
        lines += ["### Guard rules: CV MRR@10 minus the better part's, per data set, dense_text and task", "",
                  "| rule | " + " | ".join(f"{n.split()[0]} {m} ({t})" for n, m, t in cells) + " |",
                  "|---|" + "---:|" * len(cells)]
        for rule in rules:
            lines.append(f"| {rule} | " + " | ".join(
                f"{report['datasets'][n]['modes'][m][t]['rules'][rule]:+.3f}" for n, m, t in cells) + " |")
        lines.append("")
    lat = report.get("latency")
    if lat:
        lines += [f"### Latency, chunked mode, {lat['cases']:,} cases ({lat['passages']['items']:,} item passages, "
                  f"{lat['passages']['replies']:,} reply passages), one query at a time, encoding included", "",
                  "(\"search only\": the query vector given, i.e. BM25, the dense ranking over every passage, fusion "
                  "and the result passages, without the encoder; the encoder's share depends on how busy the CPUs are, "
                  "see the line above)", "",
                  "| query, target | p50 ms | p99 ms |", "|---|---:|---:|"]
        lines += [f"| {k} | {v['p50_ms']:.0f} | {v['p99_ms']:.0f} |" for k, v in lat.items() if isinstance(v, dict)
                  and "p50_ms" in v]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="folder of the tipdm2020c CSV files (skipped if absent)")
    ap.add_argument("--samples", action="store_true", help="also the sample closed cases of data/samples")
    ap.add_argument("--n", type=int, default=300, help="pairs sampled per data set (0: all)")
    ap.add_argument("--encoder-dir", type=Path, default=DEFAULT_ENCODER)
    ap.add_argument("--cache", type=Path, default=Path("/tmp"), help="folder of the on-disk vector cache")
    ap.add_argument("--latency-cases", type=int, default=10_000, help="0: no latency run")
    ap.add_argument("--latency-queries", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is faster on a busy 2-core machine)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=RESULTS / "precedents.json")
    ap.add_argument("--doc", type=Path, default=QUALITY_DOC)
    ap.add_argument("--section", default="precedents", help="name of the doc section written")
    ap.add_argument("--modes", default="lead,chunks", help="dense_text modes measured")
    ap.add_argument("--render", action="store_true", help="only rewrite the doc section from --json")
    args = ap.parse_args(argv)
    setup_logging()
    from _common import replace_section

    if args.render:
        replace_section(args.doc, args.section, markdown(json.loads(args.json.read_text(encoding="utf-8"))))
        return
    from models.embeddings import SentenceTransformerEmbedder

    started = time.perf_counter()
    report = report_header(("faiss-cpu", "bm25s", "jieba", "torch", "sentence-transformers"), False)
    embedder = CachedEmbedder(SentenceTransformerEmbedder(args.encoder_dir, num_threads=args.threads), args.cache)
    sets = {}
    if args.data and (args.data / "messages_with_replies.csv").is_file():
        sets["TipDM 2020 C messages with replies"] = tipdm_pairs(args.data, args.n, args.seed)
    elif args.data:
        logger.warning("no messages_with_replies.csv in %s: skipping the TipDM part", args.data)
    if args.samples:
        sets["sample closed cases (synthetic)"] = sample_pairs(args.n, args.seed)
    if not sets:
        logger.warning("nothing to measure: pass --data DIR and/or --samples")
        return
    modes = tuple(m for m in args.modes.split(",") if m)
    report["datasets"] = {name: run(name, pairs, embedder, args.seed, modes) for name, pairs in sets.items()}
    if args.latency_cases:
        report["latency"] = latency(next(iter(sets.values())), embedder, args.latency_cases, args.latency_queries,
                                    args.seed)
    embedder.save()
    report["machine"]["busy_after"] = busy_fraction()
    report["runtime_s"] = round(time.perf_counter() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    replace_section(args.doc, args.section, markdown(report))


if __name__ == "__main__":
    main()
