"""Unit duty texts (职能, from the registry) as class prototypes for units with few closed cases.

A unit with a handful of past items, or one created by the last reorganisation, has little for the linear model to
learn from, but its duties say what it handles. Each such unit's name and duties are turned into a row of the
model's own features; an item's cosine with that row, times one weight, is added to the unit's decision score.
The weight is chosen on the out-of-fold scores that also set the temperature and the review threshold (the
best out-of-fold top-1 over a small grid, the smallest weight on ties; 0 turns the prototypes off), so the
threshold is certified on the scores the saved model serves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.preprocessing import normalize

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


class DutyPrototypes:
    """``rows``: one normalised feature row per class (zero for a unit without duties or with enough cases)."""

    def __init__(self, rows):
        self.rows = rows

    @classmethod
    def build(cls, features, classes: Sequence[str] | np.ndarray, duties: dict[str, str], counts: np.ndarray,
              max_cases: int):
        """Prototypes of the ``classes`` with duties and fewer than ``max_cases`` training cases; None if none."""
        texts = [(unit, duties.get(str(unit), "")) for unit in classes]
        use = np.array([bool(text.strip()) and n < max_cases for (_, text), n in zip(texts, counts)])
        if not use.any():
            return None
        rows = features.transform([(text if ok else "", "") for (_, text), ok in zip(texts, use)]).tocsr()
        rows = rows.multiply(use[:, None]).tocsr()
        return cls(normalize(rows))

    def similarity(self, X) -> np.ndarray:
        """Cosine of each item with each class's prototype (0 for classes without one)."""
        return np.asarray((normalize(X) @ self.rows.T).todense())


def choose_weight(oof: np.ndarray, y: np.ndarray, similarity: np.ndarray, weights=WEIGHTS) -> float:
    """The weight whose out-of-fold top-1 is best (the first of equals: the smallest)."""
    finite = np.isfinite(oof[np.arange(len(y)), y])
    best, best_hits = 0.0, -1
    for w in weights:
        hits = int(((oof + w * similarity).argmax(axis=1) == y)[finite].sum())
        if hits > best_hits:
            best, best_hits = float(w), hits
    return best


__all__ = ["DutyPrototypes", "WEIGHTS", "choose_weight"]
