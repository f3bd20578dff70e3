"""A stacked meta-model over the text model, the kNN votes and the vector head (issue #12, blend_choice "stack").

The blend of models.knn_vote mixes three probability rows with two global weights. The stack instead learns, per
unit, how much each reader counts: a multinomial LogisticRegression over the features ``log p_text``, the votes at
every k of ``KS`` and ``log p_head``, fitted on the same out-of-fold rows the blend is chosen on. Its own
out-of-fold probabilities come from cross-fitting over those rows' folds (each fold's rows scored by a meta-model
fitted on the other folds), so its choice of C and its certified threshold are judged on rows it did not learn.
It replaces the chosen blend only when, on those rows, its macro-F1 is higher than the blend's and neither its
macro-F1 nor its certified coverage is below the text model's (``fit_blend``); otherwise the blend serves.

Measured paired against the shipped coverage choice (``bench_knn_blend.py --choice stack --against-shipped``,
docs/benchmarks.md): nested TipDM bodies macro-F1 +0.8 (p 0.003), titles +0.1 (p 0.51), no new proxy floor miss;
it passes the accuracy rule set before the run, but is not the default: on 45 units its fit is several times slower
(sample proxies: 147–186 s a fit against 22–24 s; raw log-probabilities converge slowly), beyond the training budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

STACK_CS = (0.1, 1.0)  # bench scratch on TipDM nested folds: C 0.1 best on titles, 1.0 on bodies
STACK_MAX_ITER = 2000
EPS = 1e-6


def stack_features(proba: np.ndarray, votes: dict[int, np.ndarray], head: np.ndarray | None,
                   ks: Sequence[int]) -> np.ndarray:
    """The meta-model's row for each item: log text probabilities, the votes at each k, log head probabilities."""
    parts = [np.log(proba + EPS), *[votes[k] for k in ks]]
    if head is not None:
        parts.append(np.log(head + EPS))
    return np.hstack(parts)


@dataclass
class LinearStack:
    """The fitted meta-model, its coefficients laid out over all the model's classes."""

    coef: np.ndarray  # (n_classes, n_features)
    intercept: np.ndarray  # (n_classes,); -inf for a unit the meta-model never saw
    ks: tuple[int, ...]
    uses_head: bool
    C: float

    def proba(self, proba: np.ndarray, votes: dict[int, np.ndarray], head: np.ndarray | None) -> np.ndarray:
        return _apply(stack_features(proba, votes, head if self.uses_head else None, self.ks), self.coef,
                      self.intercept)


def fit_linear(features: np.ndarray, y: np.ndarray, n_classes: int, C: float,
               max_iter: int = STACK_MAX_ITER) -> tuple[np.ndarray, np.ndarray]:
    """(coef, intercept) of a multinomial LogisticRegression laid out over ``n_classes`` (unseen: -inf)."""
    from sklearn.linear_model import LogisticRegression

    coef = np.zeros((n_classes, features.shape[1]))
    intercept = np.full(n_classes, -np.inf)
    seen = np.unique(y)
    if len(seen) == 1:
        intercept[seen[0]] = 0.0
        return coef, intercept
    lr = LogisticRegression(C=C, max_iter=max_iter).fit(features, y)
    if len(lr.classes_) == 2:
        coef[lr.classes_[1]], intercept[lr.classes_] = lr.coef_[0], (0.0, lr.intercept_[0])
    else:
        coef[lr.classes_], intercept[lr.classes_] = lr.coef_, lr.intercept_
    return coef, intercept


def _apply(features: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    from scipy.special import softmax

    return softmax(features @ coef.T + intercept, axis=1)


def cross_fitted(features: np.ndarray, y: np.ndarray, folds: Iterable[np.ndarray], n_classes: int,
                 C: float) -> np.ndarray:
    """Out-of-fold meta probabilities: each fold's rows scored by a meta-model fitted on the other folds' rows."""
    out = np.zeros((len(y), n_classes))
    for val in folds:
        keep = np.ones(len(y), bool)
        keep[val] = False
        out[val] = _apply(features[val], *fit_linear(features[keep], y[keep], n_classes, C))
    return out


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-probability of the true class (clipped at 1e-9)."""
    return -float(np.log(np.clip(proba[np.arange(len(y)), y], 1e-9, 1.0)).mean())


def fit_stack(y: np.ndarray, proba: np.ndarray, votes: dict[int, np.ndarray], head: np.ndarray | None,
              folds: Sequence[np.ndarray], Cs: Sequence[float] = STACK_CS) -> tuple[LinearStack, np.ndarray]:
    """The meta-model (C of the lowest cross-fitted log-loss) and its cross-fitted probabilities of the rows.

    Args:
        y: the rows' true classes; proba, votes, head: their out-of-fold text probabilities, votes per k and head
            probabilities (head None: the meta-model reads the text model and the votes only).
        folds: the rows' folds (index arrays into the rows), the ones their out-of-fold rows came from.
    """
    ks = tuple(sorted(votes))
    n_classes = proba.shape[1]
    features = stack_features(proba, votes, head, ks)
    best: tuple[float, float, np.ndarray] | None = None
    for C in Cs:
        oof = cross_fitted(features, y, folds, n_classes, C)
        loss = log_loss(y, oof)
        if best is None or loss < best[0]:
            best = (loss, C, oof)
    assert best is not None
    _, C, oof = best
    coef, intercept = fit_linear(features, y, n_classes, C)
    return LinearStack(coef, intercept, ks, head is not None, float(C)), oof


__all__ = ["LinearStack", "STACK_CS", "cross_fitted", "fit_linear", "fit_stack", "log_loss", "stack_features"]
