"""Research, not adopted (docs/routing-precedents.md): does precedent evidence improve routing?

A temporal study that picks the blend weight on a validation year.

The classifier is trained on the years before the validation year, the search index holds the same cases, and the
weight that maximises validation top-1 is then applied to the test year with both rebuilt on all earlier years.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from models.classifier import RoutingModel, RoutingParams
from models.embeddings import Embedder
from models.search import PrecedentIndex, SearchConfig
from training.dataset import TrainingSet, temporal_split

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def precedent_distribution(hits: Sequence[dict], classes: Sequence[str]) -> np.ndarray:
    """Lead departments of the nearest precedents as a distribution over ``classes`` (weighted by fused score)."""
    pos = {c: i for i, c in enumerate(classes)}
    dist = np.zeros(len(classes))
    for h in hits:
        lead = (h.get("lead") or {}).get("id")
        if lead in pos:
            dist[pos[lead]] += h["score"]
    total = dist.sum()
    return dist / total if total > 0 else dist


def blend(proba: np.ndarray, precedent: np.ndarray, weight: float) -> np.ndarray:
    """Mix classifier probabilities with the precedents' distribution; rows without precedents keep ``proba``."""
    has = precedent.sum(axis=1, keepdims=True) > 0
    return np.where(has, (1 - weight) * proba + weight * precedent, proba)


def _top1_by_weight(model, index, cases, k: int, mode: str) -> dict[float, float]:
    items = [(c.title, c.body) for c in cases]
    proba = model.predict_proba(items)
    prec = np.vstack([
        precedent_distribution(index.search(f"{c.title}。{c.body}", k=k, mode=mode), list(model.classes_))
        for c in cases
    ])
    truth = np.array([c.lead_id for c in cases])
    return {w: float((model.classes_[blend(proba, prec, w).argmax(1)] == truth).mean()) for w in WEIGHTS}


def fusion_study(
    ts: TrainingSet,
    embedder: Embedder,
    *,
    params: RoutingParams | None = None,
    k: int = 10,
    mode: str = "hybrid",
    progress: Callable[[str], None] | None = None,
) -> dict:
    say = progress or (lambda m: None)
    train, test, test_year = temporal_split(ts.cases)
    fit_part, val, val_year = temporal_split(train)
    config = SearchConfig()

    def build(cases, reuse=None):
        model = RoutingModel(params or RoutingParams()).fit_cases(cases)
        index = PrecedentIndex(embedder, config)
        index.add(cases, reuse=reuse)
        return model, index

    say(f"验证：训练至 {val_year - 1} 年，验证 {val_year} 年")
    model, index = build(fit_part)
    val_scores = _top1_by_weight(model, index, val, k, mode)
    best = max(WEIGHTS, key=lambda w: (val_scores[w], -w))
    say(f"测试：训练至 {test_year - 1} 年，测试 {test_year} 年")
    model, index = build(train, reuse=index)
    test_scores = _top1_by_weight(model, index, test, k, mode)
    return {
        "mode": mode,
        "k": k,
        "encoder": embedder.name,
        "validation_year": val_year,
        "test_year": test_year,
        "validation_top1": val_scores,
        "chosen_weight": best,
        "test_top1_classifier": test_scores[0.0],
        "test_top1_blended": test_scores[best],
        "test_top1_by_weight": test_scores,
        "keep": best > 0 and test_scores[best] > test_scores[0.0],
    }
