"""How much of a body should a routed item's vector read? Quality and encoder speed for each ``lead_chars``.

The encoder sees a routed item (and every indexed case) as its title and the first ``lead_chars`` characters of its
body (``SearchConfig.lead_chars``, ``jiaoban train|index --lead-chars``). Fewer characters are fewer tokens, and the
encoder is most of a sheet's routing time on a CPU; this measures what each choice costs, against 200 (``--base``):

- precedent retrieval, MRR@10 on the tasks of ``bench_precedents.py`` (TipDM ``--data``: a title finds its own body,
  a message its own official reply; the sample closed cases likewise), ``lead`` mode: dense alone, equal-weight RRF,
  and the hybrid with its weight chosen by 10-fold CV; each choice against the base by a paired bootstrap of the
  per-query difference (95 % interval, two-sided p);
- 并案 groups and repeat flags on the 2026 open batch (``bench_duplicates.measure``), with a bundle re-indexed at
  each choice (``--bundle LC=DIR``, its duplicate threshold calibrated on its own vectors as training does:
  ``jiaoban index data/samples/closed_cases.csv --duplicate-labels data/samples/duplicate_labels.csv --lead-chars LC``);
- encoder speed: texts a second on ``--speed-rows`` rows of the distinct 2,000-row sheet of ``bench_load.py``, the
  choices interleaved over ``--rounds`` rounds (median), with the tokens per text.

Writes ``benchmarks/results/lead_chars.json`` and the ``lead-chars`` section of docs/benchmarks-encoder.md. No text
is printed. Example::

    .venv/bin/python benchmarks/bench_lead_chars.py --data ../shared/datasets/tipdm2020c --samples \\
        --bundle 100=var/models-lc100/versions/V --bundle 200=var/models/versions/V
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import statistics
import time
from pathlib import Path

import numpy as np
from _common import (
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
from bench_load import read_rows, sheet_csv
from bench_precedents import CachedEmbedder, build, paired, reciprocal_rank_table, sample_pairs, tipdm_pairs

logger = logging.getLogger("bench_lead_chars")
DOC = ROOT / "docs" / "benchmarks-encoder.md"
FOLDS = 10
TASKS = {"a": ("items", 1, "title → its own body"), "b": ("replies", 2, "message → its own official reply")}


def retrieval(pairs, embedder, choices: list[int], base: int, seed: int) -> dict:
    from models.search_weights import GRID, bootstrap_ci, cross_validate
    from nlp.normalize import normalize

    per: dict = {}
    for lc in choices:
        index = build(pairs, embedder, "lead", lead_chars=lc)
        for task, (target, key, _) in TASKS.items():
            rr = reciprocal_rank_table(index, pairs, target)
            groups = [normalize(p[key]) for p in pairs]
            per[(lc, task)] = {"dense": rr[:, -1], "rrf (w=1)": rr[:, GRID.index(1.0)],
                               "hybrid, weight by 10-fold CV": cross_validate(rr, groups, FOLDS, seed)}
        embedder.save()
    out: dict = {}
    for task in TASKS:
        out[task] = {}
        for lc in choices:
            row = {}
            for name, v in per[(lc, task)].items():
                row[name] = {"mrr10": round(float(v.mean()), 4), "ci95": bootstrap_ci(v, seed)}
                if lc != base:
                    row[name]["vs_base"] = paired(v, per[(base, task)][name], seed)
            out[task][str(lc)] = row
    return out


def speed(embedder, choices: list[int], rows: int, rounds: int) -> dict:
    from models.search import SearchConfig, case_text

    sheet = list(csv.DictReader(io.StringIO(sheet_csv(read_rows(), 2000, True).decode("utf-8"))))
    step = max(1, len(sheet) // rows)
    picked = sheet[::step][:rows]
    texts = {lc: [case_text(r["标题"], r["内容"], SearchConfig(lead_chars=lc)) for r in picked] for lc in choices}
    tokenizer = getattr(getattr(embedder, "_model", None), "tokenizer", None)
    embedder.encode_passages(texts[choices[0]][:16])  # warm
    seconds: dict[int, list[float]] = {lc: [] for lc in choices}
    for _ in range(rounds):
        for lc in choices:
            t = time.perf_counter()
            embedder.encode_passages(texts[lc])
            seconds[lc].append(time.perf_counter() - t)
    out = {}
    for lc in choices:
        s = statistics.median(seconds[lc])
        tokens = ([len(tokenizer(embedder.passage_prompt + t)["input_ids"]) for t in texts[lc]]
                  if tokenizer is not None else [])
        out[str(lc)] = {"texts": len(texts[lc]), "texts_per_s": round(len(texts[lc]) / s, 1),
                        "seconds": [round(x, 2) for x in seconds[lc]],
                        "chars_median": int(np.median([len(t) for t in texts[lc]])),
                        "tokens_median": int(np.median(tokens)) if tokens else None}
    return out


def cell(m: dict) -> str:
    lo, hi = m["ci95"]
    text = f"{m['mrr10']:.3f} [{lo:.3f}, {hi:.3f}]"
    vs = m.get("vs_base")
    if vs:
        text += f"; Δ {vs['diff']:+.3f} [{vs['ci95'][0]:+.3f}, {vs['ci95'][1]:+.3f}], p={vs['p']:.2g}"
    return text


def markdown(report: dict) -> str:
    base, choices = report["base"], report["choices"]
    lines = ["## How much of a body the vector reads (`lead_chars`)", "", *environment_lines(report), "",
             f"Choices {', '.join(map(str, choices))} characters of the body after the title, against {base} "
             "(Δ: paired bootstrap of the per-query difference, 95 % interval and two-sided p).", ""]
    for name, res in report["retrieval"].items():
        lines += [f"### Retrieval, {name} ({res['pairs']} pairs), MRR@10", ""]
        for task, (_, _, label) in TASKS.items():
            kinds = list(res["tasks"][task][str(base)])
            lines += [f"{label}:", "", *table(["lead_chars", *kinds],
                      [[lc, *(cell(res["tasks"][task][str(lc)][k]) for k in kinds)] for lc in choices]), ""]
    if report.get("duplicates"):
        rows = []
        for lc, m in sorted(report["duplicates"].items(), key=lambda kv: int(kv[0])):
            cal = m["calibration"] or {}
            rows.append([lc, f"{m['threshold']:.3f}", f"{cal.get('precision', float('nan')):.0%} / "
                         f"{cal.get('recall', float('nan')):.0%}", m["groups"],
                         f"{m['grouped_pairs_same_matter']} of {m['grouped_pairs']}",
                         f"{m['planted_near_duplicates_grouped']} of {m['planted_near_duplicates']}",
                         f"{m['repeat_flags_same_matter']} of {m['repeat_flags']}",
                         f"{m['planted_follow_ups_flagged']} of {m['planted_follow_ups']}"])
        lines += ["### 并案 and repeats on the 2026 open batch (bundles re-indexed at each choice)", "",
                  *table(["lead_chars", "threshold", "calibration precision / recall", "groups",
                          "grouped pairs, same matter", "planted 并案 grouped", "repeat flags, same matter",
                          "planted follow-ups flagged"], rows), ""]
    if report.get("speed"):
        sp = report["speed"]
        lines += ["### Encoder speed on distinct sheet rows", "",
                  *table(["lead_chars", "chars (median)", "tokens (median)", "texts/s (median of rounds)",
                          "seconds per round"],
                         [[lc, sp[str(lc)]["chars_median"], sp[str(lc)]["tokens_median"],
                           sp[str(lc)]["texts_per_s"], ", ".join(map(str, sp[str(lc)]["seconds"]))]
                          for lc in choices]), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="folder of the tipdm2020c CSV files (skipped if absent)")
    ap.add_argument("--samples", action="store_true", help="also the sample closed cases")
    ap.add_argument("--n", type=int, default=600, help="pairs sampled per data set (0: all)")
    ap.add_argument("--choices", default="100,128,200")
    ap.add_argument("--base", type=int, default=200)
    ap.add_argument("--bundle", action="append", default=[], metavar="LC=DIR", help="a bundle indexed at LC")
    ap.add_argument("--encoder", type=Path, default=DEFAULT_ENCODER)
    ap.add_argument("--precision", default="auto", help="encoder precision (auto: bfloat16 where native)")
    ap.add_argument("--speed-rows", type=int, default=192)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=Path("/tmp"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=RESULTS / "lead_chars.json")
    ap.add_argument("--doc", type=Path, default=DOC)
    args = ap.parse_args(argv)
    setup_logging()
    from models.embeddings import load_embedder

    started = time.perf_counter()
    choices = sorted({int(c) for c in args.choices.split(",")} | {args.base})
    report = {**report_header(("torch", "sentence-transformers", "faiss-cpu"), False),
              "base": args.base, "choices": choices, "retrieval": {}, "duplicates": {}}
    inner = load_embedder(str(args.encoder), precision=args.precision)
    report["encoder"] = inner.name
    embedder = CachedEmbedder(inner, args.cache)
    sets = []
    data = dataset_dir(args.data, ("messages_with_replies.csv",)) if args.data else None
    if data is not None:
        sets.append(("TipDM 2020 C", tipdm_pairs(data, args.n, args.seed)))
    if args.samples:
        sets.append(("sample closed cases", sample_pairs(args.n, args.seed)))
    for name, pairs in sets:
        report["retrieval"][name] = {"pairs": len(pairs),
                                     "tasks": retrieval(pairs, embedder, choices, args.base, args.seed)}
    for spec in args.bundle:
        lc, _, path = spec.partition("=")
        report["duplicates"][lc] = measure_duplicates(Path(path), args.encoder)
    if args.speed_rows:
        report["speed"] = speed(inner, choices, args.speed_rows, args.rounds)
    report["runtime_s"] = round(time.perf_counter() - started, 1)
    write_results("lead_chars", report, args.json)
    replace_section(args.doc, "lead-chars", markdown(report))


if __name__ == "__main__":
    main()
