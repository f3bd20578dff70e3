"""Does a shallower encoder distilled from e5-small keep its quality on unseen TipDM pairs, at what speed?

Usage: .venv/bin/python benchmarks/bench_distill.py [--data DIR] [--encoder DIR] [--keep 0,2,4,7,9,11] [--epochs 2]
       .venv/bin/python benchmarks/bench_distill.py --doc-only    # only rewrite the doc from the saved results

The TipDM 2020 C messages with replies are split into grouped folds as ``bench_finetune_tipdm.py`` splits them. The
student (``training.distill``: the teacher with only the ``--keep`` layers, trained toward the teacher's vectors) is
distilled on the texts a service would embed for the training fold (each row's item lead and reply opening as
passages, its title and message as queries, exactly as ``bench_precedents.py``'s index and queries encode them) and,
with ``--unlabeled``, the item leads and titles of the unlabelled TipDM messages whose title subject or body opening
matches no held-out row. No held-out text is ever trained on. ``--n-test`` held-out pairs are then ranked by the
teacher and the student (``lead`` index, dense alone and the hybrid with its weight by 10-fold CV): (a) title → own
body, (b) message → own reply, MRR@10 with bootstrap intervals and a paired bootstrap p of student − teacher. Speed:
texts per second on the sample open batch's distinct routed-item texts (what a session sheet encodes), both encoders
in this process, alternating, best of ``--speed-rounds``. The rule (as for int8 and bfloat16, docs/benchmarks.md):
a faster encoder is offered only if no task loses more than 0.005 MRR@10. Writes benchmarks/results/distill.json and
section ``distill`` of docs/benchmarks-encoder.md. Skipped (exit 0) when the data folder is absent.
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
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
)
from bench_finetune_tipdm import (
    CSV_NAME,
    DEFAULT_DATA,
    PUNCT,
    add_output_options,
    doc_only_or_skip,
    fmt_ci,
    fmt_diff,
    group_ids,
    grouped_folds,
    ranked_rr,
    read_rows,
)

logger = logging.getLogger("bench_distill")

DOC = ROOT / "docs" / "benchmarks-encoder.md"
SECTION = "distill"
TASKS = {"a": ("title → own body", "items"), "b": ("message → own official reply", "replies")}
MAX_LOSS = 0.005  # the most MRR@10 a faster encoder may lose on any task (the int8 / bfloat16 rule)
UNLABELED = ("unlabeled_messages_a.csv", "unlabeled_messages_b.csv")


class Recorder:
    """An embedder that records what it is asked to encode (kind ``p`` passage / ``q`` query, text)."""

    def __init__(self, inner):
        self.inner, self.seen = inner, []
        self.name, self.dim = inner.name, inner.dim

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def encode_passages(self, texts, *, show_progress: bool = False) -> np.ndarray:
        self.seen += [("p", t) for t in texts]
        return self.inner.encode_passages(texts)

    def encode_queries(self, texts) -> np.ndarray:
        self.seen += [("q", t) for t in texts]
        return self.inner.encode_queries(texts)


def row_keys(title: str, body: str) -> set[str]:
    from nlp.normalize import normalize, title_subject

    return {"t:" + PUNCT.sub("", title_subject(title) or normalize(title)), "b:" + PUNCT.sub("", normalize(body))[:60]}


def unlabeled_rows(data: Path, held_out: set[str]) -> list[tuple[str, str, str]]:
    out = []
    for name in UNLABELED:
        if not (data / name).is_file():
            continue
        with open(data / name, encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                title, body = r.get("title") or "", r.get("body") or ""
                if title and body and not row_keys(title, body) & held_out:
                    out.append((title, body, ""))
    return out


def training_texts(train_rows, extra_rows, teacher) -> list[tuple[str, str]]:
    """(kind, text) of everything an index over the training rows and its queries encode, without repeats."""
    from bench_precedents import build, reciprocal_rank_table

    recorder = Recorder(teacher)
    index = build(train_rows, recorder, "lead")
    for _, target in TASKS.values():
        reciprocal_rank_table(index, train_rows, target)
    if extra_rows:
        reciprocal_rank_table(build(extra_rows, recorder, "lead"), extra_rows, "items")
    return list(dict.fromkeys(recorder.seen))


def speed(encoders: dict, texts: list[str], rounds: int) -> dict[str, float]:
    """Texts per second of each encoder on ``texts``, encoders alternating, best round."""
    best = {name: 0.0 for name in encoders}
    for _ in range(rounds):
        for name, enc in encoders.items():
            started = time.perf_counter()
            enc.encode_passages(texts)
            best[name] = max(best[name], len(texts) / (time.perf_counter() - started))
    return {name: round(v, 1) for name, v in best.items()}


def sheet_texts(limit: int) -> list[str]:
    """The distinct texts a sheet of the sample open batch encodes (routed items: title subject + body lead)."""
    from models.passages import item_text

    with open(ROOT / "data" / "samples" / "open_batch.csv", encoding="utf-8-sig", newline="") as fh:
        texts = [item_text(r["标题"], r["内容"])[:200] for r in csv.DictReader(fh)]
    return list(dict.fromkeys(texts))[:limit]


def run(args) -> dict:
    from bench_finetune_tipdm import summarise
    from bench_precedents import CachedEmbedder

    from models.embeddings import SentenceTransformerEmbedder
    from training.distill import DistillParams, distill

    rows = read_rows(args.data)
    groups = group_ids(rows)
    folds = grouped_folds(groups, 2, args.seed)
    k = args.fold
    test = [rows[i] for i in random.Random(args.seed + k).sample(folds[k], min(args.n_test, len(folds[k])))]
    train_rows = [rows[i] for j, f in enumerate(folds) if j != k for i in f]
    held_out = set().union(*(row_keys(rows[i][0], rows[i][1]) for i in folds[k]))
    extra = unlabeled_rows(args.data, held_out) if args.unlabeled else []
    teacher = CachedEmbedder(SentenceTransformerEmbedder(args.encoder, num_threads=args.threads), Path("/tmp"))
    seen = training_texts(train_rows, extra, teacher)
    prompts = {"p": teacher.inner.passage_prompt, "q": teacher.inner.query_prompt}
    texts = [(prompts[kind], text) for kind, text in seen]
    targets = teacher_targets(teacher, seen)
    teacher.save()
    logger.info("fold %d: %d training rows, %d unlabelled rows, %d texts to distil on", k, len(train_rows),
                len(extra), len(texts))
    params = DistillParams(keep=tuple(args.keep), epochs=args.epochs, learning_rate=args.lr, seed=args.seed)
    started = time.perf_counter()
    student, history = distill(args.encoder, texts, targets, params,
                               lambda d, n, loss, s: d % 50 == 0 and logger.info("step %d/%d, loss %.4f, %.0f s",
                                                                                 d, n, loss, s))
    train_s = time.perf_counter() - started
    workdir = Path(tempfile.mkdtemp(prefix="jiaoban-distill-"))
    try:
        student.save(str(workdir / "student"))
        del student
        tuned = SentenceTransformerEmbedder(workdir / "student", num_threads=args.threads)
        before = ranked_rr(test, teacher, args.seed)
        after = ranked_rr(test, tuned, args.seed)
        teacher.save()
        rates = speed({"teacher": teacher.inner, "student": tuned}, sheet_texts(args.speed_texts), args.speed_rounds)
        probe = [body[:200] for _, body, _ in test[:200]]
        cosine = float(np.mean(np.sum(teacher.inner.encode_passages(probe) * tuned.encode_passages(probe), axis=1)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = {"fold": k, "rows": len(rows), "train_rows": len(train_rows), "unlabeled_rows": len(extra),
              "texts": len(texts), "scored": len(test), "params": params.__dict__ | {"keep": list(params.keep)},
              "train_s": round(train_s, 1), "loss_first": history[:5], "loss_last": history[-5:],
              "speed_texts_per_s": rates, "speed_texts": args.speed_texts, "heldout_cosine": round(cosine, 4),
              "tasks": {t: {system: summarise(before[t][system], after[t][system], args.seed)
                            for system in ("dense", "hybrid")} for t in TASKS}}
    result["adopted"] = all(result["tasks"][t][s]["diff"]["diff"] >= -MAX_LOSS for t in TASKS for s in ("dense",
                                                                                                     "hybrid"))
    return result


def teacher_targets(teacher, seen) -> np.ndarray:
    """The teacher's vector of each (kind, text), in order (cached: the recorder already encoded them all)."""
    passages = [t for kind, t in seen if kind == "p"]
    queries = [t for kind, t in seen if kind == "q"]
    p = dict(zip(passages, teacher.encode_passages(passages))) if passages else {}
    q = dict(zip(queries, teacher.encode_queries(queries))) if queries else {}
    return np.vstack([(p if kind == "p" else q)[t] for kind, t in seen]).astype(np.float32)


