"""Candidate scores for reply coverage on the labelled TipDM points, compared on the declared dev/test split.

    nice -n 10 .venv/bin/python benchmarks/coverage_ideas.py --tipdm ../shared/datasets/tipdm2020c

Each labelled point (benchmarks/tipdm_coverage_labels.json: a span of a message body, answered or not) is scored
against the official reply by several candidate scores; a point scoring below a threshold is flagged unanswered.
The candidates:

- ``current``: what benchmarks/bench_reply_aids.py measures: the body split by ``nlp.points.proposal_points``, the
  labelled point matched to a split point, its best ``models.coverage.lexical`` over ``reply_paragraphs``;
- ``lexical_paragraph``: the same score for the labelled span itself (the splitter left out);
- ``lexical_sentence`` / ``lexical_reply``: the share of the point's content bigrams found in one reply sentence /
  anywhere in the reply;
- ``idf_bigram``: the IDF-weighted share of the point's bigrams found in the reply (IDF over all replies of the data
  set), best paragraph and whole reply;
- ``bm25``: BM25 of the point's content words (jieba, stopwords removed) against the reply's sentences, best
  sentence, divided by the point's best possible score;
- ``keyterm``: the share (plain and IDF-weighted) of the point's content words found anywhere in the reply;
- ``e5_sentence`` / ``e5_paragraph``: the cosine of the point (query) and the best reply sentence / paragraph
  (passage) with the e5 encoder, when ``--encoder`` is a directory;
- ``logistic``: a logistic regression over these features, fitted on dev (its dev scores are 5-fold
  cross-validated predictions; test is scored by the model fitted on all of dev).

For each candidate the threshold is chosen on dev only: the best F1 on unanswered points among thresholds with dev
precision >= 0.85, else the best precision among those with dev recall >= 0.7; it is then applied to test. The
split is the one the labels file declares: dev when int(sha1(id), 16) is even. Writes
benchmarks/results/coverage_ideas.json. Skipped, with a message, when the data set folder is absent.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models.coverage import bigrams, lexical  # noqa: E402
from nlp.points import proposal_points, reply_paragraphs, sentences  # noqa: E402

LABELS = ROOT / "benchmarks" / "tipdm_coverage_labels.json"
RESULTS = ROOT / "benchmarks" / "results" / "coverage_ideas.json"
MIN_PRECISION, MIN_RECALL = 0.85, 0.7


def split_of(message_id: str) -> str:
    return "dev" if int(hashlib.sha1(message_id.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "test"


def read_rows(folder: Path) -> dict[str, dict] | None:
    path = folder / "messages_with_replies.csv"
    if not path.is_file():
        return None
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8") as fh:
        return {r["id"]: r for r in csv.DictReader(fh)}


# -- scores ----------------------------------------------------------------------------------------------------------
class Idf:
    def __init__(self, docs: list[set[str]]):
        df = Counter(g for d in docs for g in d)
        self.n = len(docs)
        self.df = df

    def __call__(self, term: str) -> float:
        return math.log((self.n + 1) / (self.df.get(term, 0) + 1)) + 1.0


def weighted_share(want: set[str] | list[str], have: set[str], idf: Idf) -> float:
    want = set(want)
    total = sum(idf(g) for g in want)
    return sum(idf(g) for g in want if g in have) / total if total else 0.0


def bm25(query: list[str], sents: list[list[str]], idf: Idf, avg_len: float, k1: float = 1.2, b: float = 0.75
         ) -> float:
    """The best sentence's BM25 for the query's content words, over the query's own best possible score."""
    terms = set(query)
    if not terms or not sents:
        return 0.0
    ceiling = sum(idf(t) * (k1 + 1) for t in terms)
    best = 0.0
    for words in sents:
        tf = Counter(words)
        norm = k1 * (1 - b + b * len(words) / avg_len)
        best = max(best, sum(idf(t) * tf[t] * (k1 + 1) / (tf[t] + norm) for t in terms if t in tf))
    return best / ceiling


def _current_score(body: str, point: str, paragraphs: list[str]) -> float:
    """bench_reply_aids.py's score: the labelled point matched to a split point (most shared bigrams)."""
    found = proposal_points(body)
    want = bigrams(point)
    if not found or not paragraphs:
        return 0.0
    i = max(range(len(found)), key=lambda k: len(want & bigrams(found[k].text)))
    if not want & bigrams(found[i].text):
        return 0.0
    return max(lexical(found[i].text, q) for q in paragraphs)


