"""Cases: create, import, read, list; the staff decision; the handling outcome; the training export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import FileResponse

from api import assign, casework, scope
from api.deps import (
    Admin,
    CanCreateCase,
    CanDecide,
    CanRead,
    CanRecordOutcome,
    CanRoute,
    OptionalServiceDep,
    RegistryDep,
    ServiceDep,
    SessionsDep,
    SettingsDep,
    StoreDep,
)
from api.errors import UPLOAD_ERRORS, error_responses
from api.fields import MAX_ID, RowId
from api.idempotency import IdempotencyKey, once, request_route
from api.schemas import (
    CaseCreate,
    CaseDetail,
    CasesPublic,
    DecisionCreate,
    DecisionPublic,
    ImportPublic,
    Kind,
    OutcomeCreate,
    OutcomePublic,
    RouteResult,
)
from api.spreadsheets import read_upload

Status = Literal["open", "assigned", "closed"]

router = APIRouter(prefix="/cases", tags=["cases 案件"], responses=error_responses(401, 403))
NO_CASE = (404, "案件不存在（case_not_found）")


@router.post("", response_model=CaseDetail, status_code=201,
             responses=error_responses(
                 400, (409, "编号已存在（duplicate_case_no）、Idempotency-Key 已用于另一请求或正在处理"), 422))
def create_case(principal: CanCreateCase, data: CaseCreate, store: StoreDep, registry: RegistryDep,
                service: OptionalServiceDep, settings: SettingsDep, sessions_db: SessionsDep,
                idempotency_key: IdempotencyKey = None) -> dict:
    """Register one item; with ``route`` (default) the model's suggestion is computed and kept beside it.
    With an ``Idempotency-Key``, sending the same request again registers nothing more."""
    return once(sessions_db, idempotency_key, principal, request_route("POST /cases", data), 201,
                lambda: casework.create_case(store, registry, data, service=service, settings=settings))


@router.post("/import", response_model=ImportPublic, responses=UPLOAD_ERRORS)
def import_cases(
    principal: Admin,
    file: Annotated[UploadFile, File(description="台账：CSV（UTF-8/GBK）、XLSX 或 JSONL；可含主办、答复、办结日期")],
    store: StoreDep, registry: RegistryDep, settings: SettingsDep,
) -> dict:
    """Import open or closed cases; bad rows are reported by row number, the good rows are imported."""
    read = read_upload(file, max_mb=settings.max_upload_mb, categories=settings.reply_categories)
    ids, errors = casework.import_cases(store, registry, read.records, principal=principal, settings=settings,
                                        columns=read.columns)
    return {"created": len(ids), "case_ids": ids, "errors": assign.row_errors_public(read.errors + errors),
            "count": read.total}


@router.get("/export", response_class=FileResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **error_responses(422)})
def export_closed(_: Admin, store: StoreDep, registry: RegistryDep, settings: SettingsDep,
                  year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> FileResponse:
    """Closed cases as the training CSV (a snapshot under the data directory; retraining reads this, not the DB)."""
    path, n = casework.export_closed(store, registry, settings, year=year)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=path.name,
                        headers={"X-Rows": str(n), "X-Export-Path": str(path)})


@router.get("", response_model=CasesPublic, responses=error_responses(422))
def list_cases(
    principal: CanRead, store: StoreDep, registry: RegistryDep,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    status: Annotated[Status | None, Query(description="open 待交办 / assigned 办理中 / closed 已办结")] = None,
    department: Annotated[str | None, Query(description="主办单位（名称、简称或 id；含已并入的原单位）")] = None,
    kind: Kind | None = None,
    q: Annotated[str | None, Query(max_length=100, description="标题包含的文字")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    lead_ids = None
    if department:
        dept = registry.resolve(department, field="department")
        lead_ids = [dept.id, *(d.id for d in registry.registry.lineage(dept.id))]
    rows, count = store.list_cases(year=year, status=status, lead_ids=lead_ids, kind=kind, q=q, limit=limit,
                                   offset=offset, handled_by=scope.unit_ids(principal, registry))
    return {"data": [casework.case_public(r, registry) for r in rows], "count": count}


@router.get("/{case_id:int}", response_model=CaseDetail, responses=error_responses(NO_CASE, 422))
def get_case(principal: CanRead, case_id: RowId, store: StoreDep, registry: RegistryDep) -> dict:
    """One case with its suggestion, every decision (latest last) and every recorded outcome; a unit-scoped key
    sees its unit's cases only (404 otherwise)."""
    scope.check(store.get_case(case_id), principal, registry, case_id)
    return casework.case_detail(store, registry, case_id)


@router.post("/{case_id:int}/route", response_model=RouteResult, responses=error_responses(NO_CASE, 422, 503))
def route_case(_: CanRoute, case_id: RowId, service: ServiceDep, store: StoreDep) -> dict:
    """Route a stored case again with the model in service and keep the new suggestion beside it."""
    return casework.route_case(store, case_id, service=service)


@router.post("/{case_id:int}/decision", response_model=DecisionPublic, status_code=201,
             responses=error_responses(400, NO_CASE, (409, "Idempotency-Key 已用于另一请求或正在处理"), 422))
def record_decision(principal: CanDecide, case_id: RowId, body: DecisionCreate, store: StoreDep, registry: RegistryDep,
                    service: OptionalServiceDep, settings: SettingsDep, sessions_db: SessionsDep,
                    idempotency_key: IdempotencyKey = None) -> dict:
    """Record the lead and co-handlers staff chose (accepting or overriding the suggestion shown). The same decision
    again (a retry, a double click) adds nothing to the history and answers ``unchanged``."""
    return once(sessions_db, idempotency_key, principal, request_route(f"POST /cases/{case_id}/decision", body), 201,
                lambda: casework.record_decision(store, registry, case_id, body, principal=principal,
                                                 service=service, settings=settings))


@router.post("/{case_id:int}/outcome", response_model=OutcomePublic, status_code=201, responses=error_responses(
    400, NO_CASE, (409, "案件尚未交办（case_not_assigned）、已办结而未填 closed_on（case_closed）"
                   "或未办结而要求重新办理（case_not_closed）"), 422))
def record_outcome(principal: CanRecordOutcome, case_id: RowId, body: OutcomeCreate, store: StoreDep,
                   settings: SettingsDep, registry: RegistryDep) -> dict:
    """Record the reply, its category, the proposer's feedback and (when closed) the closing date; a unit-scoped
    key only for its unit's cases."""
    scope.check(store.get_case(case_id), principal, registry, case_id)
    return casework.record_outcome(store, case_id, body, principal=principal, settings=settings)

