"""A stacked meta-model over the text model, the kNN votes and the vector head (issue #12, blend_choice "stack").

The blend of models.knn_vote mixes three probability rows with two global weights. The stack instead learns, per
unit, how much each reader counts: unit c scores ``sum_j W[j, c] * feature_j[c] + b[c]`` over the readers
``log p_text``, the votes at every k of ``KS`` and ``log p_head``, each unit's weights a shared weight plus a
penalised departure (``fit_channels``), fitted on the same out-of-fold rows the blend is chosen on. Its own
out-of-fold probabilities come from cross-fitting over those rows' folds (each fold's rows scored by a meta-model
fitted on the other folds), so its certified threshold is judged on rows it did not learn. It replaces the chosen
blend only when, on those rows, its macro-F1 is higher than the blend's and neither its macro-F1 nor its certified
coverage is below the text model's (``fit_blend``); otherwise the blend serves.

The first stack (commit cccbd9f) was a multinomial LogisticRegression over all 6 × n_classes features: it passed
the accuracy rule (nested TipDM bodies macro-F1 +0.8 over the coverage choice, p 0.003) but took 147–186 s a fit
on the sample proxies' 45 units against 22–24 s. The per-unit weighting reads only each unit's own
columns, and on captured inputs of the same nested folds matched it (pooled macro-F1: titles 88.65 against 88.51,
bodies 90.86 against 91.02) in about a second. The default since 2026-12-07: paired against the coverage choice
(``bench_knn_blend.py --against-shipped``, docs/benchmarks.md), nested TipDM bodies macro-F1 +0.7 (p 0.001),
titles +0.4 (p 0.08), no new proxy floor miss; a fit 14–17 s on TipDM titles, 24–30 s on the sample proxies.
Since 2026-12-08 it also reads the further readers of models.stack_readers (``RoutingParams.stack_readers``), one
more block of per-unit columns each (``stack_features``' ``extra``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.stack_readers import Readers

STACK_PENALTY = 1e-2  # L2 on each unit's departure from the shared weights (TipDM nested scratch: 1e-3 to 1e-2 level)
SHARED_PENALTY = 1e-4  # L2 on the shared weights themselves
STACK_MAX_ITER = 500
EPS = 1e-6


def stack_features(proba: np.ndarray, votes: dict[int, np.ndarray], head: np.ndarray | None,
                   ks: Sequence[int], extra: Sequence[np.ndarray] = ()) -> np.ndarray:
    """The meta-model's row for each item: log text probabilities, the votes at each k, log head probabilities,
    then the further readers' scores (models.stack_readers), each an (n, n_classes) block."""
    parts = [np.log(proba + EPS), *[votes[k] for k in ks]]
    if head is not None:
        parts.append(np.log(head + EPS))
    return np.hstack([*parts, *extra])


