"""Fusion weights per search target, chosen on the archive's own pairs by cross-validation, with a guard.

The closed cases answer two questions about themselves: a case's title subject should find its own body
(``items``: the body alone, so the title is not found in itself), and a case (title + body) should find its own
official reply (``replies``). On a sample of those pairs every candidate weight of the dense ranking relative to
BM25 is scored by MRR@10 (``GRID``: 0 is BM25 alone, ``inf`` the dense ranking alone, values between are the
weighted reciprocal rank fusion). A part that is clearly better than the other is used alone, level parts are fused
with equal weights, and another weight is taken only when it is clearly better still (``choose``: the guard). k-fold
cross-validation over the pairs (groups of identical target texts kept together) measures the whole procedure:
choose on k-1 folds, score the held-out fold, so the recorded ``cv_mrr`` is a figure on pairs the choice never saw.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np

from models.passages import item_text
from models.records import CaseRecord
from nlp.normalize import normalize, title_subject

GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, math.inf)
MIN_PAIRS = 20
GUARD_Z = 1.645  # one-sided 5 %
K = 10


def weight_pair(w: float) -> list[float]:
    """[BM25 weight, dense weight] of a grid value."""
    return [1.0, 0.0] if w == 0 else ([0.0, 1.0] if math.isinf(w) else [1.0, float(w)])


def label(w: float) -> str:
    return "bm25" if w == 0 else ("dense" if math.isinf(w) else f"hybrid w={w:g}")


def reciprocal_ranks(lexical: list[int], dense: list[int], target: int, rrf_k: int = 60) -> np.ndarray:
    """RR@10 of ``target`` under each weight of ``GRID``, from the two rankings (case positions, best first)."""
    out = np.zeros(len(GRID))
    for g, w in enumerate(GRID):
        w_lex, w_dense = weight_pair(w)
        fused: dict[int, float] = {}
        for weight, ranking in ((w_lex, lexical), (w_dense, dense)):
            if weight:
                for rank, p in enumerate(ranking):
                    fused[p] = fused.get(p, 0.0) + weight / (rrf_k + rank + 1)
        if target in fused:
            # ties count against the target: a case scoring as much is ranked before it
            rank = sum(1 for p, s in fused.items() if p != target and s >= fused[target])
            out[g] = 1.0 / (rank + 1) if rank < K else 0.0
    return out


def clearly_better(rr: np.ndarray, a: int, b: int) -> bool:
    """Whether grid position ``a`` beats ``b`` on these pairs by a paired one-sided z above ``GUARD_Z``."""
    gain = rr[:, a] - rr[:, b]
    se = float(gain.std(ddof=1)) / math.sqrt(len(gain)) if len(gain) > 1 else 0.0
    return bool(gain.mean() > 0 and (se == 0 or gain.mean() / se > GUARD_Z))


def choose(rr: np.ndarray) -> int:
    """The grid position to use (the guard).

    The starting point is the part that is clearly better than the other alone, or equal-weight fusion when the two
    parts are level; another weight replaces it only when it is clearly better still. Switching on a small win does
    not pay: when two options are close, the one ahead on the pairs it was chosen on often falls behind on new ones
    (the rules tried, and what each cost on held-out folds, are in docs/search-quality.md).
    """
    mrr = rr.mean(axis=0)
    bm25, dense, equal = 0, len(GRID) - 1, GRID.index(1.0)
    start = dense if clearly_better(rr, dense, bm25) else bm25 if clearly_better(rr, bm25, dense) else equal
    best = max(range(len(GRID)), key=lambda g: (mrr[g], g == start))
    return best if clearly_better(rr, best, start) else start


def cross_validate(rr: np.ndarray, groups: list[str], folds: int, seed: int) -> np.ndarray:
    """Per pair, the RR@10 under the weight chosen on the other folds."""
    distinct = sorted(set(groups))
    random.Random(seed).shuffle(distinct)
    fold_of = {g: i % folds for i, g in enumerate(distinct)}
    fold = np.array([fold_of[g] for g in groups])
    out = np.zeros(len(rr))
    for f in range(folds):
        held = fold == f
        if held.any() and (~held).any():
            out[held] = rr[held, choose(rr[~held])]
    return out


def bootstrap_ci(values: np.ndarray, seed: int = 0, draws: int = 2000) -> list[float]:
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(draws, len(values)), replace=True).mean(axis=1)
    return [round(float(np.quantile(means, 0.025)), 4), round(float(np.quantile(means, 0.975)), 4)]


def summary(rr: np.ndarray, groups: list[str], folds: int, seed: int) -> dict:
    """The choice and its validation figures for one target."""
    g = choose(rr)
    cv = cross_validate(rr, groups, folds, seed)
    mrr = rr.mean(axis=0)
    w = GRID[g]
    parts = f"BM25 {mrr[0]:.3f}、向量 {mrr[-1]:.3f}、等权融合 {mrr[GRID.index(1.0)]:.3f}"
    chosen = "只用 BM25" if w == 0 else ("只用向量检索" if math.isinf(w) else f"融合（向量权重 {w:g}）")
    return {"choice": label(w), "weights": weight_pair(w), "pairs": len(rr), "folds": folds,
            "mrr10": {label(x): round(float(m), 4) for x, m in zip(GRID, mrr)},
            "cv_mrr10": round(float(cv.mean()), 4), "cv_mrr10_ci95": bootstrap_ci(cv, seed),
            "note": f"在 {len(rr)} 个本库配对上，{parts}；选用{chosen}，交叉验证 MRR@10 {cv.mean():.3f}"}


def calibrate_weights(index, *, sample: int = 300, folds: int = 10, seed: int = 0) -> dict[str, dict]:
    """Choose the fusion weights of ``index`` (a PrecedentIndex) on its own closed cases; sets and returns them."""
    from models.search import PrecedentIndex

    rng = random.Random(seed)
    cases = [c for c in index.cases if normalize(c["body"]) and (title_subject(c["title"]) or c["reply"])]
    cases = rng.sample(cases, min(sample, len(cases)))
    probe = PrecedentIndex(index.embedder, replace(index.config), index.segmenter)
    probe.add([CaseRecord(row=i, case_no=f"pair-{i}", body=c["body"], reply=c["reply"] or "")
               for i, c in enumerate(cases)], reuse=index)
    pairs = {"items": [(title_subject(c["title"]), i, normalize(c["body"])) for i, c in enumerate(cases)
                       if title_subject(c["title"])],
             "replies": [(item_text(c["title"], c["body"]), i, normalize(c["reply"])) for i, c in enumerate(cases)
                         if c["reply"]]}
    out: dict[str, dict] = {}
    for target, todo in pairs.items():
        if len(todo) < MIN_PAIRS:
            out[target] = {"choice": "default", "weights": index.config.weights[target], "pairs": len(todo),
                           "note": f"本库只有 {len(todo)} 个配对（少于 {MIN_PAIRS}），沿用默认的等权融合"}
            continue
        vectors = index.query_vectors([q for q, _, _ in todo])
        mask = probe.has_reply if target == "replies" else None
        n = index.config.candidates
        rr = np.array([reciprocal_ranks(
            [p for p, _ in probe.bm25_ranking(index.segmenter.tokenize(q), mask, n, target)],
            [p for p, _ in probe.dense_ranking(vectors[j : j + 1], mask, n, target)], i, index.config.rrf_k)
            for j, (q, i, _) in enumerate(todo)])
        out[target] = summary(rr, [t for _, _, t in todo], folds, seed)
        index.config.weights[target] = out[target]["weights"]
    index.config.weight_calibration = out
    return out

