"""退办/改办: a lead unit asks, within the window, for an item to go elsewhere; an assigner approves or refuses."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api import reassign
from api.deps import CanDecide, CanRead, CanRequestReassignment, RegistryDep, SettingsDep, StoreDep
from api.errors import error_responses
from api.fields import RowId
from api.role_schemas import ReassignmentAnswer, ReassignmentCreate, ReassignmentPublic, ReassignmentsPublic

router = APIRouter(tags=["reassignments 退办改办"], responses=error_responses(400, 401, 403))
NO_CASE = (404, "案件不存在（case_not_found）")
NO_REQUEST = (404, "退办申请不存在（reassignment_not_found）")


@router.post("/cases/{case_id:int}/reassignment", response_model=ReassignmentPublic, status_code=201,
             responses=error_responses(NO_CASE, (409, "不在办理中、不是主办单位、已过退办期限或已有待审申请"), 422))
def request_reassignment(principal: CanRequestReassignment, case_id: RowId, body: ReassignmentCreate,
                         store: StoreDep, registry: RegistryDep, settings: SettingsDep) -> dict:
    """The lead unit says the item is not its own, with a reason and (optionally) the unit it should go to; allowed
    within ``JIAOBAN_REASSIGN_DAYS`` working days of assignment (weekends and ``JIAOBAN_HOLIDAYS`` excluded)."""
    return reassign.request(store, registry, settings, case_id, body, principal=principal)


@router.get("/reassignments", response_model=ReassignmentsPublic, responses=error_responses(422))
def list_reassignments(
    principal: CanRead, store: StoreDep, registry: RegistryDep, settings: SettingsDep,
    status: Annotated[Literal["requested", "approved", "refused"] | None,
                      Query(description="requested 待审 / approved 已同意 / refused 不同意")] = None,
) -> dict:
    """Requests, newest first (a unit-scoped key: its unit's)."""
    data = reassign.listing(store, registry, settings, principal=principal, status=status)
    return {"data": data, "count": len(data)}


@router.get("/reassignments/figures", responses=error_responses(422))
def reassignment_figures(_: CanRead, store: StoreDep, registry: RegistryDep) -> dict:
    """Requests and approved reassignments per unit (over the items first assigned to it) and per model version."""
    return reassign.figures(store, registry)


@router.post("/reassignments/{request_id:int}/approve", response_model=ReassignmentPublic,
             responses=error_responses(NO_REQUEST, (409, "申请已处理（reassignment_answered）"), 422))
def approve(principal: CanDecide, request_id: RowId, body: ReassignmentAnswer, store: StoreDep,
            registry: RegistryDep, settings: SettingsDep) -> dict:
    """Move the item to ``lead`` (or the unit the request suggested); its deadline restarts from today."""
    return reassign.answer(store, registry, settings, request_id, body, principal=principal, approve=True)


@router.post("/reassignments/{request_id:int}/refuse", response_model=ReassignmentPublic,
             responses=error_responses(NO_REQUEST, (409, "申请已处理（reassignment_answered）"), 422))
def refuse(principal: CanDecide, request_id: RowId, body: ReassignmentAnswer, store: StoreDep,
           registry: RegistryDep, settings: SettingsDep) -> dict:
    """Keep the item where it is; ``answer`` says why."""
    return reassign.answer(store, registry, settings, request_id, body, principal=principal, approve=False)
