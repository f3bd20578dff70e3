"""Routing as the service presents it: today's units, the configured review threshold, precedents, duplicates."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from api.config import Settings
from models.bundle import Bundle
from models.departments import DepartmentRegistry
from models.records import CaseRecord, RowError
from models.routing import reason_text, route_items

logger = logging.getLogger(__name__)

PRECEDENTS_K = 5


def query_text(title: str, body: str) -> str:
    return "\n".join(t for t in (title, body) if t)


def _to_current(entries: list[dict], registry: DepartmentRegistry, *, with_reason: bool) -> list[dict]:
    """Relabel suggestions with today's unit (a model trained before a merge still names the old one)."""
    merged: dict[str, dict] = {}
    for e in entries:
        dept = registry.current(e["id"]) if e["id"] in registry else None
        if dept is not None:
            e = {**e, "id": dept.id, "name": dept.name, "short_name": dept.short_name}
        if e["id"] in merged:
            merged[e["id"]]["probability"] = round(merged[e["id"]]["probability"] + e["probability"], 4)
        else:
            merged[e["id"]] = e
    out = sorted(merged.values(), key=lambda e: -e["probability"])
    if with_reason:
        for e in out:
            e["reason"] = reason_text(e.get("terms") or [], e["name"]) if e.get("terms") else ""
    return out


def present(result: dict, registry: DepartmentRegistry, threshold: float | None) -> dict:
    """Apply today's registry and an optional review-threshold override to one ``route_items`` result."""
    out = dict(result)
    out["lead"] = _to_current(result["lead"], registry, with_reason=True)
    lead_id = out["lead"][0]["id"]
    out["co_handlers"] = [c for c in _to_current(result["co_handlers"], registry, with_reason=False)
                          if c["id"] != lead_id]
    top = out["lead"][0]["probability"]
    if threshold is not None:
        out["threshold"] = threshold
    out["needs_review"] = top < out["threshold"]
    out["review_reason"] = (
        f"首选置信度 {top:.0%} 低于复核阈值 {out['threshold']:.0%}，请人工确认主办单位" if out["needs_review"] else ""
    )
    out["precedents"], out["precedents_available"] = [], False
    return out


def route(bundle: Bundle, items: Sequence[tuple[str, str]], *, registry: DepartmentRegistry,
          settings: Settings) -> list[dict]:
    """Route (title, body) pairs; results carry lead, co_handlers, needs_review, model_version, ..."""
    results = route_items(bundle, list(items), top_k=settings.top_k)
    return [present(r, registry, settings.review_threshold) for r in results]


def attach_precedents(results: list[dict], items: Sequence[tuple[str, str]], searcher, k: int = PRECEDENTS_K) -> None:
    """Add the most similar past cases to each result (nothing when no searcher is loaded)."""
    if searcher is None:
        return
    mark_repeats(results, items, searcher)
    for result, (title, body) in zip(results, items):
        try:
            result["precedents"] = searcher.search(query_text(title, body), k=k)
            result["precedents_available"] = True
        except Exception as exc:  # search must never break routing
            logger.warning("precedent search failed (%s); routing without precedents", type(exc).__name__)


def mark_repeats(results: list[dict], items: Sequence[tuple[str, str]], searcher) -> None:
    """Flag items that repeat an earlier case (similarity above the index's duplicate threshold)."""
    if not hasattr(searcher, "repeats"):
        return
    try:
        for result, repeat in zip(results, searcher.repeats([query_text(t, b) for t, b in items])):
            result["repeat_of"] = repeat
    except Exception as exc:  # never break routing
        logger.warning("repeat detection failed (%s)", type(exc).__name__)


def duplicate_groups(items: Sequence[tuple[str, str]], searcher) -> list[list[int]]:
    if searcher is None or len(items) < 2:
        return []
    try:
        return [list(g) for g in searcher.duplicates([query_text(t, b) for t, b in items]) if len(g) > 1]
    except Exception as exc:
        logger.warning("duplicate detection failed (%s)", type(exc).__name__)
        return []


def route_records(bundle: Bundle, records: list[CaseRecord], *, registry: DepartmentRegistry, settings: Settings,
                  searcher=None) -> tuple[list[dict], list[list[int]]]:
    """Route the good rows of a spreadsheet; each result carries its row number, case number and title."""
    items = [(r.title, r.body) for r in records]
    results = route(bundle, items, registry=registry, settings=settings) if items else []
    rows = [{**res, "row": rec.row, "case_no": rec.case_no, "title": rec.title, "case_id": None}
            for rec, res in zip(records, results)]
    return rows, duplicate_groups(items, searcher)


def row_errors_public(errors: Sequence[RowError]) -> list[dict]:
    return [{"row": e.row, "field": e.field, "message": e.message} for e in sorted(errors, key=lambda e: e.row)]
