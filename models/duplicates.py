"""Near-duplicate grouping (并案) over item vectors, and choosing its cosine threshold on labelled pairs."""

from __future__ import annotations

import numpy as np


def group_by_similarity(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Connected components of the graph whose edges join rows with cosine ≥ ``threshold``."""
    sims = vectors @ vectors.T
    parent = list(range(len(vectors)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows, cols = np.nonzero(np.triu(sims >= threshold, k=1))
    for a, b in zip(rows, cols):
        parent[find(int(a))] = find(int(b))
    groups: dict[int, list[int]] = {}
    for i in range(len(vectors)):
        groups.setdefault(find(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def choose_duplicate_threshold(same: np.ndarray, different: np.ndarray, target_precision: float = 0.9) -> dict:
    """The lowest cosine threshold at which pairs above it are duplicates with ``target_precision``.

    Args:
        same: cosine scores of pairs known to be near-duplicates or repeats.
        different: cosine scores of pairs known not to be (e.g. nearest neighbours that are other issues).
    """
    scores = np.concatenate([same, different])
    labels = np.concatenate([np.ones(len(same)), np.zeros(len(different))])
    order = np.argsort(-scores)
    hits = np.cumsum(labels[order])
    precision = hits / np.arange(1, len(order) + 1)
    ok = np.nonzero(precision >= target_precision)[0]
    if len(ok) == 0:
        return {"threshold": float(scores.max()) + 1e-6, "precision": float("nan"), "recall": 0.0}
    i = ok[-1]
    # A hair below the last accepted score, so recomputed similarities of the same pair still pass.
    return {"threshold": float(scores[order[i]]) - 1e-6, "precision": float(precision[i]),
            "recall": float(hits[i] / max(len(same), 1)), "pairs": int(len(same)), "negatives": int(len(different))}
