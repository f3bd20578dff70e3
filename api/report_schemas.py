"""Response bodies of the supervision ledger (督办台账) and its drill-down; see models/supervision.py for the rules."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas import DeptRef, LedgerCase

Figure = Literal["assigned", "closed", "on_time", "closed_late", "open", "overdue", "due_soon", "unsatisfied",
                 "reopened"]


class SupervisionFigures(BaseModel):
    assigned: int = Field(description="交办件数")
    closed: int = Field(description="已办结（统计日期当日或之前）")
    on_time: int = Field(description="按时办结")
    closed_late: int = Field(description="逾期办结")
    open: int = Field(description="未办结")
    overdue: int = Field(description="超期未办结")
    due_soon: int = Field(description="未办结、14 天内到期")
    unsatisfied: int = Field(description="曾收到“不满意”反馈的件数")
    reopened: int = Field(description="重新办理的件数")
    reopened_closed: int = Field(description="重新办理后已再次办结")
    reopened_open: int = Field(description="重新办理中")
    closure_rate: float | None = Field(description="办结率：已办结 / 交办件数")
    on_time_rate: float | None = Field(description="按时办结率：按时办结 / 已办结（有答复期限的）")
    categories: dict[str, int] = Field(description="已办结件的答复类别构成，如 {A: 3, B: 1, C: 0}")
    a_rate: float | None = Field(description="第一个答复类别（A 类，解决/采纳）的比例")
    with_feedback: int
    satisfied: int = Field(description="满意或基本满意")
    satisfaction_rate: float | None = Field(description="满意率：满意和基本满意 / 有反馈的已办结件")
    points: int = Field(0, description="已办结件的建议要点数（答复覆盖核对）")
    points_answered: int = Field(0, description="其中答复回应了的要点数")
    points_answered_rate: float | None = Field(None, description="要点答复率：回应了的要点 / 要点数")
    reminders: int = Field(0, description="截至统计日发出的催办次数")
    reminded: int = Field(0, description="被催办过的件数")


class UnitSupervision(SupervisionFigures):
    department: DeptRef


class SupervisionPublic(BaseModel):
    as_of: date
    start: date | None
    end: date | None
    due_soon_days: int
    categories: list[str]
    data: list[UnitSupervision]
    total: SupervisionFigures
    count: int = Field(description="统计范围内的件数")


class SupervisionItem(LedgerCase):
    closed_on: date | None = Field(description="办结日期（统计日期之后办结的为空）")
    category: str
    feedback: str
    unsatisfied: bool
    reopened: bool
    status: str = Field(description="已办结 / 逾期办结 / 超期未办结 / 即将到期 / 办理中")
    figures: list[Figure]


class SupervisionItemsPublic(BaseModel):
    as_of: date
    figure: Figure
    department: DeptRef | None
    data: list[SupervisionItem]
    count: int
