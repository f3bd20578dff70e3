"""Request and response bodies of the session (会次) and job endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from api.fields import Strict
from api.schemas import DeptRef, RowErrorPublic


class JobPublic(BaseModel):
    id: int
    kind: str
    session_id: int | None
    status: str = Field(description="queued 排队中 / running 进行中 / done 已完成 / failed 失败 / cancelled 已取消")
    status_text: str
    total: int = Field(description="要分析的行数")
    done: int = Field(description="已分析的行数")
    eta_seconds: float | None = Field(description="按目前速度估计的剩余秒数（进行中时）")
    cancel_requested: bool
    error: str
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None


class UploadSummary(BaseModel):
    added: int = Field(description="新增的行")
    changed: int = Field(description="内容有改动、已重新分析的行")
    unchanged: int = Field(description="与已上传内容相同的行")
    missing: int = Field(description="本会次已有、但新表中没有的行（保留不删）")
    rows_read: int
    errors: list[RowErrorPublic] = Field(description="未能读取或未能登记的行，按行号")


class SessionPublic(BaseModel):
    id: int
    name: str
    held_on: str | None
    kind: str
    created_by: str
    created_at: str
    updated_at: str
    counts: dict[str, int] = Field(description="rows 条目 / routed 已分析 / needs_review 需复核 / decided 已交办 / "
                                               "groups 并案组 / repeats 往年重复 / missing 新表中没有的行")
    job: JobPublic | None
    uploads: list[dict] = Field(description="每次上传：文件名、时间、新增/改动/未变/缺少的行数")
    errors: list[RowErrorPublic] = Field(description="最近一次上传中未能读取或未能登记的行")


class SessionUploaded(SessionPublic):
    upload: UploadSummary


class SessionListItem(BaseModel):
    id: int
    name: str
    held_on: str | None
    created_by: str
    created_at: str
    rows: int
    decided: int


class SessionsPublic(BaseModel):
    data: list[SessionListItem]
    count: int


class SessionDecision(BaseModel):
    lead: DeptRef | None
    co_handlers: list[DeptRef | None]
    assigned_on: str | None
    due_on: str | None
    decided_by: str | None
    decided_at: str | None


class SessionRow(BaseModel):
    row_id: int
    row: int = Field(description="表格中的行号（表头为第 1 行）")
    in_latest: bool
    case_id: int
    case_no: str | None
    kind: str
    title: str
    proposer: str
    status: str
    routed: bool
    suggestion: dict | None = Field(description="交办建议：lead（排序的主办单位及置信度、理由）、co_handlers、"
                                                "needs_review、review_reason、repeat_of")
    group: dict | None = Field(description="并案组：no、rows（行号）、row_ids、similarity、manual")
    decision: SessionDecision | None
    confidence: float | None
    needs_review: bool
    admissibility: list[str] = Field(
        [], description="受理提示的原因代码（multi_matter 一件多事、不予立案情形），进入复核")


class SessionRowDetail(SessionRow):
    body: str
    repeat_case: dict | None = Field(None, description="往年重复的原案件及其答复")
    history: list[dict] = Field(description="交办决定的历史：谁、何时、从哪个单位改为哪个单位")


class SessionRowsPublic(BaseModel):
    data: list[SessionRow]
    count: int
    counts: dict[str, int]


class RowsRequest(Strict):
    # Bounded to what JavaScript and JSON Schema validators hold exactly (2**63 - 1 rounds up as a float).
    rows: list[Annotated[int, Field(ge=1, le=2**53 - 1)]] = Field(min_length=1, max_length=1000,
                                                                 description="会次中的行 id（row_id）")


class AcceptedPublic(BaseModel):
    accepted: int = Field(description="按建议交办的行数")
    skipped: int = Field(description="建议的单位已不在单位名录中、未交办的行数")


class RegroupedPublic(BaseModel):
    rows: list[int]
