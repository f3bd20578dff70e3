"""The supervision ledger (台账): open cases by department, overdue and due-soon cases, yearly figures per department,
and the per-unit supervision figures as of a date with drill-down to their items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import ledger, scope
from api.deps import CanRead, RegistryDep, SettingsDep, StoreDep
from api.errors import error_responses
from api.report_schemas import Figure, SupervisionItemsPublic, SupervisionPublic
from api.schemas import CaseDate, FiguresPublic, LedgerOpenPublic, OverduePublic
from models import clock

router = APIRouter(prefix="/ledger", tags=["ledger 台账"], responses=error_responses(401, 403, 422))

AsOf = Annotated[CaseDate | None, Query(description="统计日期（默认今天），YYYY-MM-DD")]
Department = Annotated[str | None, Query(description="主办单位名称、简称或 id")]
Start = Annotated[CaseDate | None, Query(description="交办日期不早于（YYYY-MM-DD）")]
End = Annotated[CaseDate | None, Query(description="交办日期不晚于（YYYY-MM-DD）")]


@router.get("/open", response_model=LedgerOpenPublic)
def open_cases(principal: CanRead, store: StoreDep, registry: RegistryDep, as_of: AsOf = None,
               department: Department = None, year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> dict:
    """Assigned, not yet closed cases grouped by lead department, with due dates and days left (a unit-scoped key:
    its unit's cases, led or co-handled)."""
    return ledger.open_by_department(store, registry, as_of=as_of or clock.today(), department=department, year=year,
                                     only=scope.unit_ids(principal, registry))


@router.get("/overdue", response_model=OverduePublic)
def overdue_cases(principal: CanRead, store: StoreDep, registry: RegistryDep, as_of: AsOf = None,
                  department: Department = None) -> dict:
    """Open cases past their due date, most overdue first."""
    return ledger.overdue(store, registry, as_of=as_of or clock.today(), department=department,
                          only=scope.unit_ids(principal, registry))


@router.get("/figures", response_model=FiguresPublic)
def yearly_figures(_: CanRead, store: StoreDep, registry: RegistryDep, settings: SettingsDep,
                   year: Annotated[int, Query(ge=1990, le=2100, description="年度")]) -> dict:
    """Per lead department: items, closed, on-time rate, A-rate and satisfaction rate for one year."""
    return ledger.figures(store, registry, year=year, due_months=settings.due_months)


@router.get("/due-soon", response_model=SupervisionItemsPublic)
def due_soon_cases(principal: CanRead, store: StoreDep, registry: RegistryDep, as_of: AsOf = None,
                   department: Department = None) -> dict:
    """Open cases due within the next 14 days, soonest first."""
    return ledger.supervision_items(store, registry, as_of=as_of or clock.today(), figure="due_soon",
                                    department=department, only=scope.unit_ids(principal, registry))


@router.get("/supervision", response_model=SupervisionPublic)
def supervision_ledger(principal: CanRead, store: StoreDep, registry: RegistryDep, settings: SettingsDep,
                       as_of: AsOf = None, start: Start = None, end: End = None) -> dict:
    """督办台账: per unit and in total, as of a date, for the cases assigned in a range: assigned, closed, on time,
    closed late, open, overdue, due within 14 days, closure rate, reply categories, satisfaction, 不满意 and
    重新办理."""
    return ledger.supervision_ledger(store, registry, as_of=as_of or clock.today(), start=start, end=end,
                                     categories=settings.reply_categories, only=scope.unit_ids(principal, registry))


@router.get("/supervision/items", response_model=SupervisionItemsPublic)
def supervision_items(principal: CanRead, store: StoreDep, registry: RegistryDep, as_of: AsOf = None,
                      figure: Annotated[Figure, Query(description="统计项，如 overdue（超期未办结）")] = "assigned",
                      department: Department = None,
                      category: Annotated[str | None, Query(max_length=5, description="答复类别，如 A")] = None,
                      start: Start = None, end: End = None) -> dict:
    """The cases behind one figure of the supervision ledger (of one unit, of one reply category), most urgent
    first."""
    return ledger.supervision_items(store, registry, as_of=as_of or clock.today(), figure=figure,
                                    department=department, category=category, start=start, end=end,
                                    only=scope.unit_ids(principal, registry))