def features(items: list[dict], rows: dict[str, dict], seg, embedder) -> tuple[list[str], np.ndarray]:
    """One row per labelled point, one column per candidate score."""
    replies = [r["reply"] for r in rows.values()]
    idf_bi = Idf([bigrams(r) for r in replies])
    reply_words = [seg.tokenize(r) for r in replies[:3000]]
    idf_w = Idf([set(w) for w in reply_words])
    sent_lens = [len(seg.tokenize(s.text)) for r in replies[:400] for s in sentences(r)]
    avg_len = max(1.0, float(np.mean(sent_lens))) if sent_lens else 10.0
    names = ["current", "lexical_paragraph", "lexical_sentence", "lexical_reply", "idf_bigram_paragraph",
             "idf_bigram_reply", "bm25_sentence", "keyterm", "keyterm_idf"]
    if embedder is not None:
        names += ["e5_sentence", "e5_paragraph"]
    out = []
    for item in items:
        body, reply = item["body"], item["reply"]
        paragraphs = [q.text for q in reply_paragraphs(reply)] or [reply]
        sents = [s.text for q in paragraphs for s in sentences(q)] or paragraphs
        sent_words = [seg.tokenize(s) for s in sents]
        reply_bi = bigrams(reply)
        para_bi = [bigrams(q) for q in paragraphs]
        reply_w = set(seg.tokenize(reply))
        if embedder is not None:
            texts = [p["text"] for p in item["points"]]
            qv = np.asarray(embedder.encode_queries(texts))
            sv = np.asarray(embedder.encode_passages(sents))
            pv = np.asarray(embedder.encode_passages(paragraphs))
        for k, p in enumerate(item["points"]):
            text = p["text"]
            want = bigrams(text)
            words = seg.tokenize(text)
            row = [
                _current_score(body, text, paragraphs),
                max(lexical(text, q) for q in paragraphs),
                max(lexical(text, s) for s in sents),
                len(want & reply_bi) / len(want) if want else 0.0,
                max(weighted_share(want, g, idf_bi) for g in para_bi),
                weighted_share(want, reply_bi, idf_bi),
                bm25(words, sent_words, idf_w, avg_len),
                len(set(words) & reply_w) / len(set(words)) if words else 0.0,
                weighted_share(words, reply_w, idf_w),
            ]
            if embedder is not None:
                row += [float((qv[k] @ sv.T).max()), float((qv[k] @ pv.T).max())]
            out.append(row)
    return names, np.array(out, dtype=float)


