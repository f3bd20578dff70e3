"""Precision and recall of the four reply aids on the labelled set in data/samples/aids_eval/ (docs/reply-aids.md).

    nice -n 10 .venv/bin/python benchmarks/bench_reply_aids.py                       # all four, e5 when present
    nice -n 10 .venv/bin/python benchmarks/bench_reply_aids.py --encoder none        # coverage without vectors
    nice -n 10 .venv/bin/python benchmarks/bench_reply_aids.py --model var/models/versions/<v>   # multi-matter
    nice -n 10 .venv/bin/python benchmarks/bench_reply_aids.py --tipdm ../shared/datasets/tipdm2020c

Coverage is also measured on public TipDM messages and their official replies (read from ``--tipdm``; skipped when
the folder is absent): benchmarks/tipdm_coverage_labels.json holds only ids, character spans and labels.

Thresholds are chosen on the ``dev`` items only and reported on the ``test`` items (for categories: dev = 2024
replies with a model trained on 2021–2023, test = 2025 with a model trained on 2021–2024). Writes
benchmarks/results/reply_aids.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models import admissibility, redaction  # noqa: E402
from models.category_check import CategoryChecker  # noqa: E402
from models.coverage import bigrams, score_matrix  # noqa: E402
from nlp.points import proposal_points, reply_paragraphs  # noqa: E402

EVAL = ROOT / "data" / "samples" / "aids_eval"
RESULTS = ROOT / "benchmarks" / "results" / "reply_aids.json"
DOC = ROOT / "docs" / "reply-aids.md"
BEGIN, END = "<!-- reply-aids:figures -->", "<!-- /reply-aids:figures -->"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (EVAL / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]


def pr(tp: int, fp: int, fn: int) -> dict:
    return {"precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None, "tp": tp, "fp": fp, "fn": fn}


# -- coverage ------------------------------------------------------------------------------------------------------
def _match(labelled: str, found: list) -> int | None:
    """The index of the split point that is the labelled point (most shared bigrams)."""
    want = bigrams(labelled)
    best = max(range(len(found)), key=lambda i: len(want & bigrams(found[i].text)), default=None)
    return best if best is not None and want & bigrams(found[best].text) else None


def coverage_matrices(items: list[dict], embedder) -> list[tuple]:
    """Per item: its split points, reply paragraphs and (lexical, semantic) score matrices, computed once."""
    out = []
    for item in items:
        points, paragraphs = proposal_points(item["proposal"]), reply_paragraphs(item["reply"])
        out.append((points, paragraphs, *score_matrix([p.text for p in points], [q.text for q in paragraphs],
                                                      embedder)))
    return out


def coverage_scores(items: list[dict], matrices: list[tuple], weight: float) -> tuple[list[float], list[bool], dict]:
    scores, truth, split_stats = [], [], {"labelled": 0, "found": 0, "matched": 0}
    for item, (points, paragraphs, lex, sem) in zip(items, matrices):
        mixed = lex if sem is None or weight == 0 else (1 - weight) * lex + weight * sem
        split_stats["labelled"] += len(item["points"])
        split_stats["found"] += len(points)
        for label in item["points"]:
            i = _match(label["text"], points)
            truth.append(bool(label["answered"]))
            if i is None:  # a point the splitter missed counts as unanswered by the aid
                scores.append(0.0)
                continue
            split_stats["matched"] += 1
            scores.append(float(mixed[i].max()) if paragraphs else 0.0)
    return scores, truth, split_stats


def unanswered_pr(scores: list[float], truth: list[bool], threshold: float) -> dict:
    """The aid flags a point as unanswered when its score is below the threshold; positives: unanswered points."""
    flagged = [s < threshold for s in scores]
    tp = sum(f and not t for f, t in zip(flagged, truth))
    fp = sum(f and t for f, t in zip(flagged, truth))
    fn = sum(not f and not t for f, t in zip(flagged, truth))
    answered = pr(sum(not f and t for f, t in zip(flagged, truth)), fn, fp)
    return {"unanswered": pr(tp, fp, fn), "answered": answered}


def choose_threshold(scores: list[float], truth: list[bool]) -> float:
    """The dev threshold with the best F1 on unanswered points among those with precision >= 0.85."""
    best, best_key = 0.3, (-1.0, -1.0)
    for t in np.arange(0.05, 0.8, 0.01):
        r = unanswered_pr(scores, truth, float(t))["unanswered"]
        p, rec = r["precision"] or 0, r["recall"] or 0
        f1 = 2 * p * rec / (p + rec) if p + rec else 0
        key = (p >= 0.85, f1)
        if key > best_key:
            best, best_key = round(float(t), 2), key
    return best


def tipdm_items(folder: Path) -> list[dict] | None:
    """The labelled TipDM pairs in memory (texts from the data set, labels from tipdm_coverage_labels.json)."""
    path = folder / "messages_with_replies.csv"
    if not path.is_file():
        return None
    labels = json.loads((ROOT / "benchmarks" / "tipdm_coverage_labels.json").read_text(encoding="utf-8"))["labels"]
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh) if r["id"] in labels}
    return [{"proposal": rows[i]["body"], "reply": rows[i]["reply"],
             "points": [{"text": rows[i]["body"][s:e], "answered": a} for s, e, a in spans]}
            for i, spans in labels.items() if i in rows]


def bench_coverage(embedder, tipdm: list[dict] | None = None) -> dict:
    items = load("coverage")
    dev = [i for i in items if i["split"] == "dev"]
    test = [i for i in items if i["split"] == "test"]
    out: dict = {"pairs": len(items), "points": sum(len(i["points"]) for i in items),
                 "dev_pairs": len(dev), "test_pairs": len(test), "modes": {}}
    m_dev, m_test = coverage_matrices(dev, embedder), coverage_matrices(test, embedder)
    m_tipdm = coverage_matrices(tipdm, embedder) if tipdm else None
    if tipdm:
        out["tipdm_pairs"], out["tipdm_points"] = len(tipdm), sum(len(i["points"]) for i in tipdm)
    modes = [("lexical", 0.0)]
    if embedder is not None:
        modes += [(f"lexical+semantic w={w}", w) for w in (0.3, 0.5, 0.7, 1.0)]
    for name, w in modes:
        s_dev, t_dev, _ = coverage_scores(dev, m_dev, w)
        threshold = choose_threshold(s_dev, t_dev)
        s_test, t_test, split = coverage_scores(test, m_test, w)
        out["modes"][name] = {"weight": w, "threshold": threshold, "dev": unanswered_pr(s_dev, t_dev, threshold),
                              "test": unanswered_pr(s_test, t_test, threshold), "test_split": split}
        if tipdm and m_tipdm is not None:
            s_t, t_t, split_t = coverage_scores(tipdm, m_tipdm, w)
            out["modes"][name]["tipdm"] = {**unanswered_pr(s_t, t_t, threshold), "split": split_t}
    # the semantic weight too is chosen on dev (best F1 on unanswered points among those with precision >= 0.85)
    out["chosen_on_dev"] = max(out["modes"], key=lambda m: _key(out["modes"][m]["dev"]["unanswered"]))
    return out


def _key(r: dict) -> tuple:
    p, rec = r["precision"] or 0, r["recall"] or 0
    return (p >= 0.85, 2 * p * rec / (p + rec) if p + rec else 0)


# -- categories ----------------------------------------------------------------------------------------------------
def bench_categories() -> dict:
    with open(ROOT / "data" / "samples" / "closed_cases.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    items = load("categories")
    out: dict = {"replies": len(items), "wrong": sum(i["given"] != i["true"] for i in items)}
    for split, year in (("dev", "2024"), ("test", "2025")):
        train = [r for r in rows if r["年度"] < year]
        checker = CategoryChecker().fit([r["答复内容"] for r in train], [r["答复类别"] for r in train])
        part = [i for i in items if i["split"] == split]
        verdicts = [checker.check(i["reply"], i["given"]) for i in part]
        wrong = [i["given"] != i["true"] for i in part]
        flags = [v.flagged for v in verdicts]
        cue_only = [bool(v.cues) and i["given"] not in v.cues for v, i in zip(verdicts, part)]
        out[split] = {"train_replies": checker.n_train_, "items": len(part), "flag_below": checker.flag_below,
                      "model": pr(*_counts(flags, wrong)), "cues_only": pr(*_counts(cue_only, wrong)),
                      "predicted_accuracy": round(float(np.mean([v.predicted == i["true"]
                                                                 for v, i in zip(verdicts, part)])), 3)}
    return out


def _counts(flags: list[bool], truth: list[bool]) -> tuple[int, int, int]:
    return (sum(f and t for f, t in zip(flags, truth)), sum(f and not t for f, t in zip(flags, truth)),
            sum(t and not f for f, t in zip(flags, truth)))


# -- admissibility -------------------------------------------------------------------------------------------------
def bench_admissibility(model_dir: str | None) -> dict:
    items = load("admissibility")
    out: dict = {"items": len(items), "multi_matter": sum(i["multi_matter"] for i in items),
                 "not_fileable": sum(bool(i["ground"]) for i in items)}
    for split in ("dev", "test"):
        part = [i for i in items if i["split"] == split]
        flags = [admissibility.grounds_flags(i["title"], i["body"], admissibility.DEFAULT_GROUNDS) for i in part]
        hit = [bool(f) for f in flags]
        right = [bool(i["ground"]) and i["ground"] in {x.code for x in f} for i, f in zip(part, flags)]
        out[split] = {"items": len(part), "grounds": pr(sum(right), sum(h and not i["ground"] for h, i in
                                                                      zip(hit, part)),
                                                         sum(bool(i["ground"]) and not r for i, r in zip(part, right)))}
    if model_dir:
        from models.bundle import load_bundle

        model = load_bundle(model_dir).model
        labels = list(model.classes_)

        def proba(texts):
            return model.predict_proba([("", t) for t in texts])

        grid = [(o, c) for o in (0.01, 0.02, 0.05, 0.1, 0.2) for c in (0.3, 0.4, 0.5)]

        def run(split: str, overlap: float, confidence: float) -> dict:
            part = [i for i in items if i["split"] == split]
            flagged = [admissibility.matter_flag(i["body"], proba, labels, overlap=overlap,
                                                 confidence=confidence) is not None for i in part]
            return pr(*_counts(flagged, [i["multi_matter"] for i in part]))

        best = max(grid, key=lambda g: _key(run("dev", *g)) + (-g[0],))
        out["multi_matter_chosen_on_dev"] = {"overlap": best[0], "confidence": best[1],
                                             "defaults": [admissibility.MATTER_OVERLAP, admissibility.MIN_CONFIDENCE]}
        for split in ("dev", "test"):
            out[split]["multi_matter"] = run(split, *best)
        out["model"] = Path(model_dir).name
    return out


# -- redaction -----------------------------------------------------------------------------------------------------
def bench_redaction() -> dict:
    items = load("redaction")
    out: dict = {"texts": len(items), "with_personal_data": sum(bool(i["spans"]) for i in items),
                 "spans": sum(len(i["spans"]) for i in items)}
    for split in ("dev", "test"):
        per_kind: dict[str, list[int]] = {}
        fp_by_kind: dict[str, int] = {}
        for item in (i for i in items if i["split"] == split):
            found = redaction.find_personal_data(item["text"])
            for span in item["spans"]:
                ok = any(f.kind == span["kind"] and f.start < span["end"] and span["start"] < f.end for f in found)
                per_kind.setdefault(span["kind"], [0, 0])[0 if ok else 1] += 1
            for f in found:
                if not any(f.kind == s["kind"] and f.start < s["end"] and s["start"] < f.end for s in item["spans"]):
                    fp_by_kind[f.kind] = fp_by_kind.get(f.kind, 0) + 1
        out[split] = {k: pr(v[0], fp_by_kind.get(k, 0), v[1]) for k, v in sorted(per_kind.items())}
        out[split]["false_positives"] = fp_by_kind
    return out


def _f(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def _pr(r: dict) -> str:
    return f"{_f(r['precision'])} | {_f(r['recall'])} | {r['tp']} / {r['fp']} / {r['fn']}"


def figures_markdown(r: dict) -> str:
    """The figures section of docs/reply-aids.md, from one run's results."""
    cov, cat, adm, red = r["coverage"], r["categories"], r["admissibility"], r["redaction"]
    lines = [f"`{r['command']}` ({r['seconds']} s; encoder: {r['encoder'] or 'none'})"
             + "".join(f"; {part} since rerun with `{cmd}`" for part, cmd in r.get("reruns", {}).items()) + ".", "",
             f"**Coverage** ({cov['pairs']} pairs, {cov['points']} points; dev {cov['dev_pairs']} / test "
             f"{cov['test_pairs']} pairs, split by topic). Positive class: an *unanswered* point (what the aid flags). "
             f"Mode chosen on dev: **{cov['chosen_on_dev']}**.", "",
             "| mode | threshold (dev) | dev P | dev R | test P | test R | test tp / fp / fn | TipDM P | TipDM R |"
             " TipDM tp / fp / fn |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in cov["modes"].items():
        d, t = m["dev"]["unanswered"], m["test"]["unanswered"]
        tip = m.get("tipdm", {}).get("unanswered")
        tips = _pr(tip) if tip else "– | – | –"
        lines.append(f"| {name} | {m['threshold']} | {_f(d['precision'])} | {_f(d['recall'])} | {_pr(t)} | {tips} |")
    if "tipdm_pairs" in cov:
        lines += ["", f"TipDM: {cov['tipdm_pairs']} public messages with their official replies, "
                  f"{cov['tipdm_points']} points labelled by reading (test only; thresholds from the synthetic dev)."]
    lines += ["", f"**A/B/C consistency** ({cat['replies']} replies, {cat['wrong']} with a wrong category). "
              "dev: 2024 replies, model fitted on 2021–2023; test: 2025 replies, model fitted on 2021–2024. "
              "Positive class: a wrong category (flagged).", "",
              "| part | fitted on | model P | model R | tp / fp / fn | cues only P | cues only R | tp / fp / fn |"
              " predicted = true category |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for part in ("dev", "test"):
        c = cat[part]
        lines.append(f"| {part} | {c['train_replies']} | {_pr(c['model'])} | {_pr(c['cues_only'])} | "
                     f"{_f(c['predicted_accuracy'])} |")
    lines += ["", f"**Admissibility** ({adm['items']} items: {adm['multi_matter']} multi-matter, "
              f"{adm['not_fileable']} not fileable, the rest ordinary or near-miss items).", "",
              "| part | items | grounds P | grounds R | tp / fp / fn | multi-matter P | multi-matter R |"
              " tp / fp / fn |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for part in ("dev", "test"):
        a = adm[part]
        mm = _pr(a["multi_matter"]) if "multi_matter" in a else "– | – | –"
        lines.append(f"| {part} | {a['items']} | {_pr(a['grounds'])} | {mm} |")
    if "multi_matter_chosen_on_dev" in adm:
        ch = adm["multi_matter_chosen_on_dev"]
        lines += ["", f"Multi-matter thresholds chosen on dev: overlap < {ch['overlap']}, confidence ≥ "
                  f"{ch['confidence']} (model `{adm['model']}`)."]
    lines += ["", f"**Redaction** ({red['texts']} texts, {red['with_personal_data']} with personal data, "
              f"{red['spans']} marked spans). A span counts as found when a finding of the same kind overlaps it.", "",
              "| kind | dev P | dev R | dev tp / fp / fn | test P | test R | test tp / fp / fn |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    kinds = sorted({k for part in ("dev", "test") for k in red[part] if k != "false_positives"})
    for k in kinds:
        cells = [(_pr(red[p][k]) if k in red[p] else "– | – | –") for p in ("dev", "test")]
        lines.append(f"| {k} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def write_doc(result: dict) -> None:
    if not DOC.is_file():
        return
    text = DOC.read_text(encoding="utf-8")
    start, stop = text.find(BEGIN), text.find(END)
    if start < 0 or stop < 0:
        return
    DOC.write_text(text[:start + len(BEGIN)] + "\n" + figures_markdown(result) + "\n" + text[stop:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoder", default=str(ROOT / "var" / "encoders" / "multilingual-e5-small"),
                    help="sentence encoder directory for the semantic part of coverage, or 'none'")
    ap.add_argument("--tipdm", default=str(ROOT.parent / "shared" / "datasets" / "tipdm2020c"),
                    help="TipDM 2020 C folder for the coverage check on public replies (skipped when absent)")
    ap.add_argument("--model", default=None, help="model version directory for the multi-matter check "
                                                  "(default: the active one under var/models, if any)")
    ap.add_argument("--only", choices=["categories", "redaction"],
                    help="rerun one of the fast aids, keeping the other figures of benchmarks/results/reply_aids.json")
    ap.add_argument("--doc-only", action="store_true",
                    help="only rewrite the figures of docs/reply-aids.md from benchmarks/results/reply_aids.json")
    args = ap.parse_args(argv)
    if args.doc_only:
        write_doc(json.loads(RESULTS.read_text(encoding="utf-8")))
        return 0
    started = time.time()
    command = "python benchmarks/bench_reply_aids.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.only in ("categories", "redaction"):  # the fast parts: no encoder or model needed
        result = json.loads(RESULTS.read_text(encoding="utf-8"))
        result[args.only] = bench_categories() if args.only == "categories" else bench_redaction()
        result.setdefault("reruns", {})[args.only] = f"{command.strip()} ({round(time.time() - started, 1)} s)"
        RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        write_doc(result)
        return 0
    embedder = None
    if args.encoder != "none" and Path(args.encoder).is_dir():
        from models.embeddings import load_embedder

        embedder = load_embedder(args.encoder)
    model_dir = args.model
    active = ROOT / "var" / "models" / "ACTIVE"
    if model_dir is None and active.is_file():
        model_dir = str(ROOT / "var" / "models" / "versions" / active.read_text().strip())
    result = {"command": command.strip(),
              "encoder": Path(args.encoder).name if embedder is not None else None,
              "coverage": bench_coverage(embedder, tipdm_items(Path(args.tipdm))), "categories": bench_categories(),
              "admissibility": bench_admissibility(model_dir), "redaction": bench_redaction()}
    result["seconds"] = round(time.time() - started, 1)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_doc(result)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
