"""Figures the report explains a model with: reliability, confused unit pairs, units sorted by need, label mapping."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from models.departments import DepartmentRegistry
from models.records import CaseRecord
from training.evaluate import Predictions


def reliability(pred: Predictions, bins: int = 10) -> list[dict]:
    """Per confidence bin: items, mean confidence and the share right (a calibrated model sits on the diagonal)."""
    conf = np.array(pred.confidence)
    hit = np.array([r[0] == t for r, t in zip(pred.ranked, pred.truth)], dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        out.append({"low": float(lo), "high": float(hi), "n": int(m.sum()),
                    "confidence": float(conf[m].mean()) if m.any() else None,
                    "accuracy": float(hit[m].mean()) if m.any() else None})
    return out


def confused_pairs(pred: Predictions, k: int = 8, examples: int = 3) -> list[dict]:
    """The most frequent (true unit, suggested unit) mistakes, with a few example titles each."""
    counts: Counter[tuple[str, str]] = Counter()
    titles: dict[tuple[str, str], list[str]] = {}
    for i, (truth, ranked) in enumerate(zip(pred.truth, pred.ranked)):
        if ranked and ranked[0] != truth:
            pair = (truth, ranked[0])
            counts[pair] += 1
            if len(titles.setdefault(pair, [])) < examples and i < len(pred.titles):
                titles[pair].append(pred.titles[i])
    return [{"truth": t, "predicted": p, "count": n, "examples": titles.get((t, p), [])}
            for (t, p), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def by_need(pred: Predictions, per_label: list[dict]) -> list[dict]:
    """Units sorted by need: most items routed wrongly (missed, or wrongly suggested) first, then lowest F1.
    Each row gains ``missed`` and ``wrongly_suggested`` counts."""
    suggested = Counter(r[0] for r in pred.ranked if r)
    rows = []
    for r in per_label:
        hits = round(r["recall"] * r["support"])
        rows.append({**r, "missed": r["support"] - hits, "wrongly_suggested": suggested[r["label"]] - hits})
    return sorted(rows, key=lambda r: (-(r["missed"] + r["wrongly_suggested"]), r["f1"], r["label"]))


def mapped_labels(cases: Sequence[CaseRecord], registry: DepartmentRegistry | None) -> list[dict]:
    """Names in the data that the registry's lineage maps to another unit (a merged or renamed one): how many
    cases, which years, from which unit to which."""
    if registry is None:
        return []
    rows: dict[tuple[str, str], dict] = {}
    for c in cases:
        dept = registry.find(c.lead)
        if dept is None or c.lead_id is None or dept.id == c.lead_id:
            continue
        row = rows.setdefault((dept.id, c.lead_id), {"from_id": dept.id, "from": dept.name, "to_id": c.lead_id,
                                                     "to": registry.get(c.lead_id).name, "cases": 0, "years": set()})
        row["cases"] += 1
        if c.year:
            row["years"].add(c.year)
    return [{**r, "years": sorted(r["years"])} for r in sorted(rows.values(), key=lambda r: -r["cases"])]
