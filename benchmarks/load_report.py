"""Write the "Load" section of docs/benchmarks.md from benchmarks/results/load.json and encoder_ceiling.json.

    .venv/bin/python benchmarks/load_report.py
"""

from __future__ import annotations

import json
import sys

from _common import RESULTS, ROOT, replace_section

DOC = ROOT / "docs" / "benchmarks.md"
ORDER = ("before", "one-pass", "batched", "batched-threads1", "workers2-threads1", "default")
NOTES = {
    "before": "before this work: two encoder calls per routed item, no micro-batching (`/route/upload` without "
              "precedents)",
    "one-pass": "one encoder call per item, every request calling torch itself (`JIAOBAN_ENCODER_BATCHING=false`)",
    "batched": "one encoder call per item, concurrent calls micro-batched by one encoder thread",
    "batched-threads1": "as `batched`, with `JIAOBAN_ENCODER_THREADS=1`",
    "workers2-threads1": "as `batched`, two uvicorn workers with one torch thread each",
    "default": "the shipped defaults (micro-batching, every core for torch), co-handler margins in one product",
    "openvino": "the shipped defaults since 2026-12-08: as `default`, the encoder's transformer on OpenVINO "
                "(`JIAOBAN_ENCODER_BACKEND=auto`), bfloat16 index; AMD EPYC (the rows above: 2026-12-01, another "
                "2-core machine)",
}
# Sheet-only runs (`--clients 0 --single 0`) of issue #10, in this order.
SHEET_ORDER = ("sheet-before", "sheet-before-distinct", "sheet-float32", "sheet-float32-distinct", "sheet-bf16",
               "sheet-bf16-distinct")
SHEET_NOTES = {
    "sheet-before": "before issue #10 (commit 18b39a7, run from a worktree of it), float32 index; other work took "
                    "the cores during the run (see the busy column), so this is an upper bound: the same code's "
                    "quiet figure is the `default` row above (153 s, the earlier machine)",
    "sheet-before-distinct": "before issue #10, float32 index, every row a distinct text (`--sheet-distinct`)",
    "sheet-float32": "this code, float32 index (repeated texts encoded once, one faiss search per sheet)",
    "sheet-float32-distinct": "this code, float32 index, every row distinct",
    "sheet-bf16": "this code, index built with `JIAOBAN_ENCODER_PRECISION=bfloat16`",
    "sheet-bf16-distinct": "this code, bfloat16 index, every row distinct",
}


