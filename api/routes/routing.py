"""Lead-department suggestions: one item, a JSON batch, or an uploaded session spreadsheet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from api import assign, casework
from api.deps import BundleDep, CanRoute, RegistryDep, SearcherDep, SettingsDep, StoreDep
from api.schemas import Kind, RouteBatchPublic, RouteBatchRequest, RouteRequest, RouteResult, UploadRoutePublic
from api.spreadsheets import read_upload

router = APIRouter(prefix="/route", tags=["route 交办建议"])


@router.post("", response_model=RouteResult)
def route_one(_: CanRoute, item: RouteRequest, bundle: BundleDep, registry: RegistryDep, settings: SettingsDep,
              searcher: SearcherDep) -> dict:
    """Ranked lead departments with probabilities and reasons, co-handlers, the review flag and precedents."""
    items = [(item.title, item.body)]
    results = assign.route(bundle, items, registry=registry.registry, settings=settings)
    assign.attach_precedents(results, items, searcher)
    return results[0]


@router.post("/batch", response_model=RouteBatchPublic)
def route_batch(_: CanRoute, req: RouteBatchRequest, bundle: BundleDep, registry: RegistryDep, settings: SettingsDep,
                searcher: SearcherDep) -> dict:
    """Up to 1,000 items in one request; near-duplicates are grouped when the precedent index is loaded."""
    items = [(i.title, i.body) for i in req.items]
    results = assign.route(bundle, items, registry=registry.registry, settings=settings)
    data = [{**r, "index": n, "id": i.id} for n, (i, r) in enumerate(zip(req.items, results))]
    return {"data": data, "count": len(data), "needs_review_count": sum(r["needs_review"] for r in data),
            "duplicate_groups": assign.duplicate_groups(items, searcher), "precedents_available": searcher is not None}


@router.post("/upload", response_model=UploadRoutePublic)
def route_upload(
    _: CanRoute,
    file: Annotated[UploadFile, File(description="会议期间收到的建议/提案表：CSV（UTF-8/GBK）、XLSX 或 JSONL")],
    bundle: BundleDep, registry: RegistryDep, settings: SettingsDep, searcher: SearcherDep, store: StoreDep,
    create: Annotated[bool, Form(description="同时把各行登记为待交办案件")] = False,
    kind: Annotated[Kind | None, Form(description="文件未写类型时使用的类型")] = None,
) -> dict:
    """Per-row suggestions; rows that cannot be read are reported by row number and the others go through."""
    read = read_upload(file, max_mb=settings.max_upload_mb)
    rows, groups = assign.route_records(bundle, read.records, registry=registry.registry, settings=settings,
                                        searcher=searcher)
    errors = list(read.errors)
    if create:
        errors += casework.create_routed_cases(store, read.records, rows, kind=kind)
    return {"data": rows, "errors": assign.row_errors_public(errors), "count": len(rows),
            "needs_review_count": sum(r["needs_review"] for r in rows),
            "created": sum(r["case_id"] is not None for r in rows), "duplicate_groups": groups}
