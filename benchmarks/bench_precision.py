"""Does running the encoder in bfloat16 (or int8) cost quality? Float32 against the other precisions, same data.

For each precision in ``--precisions`` (default ``float32,bfloat16``):

- precedent retrieval on the public data, tasks (a), (b) and (c) of ``bench_search.py`` (same samples and seeds,
  ``lead`` text, BM25 / dense / hybrid), when ``--data`` has them;
- precedent retrieval on the sample data (s): each 2025 closed case's title finds its own case (body only) among
  the 1,601 closed cases;
- 并案 groups and repeat flags on the 2026 open batch (``bench_duplicates.measure``) with a bundle whose index was
  built at that precision (``--bundle PRECISION=DIR``; e.g. ``JIAOBAN_ENCODER_PRECISION=bfloat16 jiaoban index
  data/samples/closed_cases.csv --duplicate-labels data/samples/duplicate_labels.csv``), its threshold calibrated on
  its own vectors as training does;
- agreement: the cosine between each precision's vectors and float32's for the same texts.

Writes ``benchmarks/results/precision.json`` and the precision section of docs/benchmarks-encoder.md.

    .venv/bin/python benchmarks/bench_precision.py --bundle float32=var/models/versions/V1 \\
        --bundle bfloat16=var/models-bf16/versions/V2
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from _common import (
    DEFAULT_DATA,
    DEFAULT_ENCODER,
    RESULTS,
    ROOT,
    dataset_dir,
    environment_lines,
    replace_section,
    report_header,
    setup_logging,
    table,
    write_results,
)
from bench_duplicates import measure as measure_duplicates
from bench_search import MemoEmbedder, Task, label_task, message_tasks, run_task

logger = logging.getLogger("bench_precision")
DOC = ROOT / "docs" / "benchmarks-encoder.md"


def sample_task() -> Task:
    from models.casefile import read_cases
    from models.records import CaseRecord

    cases = read_cases(ROOT / "data" / "samples" / "closed_cases.csv").records
    docs = [CaseRecord(row=i, case_no=c.case_no, body=c.body) for i, c in enumerate(cases)]
    picks = [i for i, c in enumerate(cases) if c.year == 2025]
    same = {}
    for i, c in enumerate(cases):
        same.setdefault(c.body.strip(), set()).add(i)
    return Task("s", "sample data: a 2025 case's title → its own case", docs, [cases[i].title for i in picks],
                relevant=[same[cases[i].body.strip()] for i in picks])


def agreement(embedders: dict, texts: list[str]) -> dict:
    base = embedders["float32"].encode_passages(texts)
    out = {}
    for label, e in embedders.items():
        if label != "float32":
            cos = (e.encode_passages(texts) * base).sum(axis=1)
            out[label] = {"mean": round(float(cos.mean()), 6), "min": round(float(cos.min()), 6), "texts": len(texts)}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the tipdm2020c CSV files")
    ap.add_argument("--encoder", type=Path, default=DEFAULT_ENCODER)
    ap.add_argument("--precisions", default="float32,bfloat16")
    ap.add_argument("--bundle", action="append", default=[], metavar="PRECISION=DIR",
                    help="a model version whose index was built at PRECISION, for the 并案 and repeat checks")
    ap.add_argument("--messages", type=int, default=600)
    ap.add_argument("--bodies", type=int, default=1500)
    ap.add_argument("--label-queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=RESULTS / "precision.json")
    ap.add_argument("--doc", type=Path, default=DOC)
    ap.add_argument("--render", action="store_true", help="only rewrite the doc section from --json")
    args = ap.parse_args(argv)
    setup_logging()
    if args.render:
        import json

        replace_section(args.doc, "precision", markdown(json.loads(args.json.read_text(encoding="utf-8"))))
        return
    from models.embeddings import SentenceTransformerEmbedder

    started = time.perf_counter()
    report = report_header(("torch", "sentence-transformers", "transformers", "faiss-cpu", "bm25s"), False)
    precisions = args.precisions.split(",")
    embedders = {p: MemoEmbedder(SentenceTransformerEmbedder(args.encoder, precision=p), p) for p in precisions}
    tasks: list[tuple[Task, list | None]] = [(sample_task(), None)]
    data = dataset_dir(args.data, ("messages_with_replies.csv", "bodies_labeled.csv"))
    if data is not None:
        a, b = message_tasks(data, args.messages or None, args.seed)
        c, c_labels = label_task(data, args.bodies or None, args.label_queries, args.seed)
        tasks += [(a, None), (b, None), (c, c_labels)]
    report["settings"] = {"precisions": precisions, "messages": args.messages, "bodies": args.bodies,
                          "label_queries": args.label_queries, "seed": args.seed, "public_data": data is not None}
    report["tasks"] = {}
    for task, labels in tasks:
        logger.info("task %s: %d documents, %d queries", task.key, len(task.docs), len(task.queries))
        report["tasks"][task.key] = {"key": task.key, **run_task(task, embedders, {p: ["lead"] for p in precisions},
                                                                 labels)}
    from models.search import SearchConfig, case_text

    texts = [case_text(d.title, d.body, SearchConfig()) for d in tasks[0][0].docs]
    report["agreement"] = agreement(embedders, texts)
    report["encoding"] = {p: {"seconds": round(e.spent["passage"][0] + e.spent["query"][0], 1),
                              "texts": e.spent["passage"][1] + e.spent["query"][1]} for p, e in embedders.items()}
    report["duplicates"] = {}
    for spec in args.bundle:
        precision, _, path = spec.partition("=")
        report["duplicates"][precision] = measure_duplicates(Path(path), args.encoder)
    report["runtime_s"] = round(time.perf_counter() - started, 1)
    write_results("precision", report, args.json)
    replace_section(args.doc, "precision", markdown(report))


def findings(r: dict) -> list[str]:
    out = []
    for p in r["settings"]["precisions"]:
        if p == "float32":
            continue
        diffs = []
        for t in r["tasks"].values():
            key = [k for k in ("mrr@10", "label_precision@10") if k in t["rows"][0]][0]
            by = {(row["mode"], row["encoder"]): row[key] for row in t["rows"] if row["mode"] != "bm25"}
            for mode in ("dense", "hybrid"):
                if (mode, p) in by and (mode, "float32") in by:
                    diffs.append((t["key"], mode, key, by[(mode, p)] - by[(mode, "float32")]))
        worst = min(diffs, key=lambda d: d[3])
        out.append(f"- {p}: " + "; ".join(f"({k}) {m} {key} {d:+.4f}" for k, m, key, d in diffs)
                   + f". Largest loss {worst[3]:+.4f} (({worst[0]}) {worst[1]}), "
                   + ("within" if worst[3] >= -0.005 else "**beyond**") + " the 0.005 the project allows.")
    return out


def markdown(r: dict) -> str:
    precisions = r["settings"]["precisions"]
    lines = ["## Encoder precision: what bfloat16 costs in quality", "", *environment_lines(r), "",
             "The same multilingual-e5-small weights run at each precision "
             "(`SentenceTransformerEmbedder(precision=…)`, "
             "`JIAOBAN_ENCODER_PRECISION` when an index is built); documents and queries of a task are encoded at "
             "the same precision, as the service does (the index records it). `lead` text (title + first 200 "
             "characters). Public-data tasks as in `bench_search.py` (same samples).", ""]
    metrics = ("recall@1", "recall@10", "mrr@10", "label_precision@10")
    for t in r["tasks"].values():
        keys = [k for k in metrics if k in t["rows"][0]]
        rows = []
        for row in t["rows"]:
            if row["mode"] == "bm25":
                continue
            rows.append([f"{row['mode']}, {row['encoder']}"] + [f"{row[k]:.3f}" for k in keys])
        lines += [f"### ({t['key']}) {t['title']}: {t['docs']:,} documents, {t['queries']:,} queries", "",
                  *table(["system"] + keys, rows), ""]
    lines += ["Differences from float32 (generated from the tables above; each task's last metric):", "",
              *findings(r), ""]
    if r.get("agreement"):
        lines += ["Agreement with float32 (cosine of the two vectors of a text, the sample cases' `lead` texts):", "",
                  *table(["precision", "mean", "min", "texts"],
                         [[p, f"{a['mean']:.5f}", f"{a['min']:.5f}", a["texts"]] for p, a in r["agreement"].items()]),
                  ""]
    if r.get("duplicates"):
        def share(a: int, b: int) -> str:
            return f"{a} of {b}" if b else "–"

        d = r["duplicates"]
        checks = [
            ("index encoder", lambda m: m.get("encoder", "–")),
            ("并案 threshold (calibrated on its own vectors)", lambda m: f"{m['threshold']:.4f}"),
            ("calibration: precision / recall on labelled neighbours",
             lambda m: f"{m['calibration']['precision']:.3f} / {m['calibration']['recall']:.3f}"),
            ("并案 groups on the open batch (sizes)",
             lambda m: f"{m['groups']} ({', '.join(map(str, m['group_sizes']))})"),
            ("grouped pairs that are the same matter", lambda m: share(m["grouped_pairs_same_matter"],
                                                                       m["grouped_pairs"])),
            ("planted near-duplicates grouped", lambda m: share(m["planted_near_duplicates_grouped"],
                                                                m["planted_near_duplicates"])),
            ("repeat flags on the same matter", lambda m: share(m["repeat_flags_same_matter"], m["repeat_flags"])),
            ("planted follow-ups flagged", lambda m: share(m["planted_follow_ups_flagged"], m["planted_follow_ups"])),
        ]
        cols = [p for p in precisions if p in d] + [p for p in d if p not in precisions]
        lines += ["并案 and repeat flags on the 150-item 2026 open batch (`bench_duplicates.measure`), each with a "
                  "bundle whose index was built at that precision:", "",
                  *table(["check", *cols], [[name, *(fn(d[p]) for p in cols)] for name, fn in checks]), ""]
    enc = r.get("encoding") or {}
    if enc:
        lines += ["Encoding time in this run (" + "; ".join(
            f"{p}: {e['texts']:,} texts in {e['seconds']:.0f} s" for p, e in enc.items())
            + f"; CPU busy with other work {r['machine'].get('busy_before')} before, "
              f"{r['machine'].get('busy_after')} after — throughput is measured by `bench_encoder_ceiling.py` and "
              "the sheet benchmark, not here).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
