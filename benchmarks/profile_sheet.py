"""Where the time of one 2,000-row sheet goes, in process: segmentation, classifier, encoder, precedents, 并案.

Routes the sheet of ``bench_load.py`` through the phases of ``RoutingService.route`` one by one, with the active
bundle of ``--models-dir`` (its index's encoder and precision, as the service loads it), and times each; the
precedents are timed both as the service now finds them (``PrecedentIndex.search_many``, one dense search for the
sheet) and as before (one ``search`` per row). Results merge by ``--label`` into
``benchmarks/results/sheet_profile.json``, which ``load_report.py`` renders. No text is printed.

    .venv/bin/python benchmarks/profile_sheet.py --label float32 --models-dir var/models
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _common import DEFAULT_ENCODER, RESULTS, ROOT, Stopwatch, busy_fraction, report_header, setup_logging
from bench_load import read_rows, sheet_csv


def profile(models_dir: Path, encoder: str, rows: int, distinct: bool) -> dict:
    from models.bundle import BundleStore
    from models.casefile import read_cases
    from models.search import case_text
    from models.service import RoutingService

    with Stopwatch() as load:
        service = RoutingService.load(BundleStore(models_dir).active_path(), encoder=encoder)
    index = service.index
    if index is None:
        raise SystemExit(f"the active model of {models_dir} has no usable search index: {service.search_error}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sheet.csv"
        path.write_bytes(sheet_csv(read_rows(), rows, distinct))
        items = [(r.title, r.body) for r in read_cases(path).records]
    service.route(items[:16])  # warm: jieba, the encoder, faiss
    model, k, out = service.bundle.model, service.options.precedents_k, {}
    with Stopwatch() as t:
        docs = model.prepare(items)
    out["segmentation (model.prepare)"] = t.seconds
    with Stopwatch() as t:
        vectors = index.embed_docs(docs)
    out["encoder (index.embed_docs)"] = t.seconds
    with Stopwatch() as t:  # as the service does: with the vectors when the model blends them
        routings = model.route(docs=docs, top_k=service.options.top_k, vectors=vectors if service.blends else None)
    out["classifier with the vectors (model.route, blend or stack)" if service.blends else
        "classifier (model.route)"] = t.seconds
    with Stopwatch() as t:
        [service._present(n, r, None) for n, r in enumerate(routings)]
    out["presenting suggestions"] = t.seconds
    with Stopwatch() as t:
        index.repeats(vectors=vectors)
    out["repeat check (one faiss search)"] = t.seconds
    with Stopwatch() as t:
        index.search_many([d.tokens for d in docs], vectors, k=k)
    out["precedents (search_many: one faiss search, BM25 per row)"] = t.seconds
    with Stopwatch() as t:
        for n, d in enumerate(docs):
            index.search(d.text, k=k, tokens=d.tokens, vector=vectors[n : n + 1])
    per_row = t.seconds
    with Stopwatch() as t:
        groups = index.duplicate_groups(vectors=vectors)
    out["并案 grouping"] = t.seconds
    return {"rows": len(items), "distinct_rows": distinct, "encoder": index.embedder.name,
            "load_s": round(load.seconds, 1),
            "encoder_texts": len({case_text(d.title, d.body, index.config) for d in docs}),
            "groups": len(groups), "phases": {name: round(s, 2) for name, s in out.items()},
            "total_s": round(sum(out.values()), 2), "precedents_one_search_per_row_s": round(per_row, 2)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--label", required=True, help="name the result is merged under")
    ap.add_argument("--models-dir", type=Path, default=ROOT / "var" / "models")
    ap.add_argument("--encoder", default=str(DEFAULT_ENCODER))
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--sheet-distinct", action="store_true", help="every row a distinct text (bench_load.py)")
    ap.add_argument("--json", type=Path, default=RESULTS / "sheet_profile.json")
    args = ap.parse_args(argv)
    setup_logging()
    run = report_header(("torch", "sentence-transformers", "faiss-cpu", "bm25s", "jieba", "scikit-learn"), False)
    run.update(profile(args.models_dir, args.encoder, args.rows, args.sheet_distinct))
    run["machine"]["busy_after"] = busy_fraction()
    report = json.loads(args.json.read_text(encoding="utf-8")) if args.json.is_file() else {}
    report.setdefault("runs", {})[args.label] = run
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in run.items() if k not in ("versions", "machine")}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
