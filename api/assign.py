"""Routing results as the API returns them: thin translations of ``models.service`` answers into JSON bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

from models.records import CaseRecord, RowError
from models.results import RoutedBatch
from models.service import RoutingService


@overload
def suggestion(service: RoutingService, title: str, body: str) -> dict: ...
@overload
def suggestion(service: RoutingService | None, title: str, body: str) -> dict | None: ...
def suggestion(service: RoutingService | None, title: str, body: str) -> dict | None:
    """The suggestion stored beside a case (no precedents: the case page searches them when it is opened)."""
    if service is None:
        return None
    return service.route_one(title, body, precedents=False).to_dict()


def batch_public(batch: RoutedBatch, ids: Sequence[str | None]) -> dict:
    data = [{**r.to_dict(), "id": i} for r, i in zip(batch.items, ids)]
    return {"data": data, "count": len(data), "needs_review_count": batch.needs_review_count,
            "duplicate_groups": [g.indexes for g in batch.duplicate_groups],
            "precedents_available": batch.precedents_available}


def route_records(service: RoutingService, records: list[CaseRecord]) -> tuple[list[dict], list[list[int]]]:
    """Route the good rows of a spreadsheet; results and 并案 groups name the rows as the sheet numbers them."""
    batch = service.route([(r.title, r.body) for r in records], rows=[r.row for r in records])
    rows = [{**res.to_dict(), "case_no": rec.case_no, "title": rec.title}
            for rec, res in zip(records, batch.items)]
    return rows, [g.labels() for g in batch.duplicate_groups]


def row_errors_public(errors: Sequence[RowError]) -> list[dict]:
    return [{"row": e.row, "field": e.field, "message": e.message} for e in sorted(errors, key=lambda e: e.row)]
