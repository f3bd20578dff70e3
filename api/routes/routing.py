"""Lead-department suggestions: one item, a JSON batch, or an uploaded session spreadsheet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from api import assign
from api.deps import CanRoute, ServiceDep, SettingsDep
from api.errors import UPLOAD_ERRORS, error_responses
from api.schemas import RouteBatchPublic, RouteBatchRequest, RouteRequest, RouteResult, UploadRoutePublic
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
    service: ServiceDep, settings: SettingsDep,
) -> dict:
    """Per-row suggestions in one answer, nothing stored; rows that cannot be read are reported by row number and
    the others go through. To register a session's rows as cases (re-uploads matched, routing in the background,
    decisions and workbooks), use ``POST /sessions``.

    Results and 并案 groups name rows by the sheet's own row numbers (the header is row 1).
    """
    read = read_upload(file, max_mb=settings.max_upload_mb)
    rows, groups = assign.route_records(service, read.records)
    return {"data": rows, "errors": assign.row_errors_public(read.errors), "count": len(rows),
            "needs_review_count": sum(r["needs_review"] for r in rows), "duplicate_groups": groups}
