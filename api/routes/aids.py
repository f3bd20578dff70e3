"""Reply aids: points answered, category consistency, admissibility pre-screen, redaction and publication-ready
replies. Advice only: none of them blocks a reply or an item, and a dismissal is recorded."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api import aids, scope
from api.aid_schemas import (
    AdmissibilityPublic,
    AdmissibilityRequest,
    Aid,
    CaseAidsPublic,
    DismissalCreate,
    DismissalPublic,
    DismissalsPublic,
    PublicationCreate,
    PublicationPublic,
    ReplyCheckPublic,
    ReplyCheckRequest,
)
from api.deps import (
    CanRead,
    CanRecordOutcome,
    CanReport,
    CanRoute,
    OptionalServiceDep,
    RegistryDep,
    SettingsDep,
    StoreDep,
)
from api.errors import error_responses
from api.fields import RowId

router = APIRouter(tags=["aids 答复辅助"], responses=error_responses(401, 403, 422))
NO_CASE = (404, "案件不存在（case_not_found）")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/aids/reply-check", response_model=ReplyCheckPublic, responses=error_responses(400))
def reply_check(_: CanRead, req: ReplyCheckRequest, store: StoreDep, settings: SettingsDep,
                service: OptionalServiceDep) -> dict:
    """A draft reply against its item: which points it answers, whether its category fits what it says (with the
    deciding phrases), and the personal data found in both texts with their masked versions."""
    return aids.reply_check(store, settings, body=req.body, reply=req.reply, category_code=req.category,
                            service=service)


@router.post("/aids/admissibility", response_model=AdmissibilityPublic, responses=error_responses(400))
def admissibility(_: CanRoute, req: AdmissibilityRequest, service: OptionalServiceDep, settings: SettingsDep) -> dict:
    """Pre-screen at intake: several unrelated matters in one item (suggest a split) and the configured not-filing
    grounds, each with a reason code for the review queue. Never a rejection."""
    flags = aids.screen(service, settings, req.title, req.body)
    return {"data": flags, "count": len(flags)}


@router.get("/cases/{case_id:int}/aids", response_model=CaseAidsPublic, responses=error_responses(NO_CASE))
def case_aids(principal: CanRead, case_id: RowId, store: StoreDep, registry: RegistryDep, settings: SettingsDep,
              service: OptionalServiceDep) -> dict:
    """The aids of a stored case (its latest reply), for the drafter and the supervisor's review of closed cases."""
    case = scope.check(store.get_case(case_id), principal, registry, case_id)
    return aids.case_aids(store, settings, service, case)


@router.post("/cases/{case_id:int}/aid-dismissals", response_model=DismissalPublic, status_code=201,
             responses=error_responses(400, NO_CASE))
def dismiss(principal: CanRead, case_id: RowId, body: DismissalCreate, store: StoreDep,
            registry: RegistryDep) -> dict:
    """Record that staff set an aid's advice aside (who, when, why); the advice never blocks anything."""
    scope.check(store.get_case(case_id), principal, registry, case_id)
    return aids.dismiss(store, case_id, aid=body.aid, code=body.code, note=body.note, principal=principal)


@router.get("/aids/dismissals", response_model=DismissalsPublic)
def list_dismissals(_: CanReport, store: StoreDep, registry: RegistryDep,
                    unit: Annotated[str | None, Query(max_length=100, description="主办单位（名称或简称）")] = None,
                    aid: Annotated[Aid | None, Query(description="只看某一种辅助")] = None) -> dict:
    """督查室: every dismissal of an aid (which case, which aid, who, when, why), newest first."""
    rows = aids.all_dismissals(store, registry, unit=unit, aid=aid)
    return {"data": rows, "count": len(rows)}


@router.post("/cases/{case_id:int}/publication", response_model=PublicationPublic, status_code=201,
             responses=error_responses(400, NO_CASE, (409, "尚未登记答复（no_reply）")))
def confirm_publication(principal: CanRecordOutcome, case_id: RowId, body: PublicationCreate, store: StoreDep,
                        registry: RegistryDep) -> dict:
    """Confirm the publication-ready version of the latest reply (masked, checked by the drafter)."""
    case = scope.check(store.get_case(case_id), principal, registry, case_id)
    return aids.confirm_publication(store, case, title=body.title, reply=body.reply, principal=principal)


@router.get("/aids/publications.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def publications_xlsx(_: CanRead, store: StoreDep, registry: RegistryDep) -> Response:
    """公开答复 (XLSX): every confirmed publication-ready reply, the latest version per case."""
    def name(dept_id):
        ref = registry.ref(dept_id)
        return ref["name"] if ref else ""

    data = aids.publication_workbook(store, name)
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote('公开答复.xlsx')}"})