@dataclass
class LinearStack:
    """The fitted meta-model, its coefficients laid out over all the model's classes."""

    coef: np.ndarray  # (n_classes, n_features)
    intercept: np.ndarray  # (n_classes,); -inf for a unit the meta-model never saw
    ks: tuple[int, ...]
    uses_head: bool
    penalty: float
    readers: Readers | None = None  # further readers (RoutingParams.stack_readers); bundles before them: none

    def channel_weights(self) -> dict[str, float]:
        """Each reader's weight, averaged over the units (for the training report)."""
        units, readers = np.arange(len(self.intercept)), getattr(self, "readers", None)
        names = ["text", *[f"votes@{k}" for k in self.ks], *(["head"] if self.uses_head else []),
                 *(readers.names if readers is not None else ())]
        return {name: round(float(self.coef[units, j * len(units) + units].mean()), 4)
                for j, name in enumerate(names)}

    def proba(self, proba: np.ndarray, votes: dict[int, np.ndarray], head: np.ndarray | None, X=None,
              vectors: np.ndarray | None = None) -> np.ndarray:
        """The stacked probabilities; ``X`` (text features) and ``vectors``: the rows, for the further readers."""
        readers = getattr(self, "readers", None)
        if readers is not None and X is None:
            raise ValueError("the stack's further readers need the items' text features")
        extra = readers.scores(X, vectors) if readers is not None else ()
        return _apply(stack_features(proba, votes, head if self.uses_head else None, self.ks, extra), self.coef,
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


def fit_channels(features: np.ndarray, y: np.ndarray, n_classes: int, penalty: float = STACK_PENALTY,
                 max_iter: int = STACK_MAX_ITER) -> tuple[np.ndarray, np.ndarray]:
    """(coef, intercept) of the per-unit weighting, laid out as ``fit_linear``'s over ``stack_features``' columns.

    Each unit c scores ``sum_j W[j, c] * feature_j[c] + b[c]``: every reader j (text, each vote, head) reads only
    unit c's own column, with a weight shared by all units plus the unit's departure from it, the departure
    penalised by ``penalty`` (a unit with few rows keeps close to the shared weight). Fitted by L-BFGS on the mean
    log-loss; 6 weights and an intercept per unit, against the multinomial's 6 × n_classes, converging in
    well under a second where the multinomial took minutes on 45 units."""
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    n, J = len(y), features.shape[1] // n_classes
    ch = features.reshape(n, J, n_classes).transpose(1, 0, 2)  # (J, n, n_classes)
    truth = np.zeros((n, n_classes))
    truth[np.arange(n), y] = 1.0
    seen = np.zeros(n_classes, bool)
    seen[np.unique(y)] = True

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b, d = theta[:J], theta[J:J + n_classes], theta[J + n_classes:].reshape(J, n_classes)
        scores = np.einsum("jnk,jk->nk", ch, w[:, None] + d) + b
        scores[:, ~seen] = -1e9
        logp = log_softmax(scores, axis=1)
        grad = (np.exp(logp) - truth) / n
        g_weights = np.einsum("jnk,nk->jk", ch, grad)
        value = -(logp * truth).sum() / n + SHARED_PENALTY * (w @ w) + penalty * (d * d).sum()
        return value, np.concatenate([g_weights.sum(1) + 2 * SHARED_PENALTY * w, grad.sum(0),
                                      (g_weights + 2 * penalty * d).ravel()])

    start = np.zeros(J + n_classes + J * n_classes)
    start[0] = 1.0  # the text model alone
    theta = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": max_iter}).x
    weights = theta[:J, None] + theta[J + n_classes:].reshape(J, n_classes)
    coef = np.zeros((n_classes, J * n_classes))
    for j in range(J):
        coef[np.arange(n_classes), j * n_classes + np.arange(n_classes)] = weights[j]
    return coef, np.where(seen, theta[J:J + n_classes], -np.inf)


def cross_fitted(features: np.ndarray, y: np.ndarray, folds: Iterable[np.ndarray], n_classes: int,
                 penalty: float = STACK_PENALTY) -> np.ndarray:
    """Out-of-fold meta probabilities: each fold's rows scored by a meta-model fitted on the other folds' rows."""
    out = np.zeros((len(y), n_classes))
    for val in folds:
        keep = np.ones(len(y), bool)
        keep[val] = False
        out[val] = _apply(features[val], *fit_channels(features[keep], y[keep], n_classes, penalty))
    return out


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-probability of the true class (clipped at 1e-9)."""
    return -float(np.log(np.clip(proba[np.arange(len(y)), y], 1e-9, 1.0)).mean())


def fit_stack(y: np.ndarray, proba: np.ndarray, votes: dict[int, np.ndarray], head: np.ndarray | None,
              folds: Sequence[np.ndarray], penalty: float = STACK_PENALTY, extra: Sequence[np.ndarray] = (),
              ) -> tuple[LinearStack, np.ndarray]:
    """The meta-model fitted on all the rows and its cross-fitted probabilities of them.

    Args:
        y: the rows' true classes; proba, votes, head: their out-of-fold text probabilities, votes per k and head
            probabilities (head None: the meta-model reads the text model and the votes only).
        folds: the rows' folds (index arrays into the rows), the ones their out-of-fold rows came from.
        extra: the further readers' out-of-fold scores of the rows; the caller sets the returned stack's
            ``readers`` to the same readers fitted on every training item, which serve them.
    """
    ks = tuple(sorted(votes))
    n_classes = proba.shape[1]
    features = stack_features(proba, votes, head, ks, extra)
    oof = cross_fitted(features, y, folds, n_classes, penalty)
    coef, intercept = fit_channels(features, y, n_classes, penalty)
    return LinearStack(coef, intercept, ks, head is not None, float(penalty)), oof


__all__ = ["LinearStack", "STACK_PENALTY", "cross_fitted", "fit_channels", "fit_linear", "fit_stack", "log_loss",
           "stack_features"]
