"""Turn a bundle's raw rankings into the suggestions staff see: names, probabilities, reasons, review flags."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.bundle import Bundle
from models.classifier import Routing


def reason_text(terms: Sequence[str], name: str) -> str:
    """A one-line reason in Chinese for a suggestion, from the terms that weighed most."""
    if not terms:
        return f"文本整体与{name}历年主办的案件最接近"
    quoted = "、".join(f"“{t}”" for t in terms[:4])
    return f"文中{quoted}等内容与{name}历年主办的案件高度相关"


def describe(bundle: Bundle, routing: Routing) -> dict:
    """JSON-ready description of one routing result."""

    def dept(label: str) -> dict:
        out = {"id": label, "name": bundle.label_name(label)}
        if bundle.registry is not None and label in bundle.registry:
            out["short_name"] = bundle.registry.get(label).short_name
        return out

    lead = [
        {
            **dept(s.label),
            "probability": round(s.probability, 4),
            "terms": s.terms,
            "reason": reason_text(s.terms, bundle.label_name(s.label)) if s.terms else "",
        }
        for s in routing.lead
    ]
    top = lead[0]
    if routing.needs_review:
        review_reason = f"首选置信度 {top['probability']:.0%} 低于复核阈值 {routing.threshold:.0%}，请人工确认主办单位"
    else:
        review_reason = ""
    return {
        "lead": lead,
        "co_handlers": [{**dept(s.label), "probability": round(s.probability, 4)} for s in routing.co_handlers],
        "needs_review": routing.needs_review,
        "review_reason": review_reason,
        "threshold": round(routing.threshold, 4),
        "model_version": bundle.version,
    }


def route_items(bundle: Bundle, items: Sequence[tuple[str, str]], top_k: int = 5) -> list[dict]:
    """Route (title, body) pairs with a loaded bundle."""
    if not items:
        return []
    return [describe(bundle, r) for r in bundle.model.route(list(items), top_k=top_k)]


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
