"""Paired statistics for comparing two models on the same cases: bootstrap intervals and McNemar's exact test.

Both models answer the same items, so the comparison is paired: the bootstrap resamples items (the same draw for
both models), and McNemar's test looks only at the items where exactly one of the two was right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import binomtest

CONFIDENCE = 0.95
RESAMPLES = 2000
METRICS = ("top1", "top3", "macro_f1")


def _macro_f1(truth: np.ndarray, pred: np.ndarray, n_labels: int, weights: np.ndarray) -> float:
    """Macro-F1 over the labels present in (resampled) truth; ``weights`` counts each item's draws."""
    tp = np.bincount(truth, weights=weights * (truth == pred), minlength=n_labels)
    support = np.bincount(truth, weights=weights, minlength=n_labels)
    predicted = np.bincount(pred, weights=weights, minlength=n_labels)
    present = support > 0
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros(n_labels), where=denom > 0)
    return float(f1[present].mean()) if present.any() else 0.0


class Outcomes:
    """One model's answers on a fixed list of items, as integer codes for fast resampling."""

    def __init__(self, truth: Sequence[str], ranked: Sequence[Sequence[str]], labels: dict[str, int]):
        self.truth = np.array([labels[t] for t in truth], dtype=int)
        self.top1 = np.array([labels.setdefault(r[0], len(labels)) if r else -1 for r in ranked], dtype=int)
        self.hit1 = (self.truth == self.top1).astype(float)
        self.hit3 = np.array([t in r[:3] for t, r in zip(truth, ranked)], dtype=float)

    def metrics(self, weights: np.ndarray, n_labels: int) -> dict[str, float]:
        total = weights.sum()
        return {"top1": float(self.hit1 @ weights / total), "top3": float(self.hit3 @ weights / total),
                "macro_f1": _macro_f1(self.truth, self.top1, n_labels, weights)}


def paired_comparison(truth: Sequence[str], candidate: Sequence[Sequence[str]], active: Sequence[Sequence[str]],
                      *, resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """Top-1/top-3/macro-F1 of each model with 95 % bootstrap intervals, the paired difference (candidate minus
    active) with its interval, and McNemar's exact test on top-1.

    Args:
        truth: the true lead of each item; candidate/active: each model's ranked labels for the same items.
    """
    n = len(truth)
    if n == 0:
        raise ValueError("没有可比较的案件")
    labels: dict[str, int] = {}
    for t in truth:
        labels.setdefault(t, len(labels))
    cand, act = Outcomes(truth, candidate, labels), Outcomes(truth, active, labels)
    n_labels = len(labels) + 1
    ones = np.ones(n)
    point = {"candidate": cand.metrics(ones, n_labels), "active": act.metrics(ones, n_labels)}
    rng = np.random.default_rng(seed)
    draws: dict[str, dict[str, list[float]]] = {k: {m: [] for m in METRICS} for k in ("candidate", "active", "diff")}
    for _ in range(resamples):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        c, a = cand.metrics(w, n_labels), act.metrics(w, n_labels)
        for m in METRICS:
            draws["candidate"][m].append(c[m])
            draws["active"][m].append(a[m])
            draws["diff"][m].append(c[m] - a[m])
    lo_q, hi_q = (1 - CONFIDENCE) / 2 * 100, (1 + CONFIDENCE) / 2 * 100

    def interval(values: list[float]) -> list[float]:
        return [float(np.percentile(values, lo_q)), float(np.percentile(values, hi_q))]

    out: dict = {"n": n, "confidence": CONFIDENCE, "resamples": resamples}
    for side in ("candidate", "active"):
        out[side] = {m: {"value": point[side][m], "ci": interval(draws[side][m])} for m in METRICS}
    out["diff"] = {m: {"value": point["candidate"][m] - point["active"][m], "ci": interval(draws["diff"][m])}
                   for m in METRICS}
    only_active = int(np.sum((act.hit1 == 1) & (cand.hit1 == 0)))
    only_candidate = int(np.sum((cand.hit1 == 1) & (act.hit1 == 0)))
    discordant = only_active + only_candidate
    p = binomtest(only_candidate, discordant, 0.5).pvalue if discordant else 1.0
    out["mcnemar"] = {"only_active_right": only_active, "only_candidate_right": only_candidate, "p_value": float(p)}
    return out


def promotion_decision(stats: dict | None, *, tolerance: float, min_test: int, alpha: float = 0.05) -> dict:
    """Whether the candidate may replace the active model automatically.

    Refused when the candidate's top-1 is lower by more than ``tolerance`` and McNemar's test finds the difference
    significant at ``alpha``; not decided automatically (``allowed`` False, ``refused`` False) when fewer than
    ``min_test`` cases were compared.
    """
    if stats is None:
        return {"allowed": True, "refused": False, "small_test": False, "reason": "没有在用模型，直接上线"}
    n = stats["n"]
    diff = stats["diff"]["top1"]["value"]
    p = stats["mcnemar"]["p_value"]
    worse = diff < -tolerance and p < alpha
    small = n < min_test
    if worse:
        reason = (f"新模型首选准确率比在用模型低 {-diff:.1%}（超过容差 {tolerance:.1%}），"
                  f"配对检验显著（McNemar p={p:.3g}，{n} 件）")
    elif small:
        reason = f"只有 {n} 件可比较的案件（少于 {min_test} 件），结论不可靠：请人工查看报告后决定是否上线"
    else:
        reason = (f"新模型不显著劣于在用模型（首选准确率差 {diff:+.1%}，95% 区间 "
                  f"{stats['diff']['top1']['ci'][0]:+.1%} 至 {stats['diff']['top1']['ci'][1]:+.1%}，"
                  f"McNemar p={p:.3g}，{n} 件）")
    return {"allowed": not worse and not small, "refused": worse, "small_test": small, "reason": reason,
            "tolerance": tolerance, "min_test": min_test, "alpha": alpha}