def ms(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def scenario_rows(scenarios: dict) -> list[str]:
    rows = ["| scenario | routes/s | route p50 / p99 ms | search p50 / p99 ms | case p50 / p99 ms | failures | "
            "single route p50 / p99 ms | 2,000-row sheet | other load on the cores |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in sorted(scenarios, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        s = scenarios[name]
        if name in SHEET_NOTES:
            continue
        load, single, sheet = s.get("load") or {}, s.get("single") or {}, s.get("sheet") or {}
        ops = load.get("ops", {})

        def op(key, ops=ops):
            o = ops.get(key) or {}
            return f"{ms(o.get('p50_ms'))} / {ms(o.get('p99_ms'))}"

        sheet_cell = "-"
        if sheet:
            sheet_cell = (f"{sheet['seconds']:.0f} s ({sheet.get('with_precedents', 0):,} with precedents, "
                          f"{sheet.get('duplicate_groups', 0)} 并案 groups)")
        rows.append(f"| `{name}`: {NOTES.get(name, '')} | {load.get('routes_per_s', '-')} | {op('route')} | "
                    f"{op('search')} | {op('cases')} | {load.get('failures', '-')} | "
                    f"{ms(single.get('p50_ms'))} / {ms(single.get('p99_ms'))} | {sheet_cell} | "
                    f"{s['machine'].get('busy_before', 0):.0%} before, {s['machine'].get('busy_after', 0):.0%} after |")
    return rows


def sheet_section(scenarios: dict) -> list[str]:
    runs = [n for n in SHEET_ORDER if n in scenarios and scenarios[n].get("sheet")]
    if not runs:
        return []
    rows = ["| scenario | encoder texts (distinct) | seconds | rows with precedents | with a repeat flag | "
            "并案 groups (largest) | target ≤ 60 s | other load on the cores | command |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name in runs:
        s = scenarios[name]
        sh = s["sheet"]
        rows.append(f"| `{name}`: {SHEET_NOTES[name]} | {sh.get('encoder_texts', '-'):,} | {sh['seconds']:.1f} | "
                    f"{sh.get('with_precedents', 0):,} | {sh.get('with_repeat_of', 0):,} | "
                    f"{sh.get('duplicate_groups', 0)} ({sh.get('largest_group', 0)}) | "
                    f"{'met' if sh['seconds'] <= 60 and sh['status'] == '200' else 'missed'} | "
                    f"{s['machine'].get('busy_before', 0):.0%} before, {s['machine'].get('busy_after', 0):.0%} after | "
                    f"`{s['command']}` |")
    first = scenarios[runs[0]]
    return [f"### The 2,000-row sheet (issue #10; {first['date']}, {first['machine'].get('cpu', '')}, "
            f"{first['machine']['cores']} cores)", "",
            "The sheet alone (`--clients 0 --single 0`), one run each: the open batch repeated to 2,000 rows. "
            "The encoder sees a row's title and the first 200 characters of its body; the standard sheet varies "
            "repeats at the end of the body, so most repeats are the same text to encode as their original, and "
            "`--sheet-distinct` varies the opening instead, so every row is a text of its own: the distinct rows "
            "are the honest figure for a real session's sheet. Every row gets precedents, the repeat check and "
            "并案 in all runs. The bfloat16 runs use a bundle re-indexed with `JIAOBAN_ENCODER_PRECISION=bfloat16 "
            "jiaoban index data/samples/closed_cases.csv --duplicate-labels data/samples/duplicate_labels.csv` "
            "(`--models-dir` of the command); what bfloat16 costs in quality is in "
            "[benchmarks-encoder.md](benchmarks-encoder.md).", "", *rows, ""]


def profile_section(profile: dict) -> list[str]:
    runs = profile.get("runs") or {}
    if not runs:
        return []
    labels = list(runs)
    phases = list(dict.fromkeys(p for r in runs.values() for p in r["phases"]))
    rows = ["| phase, seconds | " + " | ".join(f"`{lab}`" for lab in labels) + " |",
            "|---|" + "---:|" * len(labels)]
    rows += [f"| {phase} | " + " | ".join(f"{runs[lab]['phases'][phase]:.1f}" if phase in runs[lab]['phases']
                                          else "–" for lab in labels) + " |" for phase in phases]
    rows.append("| **total** | " + " | ".join(f"**{runs[lab]['total_s']:.1f}**" for lab in labels) + " |")
    rows.append("| *precedents as before: one `search` per row* | " + " | ".join(
        f"*{runs[lab]['precedents_one_search_per_row_s']:.1f}*" for lab in labels) + " |")
    return ["### Where a sheet's time goes (`benchmarks/profile_sheet.py`, in process)", "",
            "The phases of `RoutingService.route` timed one by one on the same 2,000-row sheet (no HTTP, no CSV "
            "upload). Runs: " + "; ".join(
                f"`{lab}` ({r['date']}, {r['machine'].get('cpu', '')}): encoder {r['encoder']}, "
                f"{r['encoder_texts']:,} distinct encoder texts, busy "
                f"{r['machine'].get('busy_before', 0):.0%} before / {r['machine'].get('busy_after', 0):.0%} after, "
                f"`{r['command']}`" for lab, r in runs.items()) + ".", "", *rows, "",
            "Runs before 2026-12-08 timed the classifier without the vectors (the text model alone), which is not "
            "what the service does for a model that blends them; `classifier with the vectors` is the service's "
            "step. The `sample-bundle-COMMIT-…` runs serve, with this code, the bundle that `jiaoban train "
            "data/samples/closed_cases.csv --models-dir DIR` trained at that commit (the stack without, then with, "
            "the readers of `models/stack_readers.py`).", ""]


def ceiling_rows(ceiling: dict) -> list[str]:
    batches = [r["batch"] for r in next(iter(ceiling.get("torch", {}).values()), [])]
    rows = ["| encoder | " + " | ".join(f"batch {b}" for b in batches) + " |", "|---|" + "---:|" * len(batches)]

    def cells(runs: list[dict]) -> str:
        return " | ".join(f"{r['texts_per_s']} texts/s ({r['ms_per_call']:.0f} ms)" for r in runs) + " |"

    for threads, runs in sorted(ceiling.get("torch", {}).items()):
        rows.append(f"| torch float32, {threads} thread(s) | " + cells(runs))
    for threads, runs in sorted(ceiling.get("torch_bf16", {}).items()):
        rows.append(f"| torch bfloat16, {threads} thread(s) | " + cells(runs))
    for precision, ov in (ceiling.get("openvino") or {}).items():
        if isinstance(ov, dict) and ov.get("runs"):
            rows.append(f"| **OpenVINO {precision}**, {ov['threads']} threads (cosine to torch float32: min "
                        f"{ov['min_cosine_vs_torch_float32']:.5f}, mean {ov['mean_cosine_vs_torch_float32']:.6f}) | "
                        + cells(ov["runs"]))
    onnx = ceiling.get("onnx") or {}
    if onnx.get("runs"):
        rows.append(f"| ONNX Runtime float32, {onnx['threads']} threads (min cosine to torch "
                    f"{onnx['min_cosine_vs_torch']:.5f}) | " + " | ".join(
                        f"{r['texts_per_s']} texts/s ({r['ms_per_call']:.0f} ms)" for r in onnx["runs"]) + " |")
    return rows


def writes_section(w: dict) -> list[str]:
    load, back = w["load"], w["read_back"]
    rows = ["| operation | count | req/s | p50 ms | p99 ms | failures |", "|---|---:|---:|---:|---:|---:|"]
    names = {"route": "`POST /route`", "search": "`POST /search`", "create": "`POST /cases` (no routing)",
             "decide": "`POST /cases/{id}/decision`"}
    for op, o in load["ops"].items():
        rows.append(f"| {names.get(op, op)} | {o['count']:,} | {o['req_per_s']} | {ms(o['p50_ms'])} | "
                    f"{ms(o['p99_ms'])} | {o['failures']} |")
    verdict = "every write read back as answered" if back["all_read_back"] else "**writes lost or wrong**"
    return [f"### Writes under load (`benchmarks/bench_writes.py`, {w['date']})", "",
            f"{load['clients']} closed-loop clients for {load['seconds']:.0f} s: 30 % routing, 25 % search, 25 % case "
            "creation, 20 % decisions on the client's own cases; then every case and decision is read back.", "",
            *rows, "",
            f"{load['failures']} failed requests; {back['cases_created']:,} cases written, {back['decisions']:,} of "
            f"them decided (the last decision of each checked): {back['missing']} missing, "
            f"{back['wrong_case_no']} with a wrong number, {back['wrong_lead']} with a wrong lead, "
            f"{back['cases_listed']:,} listed: {verdict}."]


def precision_note() -> str:
    """One sentence on bfloat16 from benchmarks/results/precision.json (bench_precision.py), when it is there."""
    path = RESULTS / "precision.json"
    if not path.is_file():
        return ""
    r = json.loads(path.read_text(encoding="utf-8"))
    worst = 0.0
    for t in r["tasks"].values():
        key = [k for k in ("mrr@10", "label_precision@10") if k in t["rows"][0]][0]
        by = {(row["mode"], row["encoder"]): row[key] for row in t["rows"] if row["mode"] != "bm25"}
        worst = min([worst] + [by[(m, "bfloat16")] - by[(m, "float32")] for m in ("dense", "hybrid")
                               if (m, "bfloat16") in by and (m, "float32") in by])
    return ("bfloat16 keeps the quality (largest loss on any retrieval task "
            f"{worst:+.4f}, the same 并案 groups; docs/benchmarks-encoder.md) and is what "
            "`JIAOBAN_ENCODER_PRECISION=auto` builds indexes with where the CPU computes it natively (AMX, "
            "AVX512-BF16), as the sheet table above measures; elsewhere the index stays float32. ")


# Measured by other benchmarks (bench_lead_chars.py, bench_distill.py); kept here so a re-render keeps them.
ENCODER_NOTES = (
    'Reading less of each body is not a way out. `benchmarks/bench_lead_chars.py` (section `lead-chars` '
    'of [benchmarks-encoder.md](benchmarks-encoder.md), 2026-12-02, AMD EPYC) measured title + 100 or 128'
    ' body characters against the 200 used now. At 100 the encoder is 1.8 times faster (52.6 against 28.8'
    ' texts/s, 73 against 141 tokens), but dense retrieval loses 0.047 MRR@10 on TipDM title → body (p < '
    '0.001) and 0.062 on message → reply. 并案 is hit harder: with the threshold calibrated on its own '
    'vectors, 4 of the 10 planted near-duplicates are grouped, against 8 of 10 at 200, and calibration '
    'recall falls from 36 % to 24 %. At 128 every loss is smaller but still there (dense −0.019 and '
    '−0.034; 3 of 10 planted 并案). So the default stays 200, and `jiaoban train|index --lead-chars N` is '
    'there for a site that chooses speed knowing this cost. With torch on this CPU the encoder alone needed '
    'about 2,000 / 29 ≈ 69 s for 2,000 distinct rows; on OpenVINO it takes 46.6 s in process (the '
    '`sample-bundle-b3d5712-openvino` run above). Through `POST /sessions` the sheet took 67.7 s on OpenVINO '
    'against 75.3 s with `JIAOBAN_ENCODER_BACKEND=torch` in the same session (the session section). Two more '
    'changes followed: the stack readers serve their weights column-first (a transposed float32 view had been '
    'converted at every chunk), and the job routes a sheet\'s rows in order of their encoder texts\' length in '
    'chunks of 64, so batches pad little (`benchmarks/bench_job_ahead.py --ahead 1,2 --chunk 32,64`, the job in '
    'process: 55.5 s for 64 rows with 2 in flight against 59.2–62.3 s for the other pairs; the whole sheet in '
    'process 54.9 s, `sample-bundle-207530c-openvino`). Through the API four runs of this code took 62.1–64.4 s: '
    'still above 60 s. What is left beyond the encoder is about 9 s of Python per 2,000 rows (jieba, the '
    'features, the admissibility screen routing every numbered part, BM25), which two cores overlap only partly '
    'with the encoder, and 6–9 s between the job in process and the same job behind the HTTP service, not '
    'explained yet (logging at WARNING changes nothing). Tried without gain: OpenVINO without CPU pinning or '
    'with the throughput hint, eager instead of sdpa attention for the conversion, the job\'s route threads at '
    'a lower priority; earlier, `torch.compile` of the encoder (bfloat16 at 22.5–24.2 against 24.6–24.9 '
    'texts/s eager) and bfloat16 batches of 32–64 (see above).',
    'A smaller encoder was measured too (`benchmarks/bench_distill.py`, section `distill` of '
    '[benchmarks-encoder.md](benchmarks-encoder.md), 2026-12-03, AMD EPYC with AVX2 only): e5-small '
    "keeping 6 of its 12 layers, distilled toward the full model's vectors on 14,254 TipDM texts of the "
    'training fold (`training/distill.py`, 63 min on 2 cores). It encodes 1.84 times as fast (33.2 '
    "against 18.0 texts/s on the sheet's texts), yet even so 2,000 distinct rows would take about 2,000 /"
    ' 33 ≈ 60 s of encoding alone on this CPU; and on the 600 held-out pairs it loses 0.042 MRR@10 dense '
    'on title → body and 0.031 on message → reply (p < 0.001; 0.007 and 0.020 in the hybrid), far beyond '
    'the 0.005 allowed, so it is not offered.',
)


def main() -> int:
    load = json.loads((RESULTS / "load.json").read_text(encoding="utf-8"))["scenarios"]
    profile_file = RESULTS / "sheet_profile.json"
    profile = json.loads(profile_file.read_text(encoding="utf-8")) if profile_file.is_file() else {}
    ceiling_file = RESULTS / "encoder_ceiling.json"
    ceiling = json.loads(ceiling_file.read_text(encoding="utf-8")) if ceiling_file.is_file() else {}
    shipped = "openvino" if "openvino" in load else "default"  # the scenario of the shipped defaults
    default = load.get(shipped) or next(v for k, v in load.items() if k not in SHEET_NOTES)
    best = max(r["texts_per_s"] for runs in ceiling.get("torch", {}).values() for r in runs) if ceiling else None
    fastest = max(([r["texts_per_s"] for runs in ceiling.get(k, {}).values() for r in runs]
                   for k in ("torch_bf16",)), default=[])
    ov_bf16 = ((ceiling.get("openvino") or {}).get("bfloat16") or {}).get("runs") or []
    onnx_runs = (ceiling.get("onnx") or {}).get("runs") or []
    torch_one = min((runs[0]["ms_per_call"] for runs in ceiling.get("torch", {}).values()), default=None)
    onnx_note = ""
    if onnx_runs and torch_one:
        onnx_note = (f"ONNX Runtime gives the same vectors, {onnx_runs[0]['ms_per_call']:.0f} ms for one text against "
                     f"torch's {torch_one:.0f} ms, and at best {max(r['texts_per_s'] for r in onnx_runs)} texts/s "
                     f"against {best}: it would shorten a single route but not lift the ceiling, and it runs "
                     "float32 only, below OpenVINO at either precision, so OpenVINO is the second inference path "
                     "kept. ")
    lines = ["## Load (the HTTP service on loopback)", "",
             f"`benchmarks/bench_load.py` ({default['date']}, {default['machine']['cores']} cores): the service under "
             "uvicorn with the sample bundle (e5-small index), 20 closed-loop clients for 30 s on loopback, 45 % "
             "`POST /route`, 35 % `POST /search`, 20 % `POST /cases` (which routes the new case, without "
             "precedents); then 50 sequential single routes, and a 2,000-row sheet through `/route/upload` "
             "(every row with precedents, repeat check and 并案). Each scenario is one run "
             "(`--scenario NAME`, `--env KEY=VALUE`, `--workers N`).", "", *scenario_rows(load), "",
             f"Targets (the `{shipped}` scenario): " + "; ".join(
                 f"{t['target']}: {t['value']} ({'met' if t['met'] else 'missed'})" for t in default["targets"]),
             "", *sheet_section(load), *profile_section(profile)]
    if ceiling:
        lines += [f"### Why: the encoder's ceiling on this machine (`benchmarks/bench_encoder_ceiling.py`, "
                  f"{ceiling['texts']} routed-item texts, median {ceiling['median_chars']} characters)", "",
                  f"{ceiling['date']}, {ceiling['machine'].get('cpu', '')}. The machines of this workplace differ "
                  "between sessions (an Intel Xeon with AMX encoded 50 texts/s in bfloat16 at batch 16 on "
                  "2026-12-01; an AMD EPYC with AVX512-BF16 and no AMX about 30), so every sheet and load figure "
                  "above is only comparable with those of the same CPU.", "",
                  *ceiling_rows(ceiling), "",
                  f"Every routed item and every search query is encoded once; on these two cores torch embeds "
                  f"at most about {best:.0f} item texts a second in float32 whatever the batching"
                  + (f", {max(fastest):.0f} in bfloat16" if fastest else "")
                  + (f", and OpenVINO, the default backend since 2026-12-08 (`JIAOBAN_ENCODER_BACKEND`, "
                     f"models/openvino_backend.py), {max(r['texts_per_s'] for r in ov_bf16):.0f} in bfloat16 "
                     "with the same vectors (the cosines in its row)" if ov_bf16 else "")
                  + ", so 20 routes/s with a third as many searches beside them is beyond it: the load targets "
                  "miss by that ceiling, not by queueing (micro-batching keeps the encoder busy and the cores "
                  "unshared). " + onnx_note + "Torch's dynamic int8 is faster but loses 0.02 MRR on the public data "
                  "(docs/search-quality.md), "
                  "beyond the 0.005 allowed. " + precision_note() + "What would meet them: more cores (throughput "
                  "scales with cores for the encoder), or a smaller encoder, which the precedent-search work must "
                  "measure first.", "", *"\n\n".join(ENCODER_NOTES).split("\n")]
    writes_file = RESULTS / "writes.json"
    if writes_file.is_file():
        lines += ["", *writes_section(json.loads(writes_file.read_text(encoding="utf-8")))]
    replace_section(DOC, "load", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
