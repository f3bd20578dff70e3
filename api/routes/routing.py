"""Lead-department suggestions: one item, a JSON batch, or an uploaded session spreadsheet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import WithJsonSchema

from api import assign, casework
from api.deps import CanRoute, ServiceDep, SettingsDep, StoreDep
from api.errors import UPLOAD_ERRORS, error_responses
from api.fields import KIND_SCHEMA
from api.schemas import Kind, RouteBatchPublic, RouteBatchRequest, RouteRequest, RouteResult, UploadRoutePublic
from api.spreadsheets import read_upload

router = APIRouter(prefix="/route", tags=["route 交办建议"], responses=error_responses(401, 403))


@router.post("", response_model=RouteResult, responses=error_responses(400, 422, 503))
def route_one(_: CanRoute, item: RouteRequest, service: ServiceDep) -> dict:
    """Ranked lead departments with probabilities and reasons, co-handlers, the review flag and precedents."""
    return service.route_one(item.title, item.body).to_dict()


@router.post("/batch", response_model=RouteBatchPublic, responses=error_responses(400, 422, 503))
def route_batch(_: CanRoute, req: RouteBatchRequest, service: ServiceDep) -> dict:
    """Up to 1,000 items in one request, each with precedents and repeats; near-duplicates are grouped (并案)."""
    batch = service.route([(i.title, i.body) for i in req.items])
    return assign.batch_public(batch, [i.id for i in req.items])


@router.post("/upload", response_model=UploadRoutePublic, responses={**UPLOAD_ERRORS, **error_responses(503)})
def route_upload(
    _: CanRoute,
    file: Annotated[UploadFile, File(description="会议期间收到的建议/提案表：CSV（UTF-8/GBK）、XLSX 或 JSONL")],
    service: ServiceDep, settings: SettingsDep, store: StoreDep,
    create: Annotated[bool, Form(description="同时把各行登记为待交办案件")] = False,
    # A form field is text or absent, never null: the schema says so (FastAPI would offer null).
    kind: Annotated[Kind | None, Form(description="文件未写类型时使用的类型"), WithJsonSchema(KIND_SCHEMA)] = None,
) -> dict:
    """Per-row suggestions; rows that cannot be read are reported by row number and the others go through.

    Results and 并案 groups name rows by the sheet's own row numbers (the header is row 1).
    """
    read = read_upload(file, max_mb=settings.max_upload_mb)
    rows, groups = assign.route_records(service, read.records)
    errors = list(read.errors)
    if create:
        errors += casework.create_routed_cases(store, read.records, rows, kind=kind)
    return {"data": rows, "errors": assign.row_errors_public(errors), "count": len(rows),
            "needs_review_count": sum(r["needs_review"] for r in rows),
            "created": sum(r["case_id"] is not None for r in rows), "duplicate_groups": groups}