def markdown(r: dict) -> str:
    res = r["result"]
    p = res["params"]
    rate = res["speed_texts_per_s"]
    lines = ["## A distilled, shallower encoder (issue #10's sheet, issue #13's long queries)", "",
             *environment_lines(r), "",
             f"Student: multilingual-e5-small keeping layers {p['keep']} of 12, trained toward the teacher's vectors "
             f"(squared distance of unit vectors; {p['epochs']} epoch(s), batch {p['batch_size']}, learning rate "
             f"{p['learning_rate']} with {p['warmup']:.0%} warm-up then linear decay, {p['max_seq_length']}-token "
             f"window, word embeddings frozen; `training/distill.py`) on {res['texts']:,} texts: what an index over "
             f"the {res['train_rows']:,} TipDM training-fold rows and their queries encode, plus "
             f"{res['unlabeled_rows']:,} unlabelled TipDM messages that share no title subject or body opening with "
             f"the held-out fold. Training took {res['train_s'] / 60:.1f} min. Scored on {res['scored']} held-out "
             f"pairs of fold {res['fold']} (`lead` index, as `bench_precedents.py`); mean cosine student–teacher on "
             f"held-out bodies {res['heldout_cosine']:.3f}. Intervals: 95 % bootstrap over queries; p: paired "
             "bootstrap of student − teacher.", "",
             f"Speed on {res['speed_texts']} distinct routed-item texts of the sample open batch (what a sheet "
             f"encodes): teacher {rate['teacher']} texts/s, student {rate['student']} texts/s "
             f"(× {rate['student'] / rate['teacher']:.2f}).", ""]
    rows = []
    for t, (name, _) in TASKS.items():
        for system in ("dense", "hybrid"):
            s = res["tasks"][t][system]
            rows.append([name, system, fmt_ci(s["before"]), fmt_ci(s["after"]), fmt_diff(s["diff"]),
                         f"{s['before']['recall10']:.3f} → {s['after']['recall10']:.3f}"])
    lines += table(["task", "ranking", "MRR@10 teacher", "student", "student − teacher", "recall@10"], rows)
    worst = min(res["tasks"][t][s]["diff"]["diff"] for t in TASKS for s in ("dense", "hybrid"))
    verdict = "Adopted: no task loses more than " if res["adopted"] else "Not adopted: a task loses more than "
    lines += ["", verdict + f"{MAX_LOSS} MRR@10 (largest loss {max(0.0, -worst):.3f}), the rule int8 and bfloat16 "
              "were judged by.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"folder holding {CSV_NAME} (skipped if absent)")
    ap.add_argument("--encoder", type=Path, default=DEFAULT_ENCODER)
    ap.add_argument("--keep", type=lambda s: [int(x) for x in s.split(",")], default=[0, 2, 4, 7, 9, 11],
                    help="teacher layers the student keeps, comma-separated")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--fold", type=int, default=0, help="held-out fold of the 2 grouped folds")
    ap.add_argument("--n-test", type=int, default=600)
    ap.add_argument("--unlabeled", action=argparse.BooleanOptionalAction, default=True,
                    help="also distil on the unlabelled TipDM messages (none of them near a held-out row)")
    ap.add_argument("--speed-texts", type=int, default=160)
    ap.add_argument("--speed-rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    add_output_options(ap, RESULTS / "distill.json", DOC)
    args = ap.parse_args(argv)
    setup_logging()
    if (done := doc_only_or_skip(args, SECTION, markdown)) is not None:
        return done
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    report = report_header(("torch", "sentence-transformers", "transformers"), quick=False)
    report["result"] = run(args)
    report["runtime_s"] = round(time.perf_counter() - started, 1)
    from _common import write_results

    write_results("distill", report, args.json)
    replace_section(args.doc, SECTION, markdown(report))
    print(markdown(report).splitlines()[-2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