def with_context(items: list[dict], names: list[str], x: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Scores relative to the message's other points (a reply answers the main ask; a point far below its
    siblings is the one it skips), the point's position, and the reply's length."""
    extra, row = [], 0
    base = [n for n in ("lexical_reply", "idf_bigram_reply", "e5_sentence") if n in names]
    for item in items:
        n = len(item["points"])
        block = x[row:row + n]
        for k in range(n):
            rel = [block[k, names.index(b)] - block[:, names.index(b)].max() for b in base]
            extra.append(rel + [k / (n - 1) if n > 1 else 0.0, math.log(len(item["reply"]) + 1)])
        row += n
    return names + [f"{b}_minus_best_sibling" for b in base] + ["position", "log_reply_chars"], \
        np.hstack([x, np.array(extra)])


# -- thresholds ------------------------------------------------------------------------------------------------------
def pr_at(scores: np.ndarray, answered: np.ndarray, threshold: float) -> dict:
    """Flag a point unanswered when its score is below the threshold; positives are the unanswered points."""
    flagged = scores < threshold
    tp = int((flagged & ~answered).sum())
    fp = int((flagged & answered).sum())
    fn = int((~flagged & ~answered).sum())
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = 2 * p * r / (p + r) if p and r else 0.0
    return {"precision": None if p is None else round(p, 3), "recall": None if r is None else round(r, 3),
            "f1": round(f1, 3), "tp": tp, "fp": fp, "fn": fn}


def choose(scores: np.ndarray, answered: np.ndarray) -> tuple[float, str]:
    """The dev threshold: best F1 with precision >= 0.85, else best precision with recall >= 0.7."""
    values = np.unique(scores)
    cands = [float(v) + 1e-9 for v in values]  # flag everything up to and including v
    rows = [(t, pr_at(scores, answered, t)) for t in cands]
    ok = [(r["f1"], r["recall"] or 0, t) for t, r in rows if (r["precision"] or 0) >= MIN_PRECISION]
    if ok:
        return max(ok)[2], f"best F1 with dev precision >= {MIN_PRECISION}"
    ok = [((r["precision"] or 0), r["recall"] or 0, t) for t, r in rows if (r["recall"] or 0) >= MIN_RECALL]
    if ok:
        return max(ok)[2], (f"no threshold reaches dev precision {MIN_PRECISION}: "
                            f"best precision at recall >= {MIN_RECALL}")
    return float(np.median(scores)), "fallback: median"


def ceiling(scores: np.ndarray, answered: np.ndarray) -> dict | None:
    """An upper bound, not a result: the best precision at recall >= 0.7 with the threshold picked on these points."""
    rows = [pr_at(scores, answered, float(v) + 1e-9) for v in np.unique(scores)]
    ok = [r for r in rows if (r["recall"] or 0) >= MIN_RECALL]
    return max(ok, key=lambda r: (r["precision"] or 0, r["recall"] or 0)) if ok else None


def auc(scores: np.ndarray, answered: np.ndarray) -> float | None:
    """The chance that an answered point scores above an unanswered one (ties count half)."""
    pos, neg = scores[answered], scores[~answered]
    if not len(pos) or not len(neg):
        return None
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return round(float(wins / (len(pos) * len(neg))), 3)


def logistic(x_dev: np.ndarray, y_dev: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """P(answered): cross-validated on dev, and from the model fitted on all of dev for test."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def model():
        return make_pipeline(StandardScaler(), LogisticRegression(C=0.3, class_weight="balanced", max_iter=1000))

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    dev = cross_val_predict(model(), x_dev, y_dev, cv=folds, method="predict_proba")[:, 1]
    fitted = model().fit(x_dev, y_dev)
    coef = fitted[-1].coef_[0]
    return dev, fitted.predict_proba(x_test)[:, 1], {"C": 0.3, "coefficients_standardised": [round(c, 3) for c in coef]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tipdm", default=str(ROOT.parent / "shared" / "datasets" / "tipdm2020c"))
    ap.add_argument("--encoder", default=str(ROOT / "var" / "encoders" / "multilingual-e5-small"),
                    help="e5 encoder directory for the semantic candidates, or 'none'")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--cache", default=None, help="a JSON file keeping the per-point scores between runs")
    args = ap.parse_args(argv)
    rows = read_rows(Path(args.tipdm))
    if rows is None:
        print(f"skipped: no messages_with_replies.csv under {args.tipdm}")
        return 0
    started = time.time()
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["labels"]
    items = [{"id": i, "split": split_of(i), "body": rows[i]["body"], "reply": rows[i]["reply"],
              "points": [{"text": rows[i]["body"][s:e], "answered": a} for s, e, a in spans]}
             for i, spans in labels.items() if i in rows]
    embedder = None
    if args.encoder != "none" and Path(args.encoder).is_dir():
        from models.embeddings import load_embedder

        embedder = load_embedder(args.encoder)
    from nlp.segment import Segmenter

    cache = Path(args.cache) if args.cache else None
    key = hashlib.sha1((LABELS.read_text(encoding="utf-8") + str(embedder is not None)).encode()).hexdigest()
    if cache is not None and cache.is_file() and json.loads(cache.read_text())["key"] == key:
        saved = json.loads(cache.read_text())
        names, x = saved["names"], np.array(saved["x"])
    else:
        names, x = features(items, rows, Segmenter(), embedder)
        if cache is not None:
            cache.write_text(json.dumps({"key": key, "names": names, "x": x.tolist()}))
    names, x = with_context(items, names, x)
    split = np.array([it["split"] for it in items for _ in it["points"]])
    y = np.array([p["answered"] for it in items for p in it["points"]], dtype=bool)
    dev, test = split == "dev", split == "test"
    result: dict = {
        "command": "python benchmarks/coverage_ideas.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "encoder": Path(args.encoder).name if embedder is not None else None,
        "messages": {s: sum(it["split"] == s for it in items) for s in ("dev", "test")},
        "points": {"dev": int(dev.sum()), "test": int(test.sum())},
        "unanswered": {"dev": int((~y[dev]).sum()), "test": int((~y[test]).sum())},
        "rule": f"threshold on dev: best F1 with precision >= {MIN_PRECISION}, else best precision at recall >= "
                f"{MIN_RECALL}; flagged unanswered when score < threshold",
        "candidates": {},
    }
    columns = {n: x[:, k] for k, n in enumerate(names)}
    lr_dev, lr_test, lr_info = logistic(x[dev], y[dev].astype(int), x[test])
    for name, col in columns.items():
        t, how = choose(col[dev], y[dev])
        result["candidates"][name] = {"threshold": round(t, 4), "how": how, "dev": pr_at(col[dev], y[dev], t),
                                      "test": pr_at(col[test], y[test], t),
                                      "auc": {"dev": auc(col[dev], y[dev]), "test": auc(col[test], y[test])},
                                      "ceiling_test": ceiling(col[test], y[test])}
    t, how = choose(lr_dev, y[dev])
    result["candidates"]["logistic"] = {"threshold": round(t, 4), "how": how, "features": names, **lr_info,
                                        "dev": pr_at(lr_dev, y[dev], t), "test": pr_at(lr_test, y[test], t),
                                        "auc": {"dev": auc(lr_dev, y[dev]), "test": auc(lr_test, y[test])},
                                        "ceiling_test": ceiling(lr_test, y[test])}
    result["seconds"] = round(time.time() - started, 1)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for name, r in result["candidates"].items():
        d, s = r["dev"], r["test"]
        print(f"{name:22s} t={r['threshold']:<8} dev P={d['precision']} R={d['recall']} ({d['tp']}/{d['fp']}/{d['fn']})"
              f"  test P={s['precision']} R={s['recall']} ({s['tp']}/{s['fp']}/{s['fn']})  AUC {r['auc']}"
              f"  test ceiling P={(r['ceiling_test'] or {}).get('precision')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
