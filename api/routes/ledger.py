"""The supervision ledger (台账): open cases by department, overdue cases, yearly figures per department."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api import ledger, scope
from api.deps import CanRead, RegistryDep, SettingsDep, StoreDep
from api.errors import error_responses
from api.schemas import CaseDate, FiguresPublic, LedgerOpenPublic, OverduePublic

router = APIRouter(prefix="/ledger", tags=["ledger 台账"], responses=error_responses(401, 403, 422))

AsOf = Annotated[CaseDate | None, Query(description="统计日期（默认今天），YYYY-MM-DD")]
Department = Annotated[str | None, Query(description="主办单位名称、简称或 id")]


@router.get("/open", response_model=LedgerOpenPublic)
def open_cases(principal: CanRead, store: StoreDep, registry: RegistryDep, as_of: AsOf = None,
               department: Department = None, year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> dict:
    """Assigned, not yet closed cases grouped by lead department, with due dates and days left (a unit-scoped key:
    its unit's cases, led or co-handled)."""
    return ledger.open_by_department(store, registry, as_of=as_of or date.today(), department=department, year=year,
                                     only=scope.unit_ids(principal, registry))


@router.get("/overdue", response_model=OverduePublic)
def overdue_cases(principal: CanRead, store: StoreDep, registry: RegistryDep, as_of: AsOf = None,
                  department: Department = None) -> dict:
    """Open cases past their due date, most overdue first."""
    return ledger.overdue(store, registry, as_of=as_of or date.today(), department=department,
                          only=scope.unit_ids(principal, registry))


@router.get("/figures", response_model=FiguresPublic)
def yearly_figures(_: CanRead, store: StoreDep, registry: RegistryDep, settings: SettingsDep,
                   year: Annotated[int, Query(ge=1990, le=2100, description="年度")]) -> dict:
    """Per lead department: items, closed, on-time rate, A-rate and satisfaction rate for one year."""
    return ledger.figures(store, registry, year=year, due_months=settings.due_months)
