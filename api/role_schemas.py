"""Bodies of the role endpoints: who the caller is, and 退办/改办 (reassignment) requests."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.fields import NonBlank, Strict
from api.schemas import DeptRef


class WhoAmI(BaseModel):
    name: str
    role: str = Field(description="admin 数据/系统管理 / assigner 交办 / drafter 答复起草 / supervisor 督查")
    unit: DeptRef | None = Field(description="限定单位的答复起草密钥所属单位")
    actions: list[str] = Field(description="本角色可做的事：route、decide、read、search、record_outcome、"
                                           "request_reassignment、report、admin …")
    reply_categories: list[str] = Field(description="本地的答复类别（JIAOBAN_REPLY_CATEGORIES）")
    reassign_days: int = Field(description="交办后可申请退办的工作日数")


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
