"""Bodies of the role endpoints: who the caller is, and 退办/改办 (reassignment) requests."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.fields import CaseDate, NonBlank, Strict
from api.schemas import DeptRef


class WhoAmI(BaseModel):
    name: str
    role: str = Field(description="admin 数据/系统管理 / assigner 交办 / drafter 答复起草 / supervisor 督查")
    unit: DeptRef | None = Field(description="限定单位的答复起草密钥所属单位")
    actions: list[str] = Field(description="本角色可做的事：route、decide、read、search、record_outcome、"
                                           "request_reassignment、report、admin …")
    reply_categories: list[str] = Field(description="本地的答复类别（JIAOBAN_REPLY_CATEGORIES）")
    reassign_days: int = Field(description="交办后可申请退办的工作日数")
    timezone: str = Field(description="办公地时区（JIAOBAN_TIMEZONE）：页面按它显示时间、计算今天")


class ReassignmentCreate(Strict):
    reason: NonBlank = Field(max_length=2000, description="退办理由：为什么不属于本单位职责")
    suggested_unit: str | None = Field(None, max_length=100, description="建议改由哪个单位办理（名称、简称或 id）")


class ReassignmentAnswer(Strict):
    answer: str = Field("", max_length=2000, description="同意或不同意的说明（不同意时必填）")
    lead: str | None = Field(None, max_length=100, description="同意时改由哪个单位主办（不填用申请中建议的单位）")
    co_handlers: list[str] = Field([], max_length=10, description="同意时的协办单位")


class ReassignmentPublic(BaseModel):
    id: int
    case_id: int
    case_no: str | None
    title: str
    unit: DeptRef | None = Field(description="申请退办的单位")
    reason: str
    suggested: DeptRef | None
    status: str = Field(description="requested 待审 / approved 已同意 / refused 不同意")
    requested_by: str
    requested_at: str
    deadline: str | None = Field(description="可申请退办的最后一天（交办后若干个工作日）")
    decided_by: str | None
    decided_at: str | None
    answer: str


class ReassignmentsPublic(BaseModel):
    data: list[ReassignmentPublic]
    count: int


# -- 催办 --------------------------------------------------------------------------------------------------------
class ReminderCreate(Strict):
    note: str = Field("", max_length=500, description="催办内容（不填用“请抓紧办理，按期答复代表委员。”）")


class ReminderBatch(Strict):
    department: NonBlank = Field(max_length=100, description="被催办的单位（名称、简称或 id）")
    figure: Literal["overdue", "due_soon"] = Field(description="overdue 超期未办结 / due_soon 即将到期")
    as_of: CaseDate | None = Field(None, description="统计日期 YYYY-MM-DD（默认今天）")
    note: str = Field("", max_length=500, description="催办内容")


class ReminderPublic(BaseModel):
    id: int
    case_id: int
    case_no: str | None
    title: str
    unit: DeptRef | None = Field(description="被催办的单位（当时的主办单位）")
    note: str
    due_on: str | None = Field(description="催办时的答复期限")
    sent_by: str
    sent_at: str
    acknowledged_by: str | None
    acknowledged_at: str | None
    unchanged: bool = Field(description="同日同内容已催办过：没有再发一次")


class RemindersPublic(BaseModel):
    data: list[ReminderPublic]
    count: int


class ReminderBatchPublic(RemindersPublic):
    department: DeptRef | None
    figure: str
    as_of: date
    new: int = Field(description="本次新发出的催办条数（其余今天已催办过）")
    skipped: list[int] = Field(description="统计日期之后已办结、因此未催办的件（case id）")


class ReminderFigure(BaseModel):
    department: DeptRef | None
    reminders: int
    items: int = Field(description="被催办过的件数")
    unacknowledged: int = Field(description="尚未确认已阅的催办")
    still_open: int = Field(description="被催办过、至今未办结的件数")


class ReminderFiguresPublic(BaseModel):
    data: list[ReminderFigure]
    count: int
    reminders: int
