"""How well do the 并案 groups and repeat flags work? Checks the active bundle on the sample open batch.

Usage: .venv/bin/python benchmarks/bench_duplicates.py [--bundle DIR] [--encoder DIR]
Uses the threshold the bundle's training chose on data/samples/duplicate_labels.csv (see training/duplicates.py)
and judges the 2026 open batch, which training never saw, against the generator's labels for it: how many grouped
pairs are the same matter, how many planted near-duplicates are grouped, and how many repeat flags point at a case
of the same matter. Writes benchmarks/results/duplicates.json and a section of docs/search-quality.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

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

DOC = ROOT / "docs" / "search-quality.md"
SAMPLES = ROOT / "data" / "samples"


def measure(bundle: Path, encoder: Path) -> dict:
    from models.bundle import load_bundle, load_search_index
    from models.embeddings import load_embedder
    from models.precision import precision_of

    b = load_bundle(bundle)
    precision = precision_of((b.meta.get("search") or {}).get("encoder") or "")  # the index's own, as the service
    index = load_search_index(b, load_embedder(str(encoder), precision=precision))
    if index is None:
        raise SystemExit(f"{bundle} has no search index: train with an encoder first (make model)")
    with open(SAMPLES / "open_batch.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(SAMPLES / "duplicate_labels.csv", encoding="utf-8-sig", newline="") as fh:
        labels = list(csv.DictReader(fh))
    group = {r["编号"]: r["重复组"] for r in labels}
    relation = {r["编号"]: r["关系"] for r in labels}

    def same(a: str, b: str) -> bool:
        return a in group and group.get(a) == group.get(b)

    nos = [r["编号"] for r in rows]
    items = [(r["标题"], r["内容"]) for r in rows]
    groups = index.duplicate_groups(items)
    pairs = [(nos[i], nos[j]) for g in groups for x, i in enumerate(g) for j in g[x + 1:]]
    grouped = {nos[i] for g in groups for i in g}
    planted = [n for n in nos if relation.get(n) == "并案"]
    repeats = [(nos[i], r["case_no"]) for i, r in enumerate(index.repeats(items)) if r]
    planted_repeats = [n for n in nos if relation.get(n) == "重复"]
    flagged = {a for a, _ in repeats}
    return {
        "bundle": b.version, "encoder": index.embedder.name, "threshold": index.config.duplicate_threshold,
        "calibration": index.config.duplicate_calibration, "batch_items": len(rows),
        "groups": len(groups), "group_sizes": sorted((len(g) for g in groups), reverse=True),
        "grouped_pairs": len(pairs), "grouped_pairs_same_matter": sum(same(a, b) for a, b in pairs),
        "planted_near_duplicates": len(planted), "planted_near_duplicates_grouped": sum(n in grouped for n in planted),
        "repeat_flags": len(repeats), "repeat_flags_same_matter": sum(same(a, b) for a, b in repeats),
        "planted_follow_ups": len(planted_repeats),
        "planted_follow_ups_flagged": sum(n in flagged for n in planted_repeats),
        "batch_items_with_an_earlier_same_matter": sum(
            any(same(n, c.get("case_no") or "") for c in index.cases) for n in nos),
    }


def markdown(r: dict) -> str:
    m = r["result"]
    cal = m["calibration"] or {}
    share = lambda a, b: f"{a} of {b} ({a / b:.0%})" if b else "–"  # noqa: E731
    return "\n".join([
        "## Duplicates (并案) and repeats on the open batch", "",
        *environment_lines(r), "",
        f"Bundle `{m['bundle']}`; threshold **{m['threshold']:.3f}**, chosen in training on "
        f"`data/samples/duplicate_labels.csv` ({cal.get('groups', '–')} groups of cases about the same matter): "
        f"among each labelled case's {cal.get('neighbours', 10)} nearest cases, pairs above it are the same "
        f"matter {cal.get('precision', float('nan')):.0%} of the time (target {cal.get('target_precision', 0.9):.0%}), "
        f"and it keeps {cal.get('recall', float('nan')):.0%} of the same-matter pairs among those neighbours. "
        f"Same-matter pairs score a median cosine of {cal.get('same_median', float('nan')):.3f}, other neighbours "
        f"{cal.get('different_median', float('nan')):.3f}: the narrow band the issue warns about.", "",
        f"Judged on the {m['batch_items']} items of the 2026 open batch (never seen in training):", "",
        *table(["check", "result"], [
            ["并案 groups found", f"{m['groups']} (sizes {', '.join(map(str, m['group_sizes']))})"],
            ["grouped pairs that are the same matter", share(m["grouped_pairs_same_matter"], m["grouped_pairs"])],
            ["planted near-duplicates (并案) that were grouped",
             share(m["planted_near_duplicates_grouped"], m["planted_near_duplicates"])],
            ["repeat flags (`repeat_of`) pointing at a case of the same matter",
             share(m["repeat_flags_same_matter"], m["repeat_flags"])],
            ["planted follow-ups of an earlier reply that were flagged",
             share(m["planted_follow_ups_flagged"], m["planted_follow_ups"])],
            ["batch items that do have an earlier case on the same matter",
             share(m["batch_items_with_an_earlier_same_matter"], m["batch_items"])],
        ]), "",
        "Most sample topics recur every session, so most of the batch is flagged as repeating an earlier case; "
        "the flag is right about the matter most of the time, and it is how drafters find last year's reply. "
        "Staff confirm 并案 groups; nothing is merged automatically.", ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, help="default: the active model in var/models")
    ap.add_argument("--encoder", type=Path, default=DEFAULT_ENCODER)
    args = ap.parse_args()
    setup_logging()
    from models.bundle import BundleStore

    bundle = args.bundle or BundleStore(ROOT / "var" / "models").active_path()
    report = report_header(("faiss-cpu", "sentence-transformers"), quick=False)
    started = time.perf_counter()
    report["result"] = measure(bundle, args.encoder)
    report["runtime_s"] = round(time.perf_counter() - started, 1)
    write_results("duplicates", report, RESULTS / "duplicates.json")
    replace_section(DOC, "duplicates", markdown(report))
    print(json.dumps(report["result"], ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
