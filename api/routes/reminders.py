"""催办: the supervision office presses a unit about its open items; the unit's drafters acknowledge them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import reminders, scope
from api.deps import CanAcknowledgeReminder, CanRead, CanRemind, RegistryDep, StoreDep
from api.errors import error_responses
from api.fields import MAX_ID, RowId
from api.role_schemas import (
    ReminderBatch,
    ReminderBatchPublic,
    ReminderCreate,
    ReminderFiguresPublic,
    ReminderPublic,
    RemindersPublic,
)
from models import clock

router = APIRouter(tags=["reminders 催办"], responses=error_responses(400, 401, 403))
NO_CASE = (404, "案件不存在（case_not_found）")


@router.post("/cases/{case_id:int}/reminders", response_model=ReminderPublic, status_code=201,
             responses=error_responses(NO_CASE, (409, "案件已办结或尚未交办（case_not_assigned）"), 422))
def remind(principal: CanRemind, case_id: RowId, body: ReminderCreate, store: StoreDep,
           registry: RegistryDep) -> dict:
    """Remind the item's lead unit; the same note for the same item on the same day is not sent twice
    (``unchanged``)."""
    return reminders.send(store, registry, case_id, body.note, principal=principal)


@router.post("/reminders/batch", response_model=ReminderBatchPublic, status_code=201,
             responses=error_responses(422))
def remind_unit(principal: CanRemind, body: ReminderBatch, store: StoreDep, registry: RegistryDep) -> dict:
    """Remind a unit of every one of its overdue (or due-soon) items as of a date, in one step."""
    return reminders.send_many(store, registry, department=body.department, figure=body.figure,
                               as_of=body.as_of or clock.today(), note=body.note, principal=principal)


@router.get("/reminders", response_model=RemindersPublic, responses=error_responses(422))
def list_reminders(principal: CanRead, store: StoreDep, registry: RegistryDep,
                   case_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="某件的催办")] = None,
                   department: Annotated[str | None, Query(max_length=100, description="被催办的单位")] = None,
                   unacknowledged: Annotated[bool, Query(description="只看尚未确认已阅的")] = False) -> dict:
    """Reminders, newest first (a unit-scoped key: those of its unit's items)."""
    data = reminders.listing(store, registry, principal=principal, case_id=case_id, department=department,
                             unacknowledged=unacknowledged)
    return {"data": data, "count": len(data)}


@router.get("/reminders/figures", response_model=ReminderFiguresPublic)
def reminder_figures(principal: CanRead, store: StoreDep, registry: RegistryDep) -> dict:
    """Per unit: reminders sent, items reminded, reminders awaiting acknowledgement, reminded items still open."""
    return reminders.figures(store, registry, only=scope.unit_ids(principal, registry))


@router.post("/reminders/{reminder_id:int}/acknowledge", response_model=ReminderPublic,
             responses=error_responses((404, "催办记录不存在（reminder_not_found）"),
                                       (409, "不是被催办的单位（not_the_lead）"), 422))
def acknowledge(principal: CanAcknowledgeReminder, reminder_id: RowId, store: StoreDep,
                registry: RegistryDep) -> dict:
    """The unit has seen the reminder (again: ``unchanged``)."""
    return reminders.acknowledge(store, registry, reminder_id, principal=principal)
