"""Calibration and the review threshold: temperature scaling, and a threshold whose precision on auto-assigned
items is certified on held-out scores with a finite-sample guarantee.

The threshold is chosen on out-of-fold predictions by fixed-sequence testing (Learn-then-Test, Angelopoulos et al.
2021): candidate thresholds are visited from strict to lax, each tested with a one-sided Clopper-Pearson lower bound
on the precision of the items at or above it, and the walk stops at the first one whose bound misses the target.
Because the order is fixed before the labels are looked at, the chance that the chosen threshold's true precision is
below the target is at most the walk's alpha, with no correction for the number of thresholds tried; two walks
share ``alpha`` (``WALK_STARTS``). When no threshold
passes, the data cannot certify the target and every item goes to review.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from scipy.stats import beta

# Each walk starts where this share of the items is accepted (or at the fewest items that could pass at all): the
# bound of a handful of items is too wide to pass, and one early failure ends a walk. Two walks, each at alpha / 2
# (a union bound keeps the overall chance at alpha): a few confident errors among the very top items (mislabelled
# cases) end the first one early, and the second, starting lower, still finds what the data can certify.
WALK_STARTS = (0.10, 0.30)
STEP_COVERAGE = 0.01


def clopper_pearson_lower(hits: np.ndarray | int, n: np.ndarray | int, alpha: float) -> np.ndarray:
    """One-sided exact (Clopper-Pearson) lower confidence bound of a proportion at level ``1 - alpha``."""
    hits, n = np.asarray(hits, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = beta.ppf(alpha, hits, n - hits + 1)
    return np.where(hits > 0, np.nan_to_num(low), 0.0)


def clopper_pearson_interval(hits: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided exact interval of ``hits / n``; (nan, nan) when ``n`` is 0."""
    if n == 0:
        return float("nan"), float("nan")
    a = (1 - confidence) / 2
    low = 0.0 if hits == 0 else float(beta.ppf(a, hits, n - hits + 1))
    high = 1.0 if hits == n else float(beta.ppf(1 - a, hits + 1, n - hits))
    return low, high


@dataclass
class Certificate:
    """The chosen threshold and what the held-out items say about it."""

    certified: bool
    threshold: float  # 1.0 and ``certified`` False: nothing may be auto-assigned
    coverage: float  # share of held-out items at or above the threshold
    precision: float  # their precision (nan when none)
    lower_bound: float  # the one-sided lower bound at level 1 - alpha / 2, one walk's share (0.0 when not certified)
    target: float
    alpha: float
    n: int  # held-out items the certificate rests on
    min_items: int  # the fewest accepted items that could certify the target at all

    def to_dict(self) -> dict:
        return asdict(self)


def min_items_to_certify(target: float, alpha: float) -> int:
    """The fewest items, all correct, whose lower bound reaches ``target``: ``target ** m <= alpha``."""
    return int(math.ceil(math.log(alpha) / math.log(target)))


def certify_threshold(confidence: np.ndarray, correct: np.ndarray, target: float, alpha: float = 0.05) -> Certificate:
    """The lowest confidence threshold the held-out items certify for ``target`` precision (fixed-sequence tests).

    Args:
        confidence: each held-out item's top-1 confidence; correct: whether its top-1 was right.
        target: the precision promised on auto-assigned items; alpha: the allowed chance of breaking it.
    """
    n_all = len(confidence)
    m0 = min_items_to_certify(target, alpha / len(WALK_STARTS))
    best = Certificate(False, 1.0, 0.0, float("nan"), 0.0, target, alpha, n_all, m0)
    if n_all < m0:
        return best
    order = np.argsort(-np.asarray(confidence), kind="stable")
    conf, hits = np.asarray(confidence)[order], np.asarray(correct, dtype=float)[order]
    cum = np.cumsum(hits)
    # Cut only between distinct confidences, so "p >= threshold" accepts exactly the counted items.
    cuts = np.nonzero(np.r_[conf[1:] < conf[:-1], True])[0] + 1  # accepted counts that a threshold can give
    for start in WALK_STARTS:
        first = max(m0, int(math.ceil(start * n_all)))
        grid = sorted({first} | {int(math.ceil(q * n_all)) for q in np.arange(start, 1.0 + 1e-9, STEP_COVERAGE)
                                 if q * n_all >= first})
        for m in grid:
            at = np.searchsorted(cuts, min(m, n_all), side="right") - 1  # the largest cut accepting at most m
            if at < 0:
                continue
            k = int(cuts[at])
            lower = float(clopper_pearson_lower(cum[k - 1], k, alpha / len(WALK_STARTS)))
            if lower < target:
                break
            if k / n_all > best.coverage:
                best = Certificate(True, float(conf[k - 1]), k / n_all, float(cum[k - 1] / k), lower, target, alpha,
                                   n_all, m0)
    return best


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``softmax(logits / T)`` (temperature scaling)."""
    finite = np.where(np.isfinite(logits), logits, -1e4)

    def nll(log_t: float) -> float:
        lp = log_softmax(finite / np.exp(log_t), axis=1)
        return -float(lp[np.arange(len(y)), y].mean())

    res = minimize_scalar(nll, bounds=(-6.0, 4.0), method="bounded")
    return float(np.exp(res.x))


def wilson_lower(hits: np.ndarray, n: np.ndarray, z: float = 1.645) -> np.ndarray:
    """One-sided 95% Wilson lower bound of a proportion ``hits / n``."""
    p = hits / n
    centre = p + z * z / (2 * n)
    margin = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - margin) / (1 + z * z / n)


def choose_threshold(
    confidence: np.ndarray, correct: np.ndarray, target: float, z: float = 0.0
) -> tuple[float, float, float]:
    """Lowest confidence threshold whose accepted items reach ``target`` precision, maximising coverage.

    With ``z > 0`` the precision must hold for the one-sided Wilson lower bound at that many standard errors
    (1.645: 95 %), not just the point estimate: stricter when the validation set is small.

    Returns:
        (threshold, coverage, precision) measured on the given predictions; threshold 1.0 (nothing auto-accepted)
        when no threshold reaches the target.
    """
    order = np.argsort(-confidence, kind="stable")
    conf, hits = confidence[order], correct[order].astype(float)
    n = np.arange(1, len(hits) + 1)
    cum = np.cumsum(hits)
    ok = np.nonzero((wilson_lower(cum, n, z) if z > 0 else cum / n) >= target)[0]
    # Only cut between distinct confidence values, so "p >= threshold" accepts exactly the counted items.
    cuts = [i for i in ok if i == len(conf) - 1 or conf[i + 1] < conf[i]]
    if not cuts:
        return 1.0, 0.0, float("nan")
    i = cuts[-1]
    return float(conf[i]), (i + 1) / len(conf), float(cum[i] / n[i])


__all__ = ["Certificate", "certify_threshold", "choose_threshold", "clopper_pearson_interval", "clopper_pearson_lower",
           "fit_temperature", "min_items_to_certify", "wilson_lower"]
