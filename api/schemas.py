"""Request and response bodies, in families per resource: ``XCreate`` in, ``XPublic`` out, ``XsPublic{data, count}``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator
from pydantic.json_schema import JsonDict

from api.aid_schemas import AdmissibilityFlag
from api.fields import (
    CaseDate,
    CaseNo,
    Feedback,
    Kind,
    NonBlank,
    RegistryDate,
    Role,
    SingleLine,
    Strict,
    UnitFullName,
    UnitName,
)
from models import rules

MAX_BATCH = 1000
# The schema's statement of RouteRequest's rule: a title or a body that is more than spaces.
_TITLE_OR_BODY: JsonDict = {"anyOf": [{"required": [f], "properties": {f: {"pattern": rules.NONBLANK_PATTERN}}}
                                      for f in ("title", "body")]}


# -- routing -------------------------------------------------------------------------------------------------------
class RouteRequest(Strict):
    model_config = ConfigDict(json_schema_extra=_TITLE_OR_BODY)

    title: str = Field("", max_length=500, description="标题")
    body: str = Field("", max_length=50_000, description="正文", validate_default=True)
    kind: Kind | None = None

    @field_validator("body")
    @classmethod
    def _some_text(cls, body: str, info) -> str:
        if not body.strip() and not (info.data.get("title") or "").strip():  # str.strip(), as rules.required
            raise ValueError("标题和正文不能都为空")
        return body


class RouteItem(RouteRequest):
    id: str | None = Field(None, max_length=100, description="调用方自己的编号，原样返回")


class RouteBatchRequest(Strict):
    items: list[RouteItem] = Field(min_length=1, max_length=MAX_BATCH)


class DeptRef(BaseModel):
    id: str
    name: str
    short_name: str = ""


class LeadSuggestion(DeptRef):
    probability: float
    terms: list[str] = []
    reason: str = ""


class CoSuggestion(DeptRef):
    probability: float


class RouteResult(BaseModel):
    lead: list[LeadSuggestion]
    co_handlers: list[CoSuggestion]
    needs_review: bool
    review_reason: str
    threshold: float
    model_version: str
    precedents: list[dict] = []
    precedents_available: bool = False
    repeat_of: dict | None = Field(None, description="重复往年案件：相似度高于并案阈值的最相近历史案件")
    admissibility: list[AdmissibilityFlag] = Field(
        [], description="受理提示（一件多事、疑似不予立案情形）：带原因代码，进入复核，不自动退回")


class BatchRouteResult(RouteResult):
    index: int
    id: str | None = None


class RouteBatchPublic(BaseModel):
    data: list[BatchRouteResult]
    count: int
    needs_review_count: int
    duplicate_groups: list[list[int]] = Field([], description="并案候选：互为重复的条目下标")
    precedents_available: bool = False


class RowErrorPublic(BaseModel):
    row: int
    field: str
    message: str


class UploadRouteResult(RouteResult):
    row: int
    case_no: str = ""
    title: str = ""


class UploadRoutePublic(BaseModel):
    data: list[UploadRouteResult]
    errors: list[RowErrorPublic]
    count: int
    needs_review_count: int
    duplicate_groups: list[list[int]] = []


# -- cases ---------------------------------------------------------------------------------------------------------
class CaseCreate(Strict):
    case_no: CaseNo | None = None
    kind: Kind = "建议"
    year: int | None = Field(None, ge=1990, le=2100)
    title: NonBlank = Field(max_length=500)
    body: str = Field("", max_length=50_000)
    proposer: str = Field("", max_length=200)
    route: StrictBool = Field(True, description="创建时用在用模型给出交办建议并保存")


class CasePublic(BaseModel):
    id: int
    case_no: str | None
    kind: str
    year: int | None
    title: str
    body: str
    proposer: str
    status: Literal["open", "assigned", "closed"]
    lead: DeptRef | None
    co_handlers: list[DeptRef]
    assigned_on: date | None
    due_on: date | None
    closed_on: date | None
    category: str
    feedback: str
    overdue: bool
    source: str
    created_at: str
    updated_at: str


class CasesPublic(BaseModel):
    data: list[CasePublic]
    count: int


class DecisionCreate(Strict):
    lead: UnitName = Field(description="主办单位：名称、简称、别名或 id")
    co_handlers: list[UnitName] = Field([], max_length=20, description="协办单位（不含主办单位，不重复）")
    decided_by: str | None = Field(None, max_length=50, description="经办人（默认：密钥名称）")
    assigned_on: CaseDate | None = Field(None, description="交办日期 YYYY-MM-DD（默认：已有交办日期或今天）")
    due_on: CaseDate | None = Field(None, description="答复期限 YYYY-MM-DD（默认：交办日期后 JIAOBAN_DUE_MONTHS 个月）")
    note: str = Field("", max_length=1000)


class DecisionPublic(BaseModel):
    id: int
    case_id: int
    lead: DeptRef
    co_handlers: list[DeptRef]
    accepted: bool | None = Field(description="是否采纳了系统首选建议；无建议时为 null")
    suggestion: dict | None = Field(description="决定时展示的交办建议")
    assigned_on: date | None
    due_on: date | None
    note: str
    decided_by: str
    decided_at: str
    unchanged: bool = Field(False, description="与当前决定相同（重复提交或连击），未新增记录")


class OutcomeCreate(Strict):
    reply: NonBlank = Field(max_length=100_000, description="答复内容")
    category: NonBlank = Field(max_length=5, description="答复类别，如 A/B/C")
    feedback: Feedback | None = None
    closed_on: CaseDate | None = Field(None, description="办结日期 YYYY-MM-DD；填写后视为办结（已办结的案件须填写）")
    reopen: StrictBool = Field(
        False, description="重新办理：已办结的案件回到办理中，办结日期清除（不能与 closed_on 同时填写）")
    recorded_by: str | None = Field(None, max_length=50)

    @field_validator("category")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return rules.normalize_category(value)

    @field_validator("reopen")
    @classmethod
    def _reopen_or_close(cls, reopen: bool, info) -> bool:
        if reopen and info.data.get("closed_on") is not None:
            raise ValueError("重新办理（reopen）与办结日期（closed_on）不能同时填写")
        return reopen


class OutcomePublic(BaseModel):
    id: int
    case_id: int
    reply: str
    category: str
    feedback: str
    closed_on: date | None
    recorded_by: str
    recorded_at: str


class CaseDetail(CasePublic):
    suggestion: dict | None
    decisions: list[DecisionPublic]
    outcomes: list[OutcomePublic]


class ImportPublic(BaseModel):
    created: int
    case_ids: list[int]
    errors: list[RowErrorPublic]
    count: int = Field(description="文件中的数据行数")


# -- ledger --------------------------------------------------------------------------------------------------------
class LedgerCase(BaseModel):
    id: int
    case_no: str | None
    kind: str
    year: int | None
    title: str
    lead: DeptRef | None
    assigned_on: date | None
    due_on: date | None
    days_left: int | None
    overdue: bool


class LedgerDepartment(BaseModel):
    department: DeptRef
    count: int
    overdue_count: int
    cases: list[LedgerCase]


class LedgerOpenPublic(BaseModel):
    as_of: date
    data: list[LedgerDepartment]
    count: int


class OverduePublic(BaseModel):
    as_of: date
    data: list[LedgerCase]
    count: int


class DepartmentFigures(BaseModel):
    department: DeptRef
    items: int
    closed: int
    on_time: int
    on_time_rate: float | None
    a_count: int
    a_rate: float | None
    satisfied: int
    with_feedback: int
    satisfaction_rate: float | None


class FiguresPublic(BaseModel):
    year: int
    data: list[DepartmentFigures]
    count: int


# -- departments ---------------------------------------------------------------------------------------------------
class DepartmentCreate(Strict):
    id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    name: UnitFullName
    short_name: SingleLine = Field("", max_length=50)
    aliases: list[UnitName] = Field([], max_length=30)
    kind: Literal["department", "district"] = "department"
    duties: str = Field("", max_length=2000)
    since: RegistryDate | None = None


class ReorganiseRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"oneOf": [  # the schema's statement of _one_target
        {"required": ["into_id"], "properties": {"into_id": {"type": "string"}, "new": {"type": "null"}}},
        {"required": ["new"], "properties": {"new": {"type": "object"}, "into_id": {"type": "null"}}},
    ]})

    old_ids: list[Annotated[NonBlank, Field(max_length=40)]] = Field(min_length=1, description="被撤并或更名的单位 id")
    on: RegistryDate = Field(description="生效日期 YYYY-MM-DD")
    into_id: str | None = Field(None, description="并入的现有单位 id")
    new: DepartmentCreate | None = Field(None, description="或：新设（更名后）的单位")

    @model_validator(mode="after")
    def _one_target(self) -> ReorganiseRequest:
        if (self.into_id is None) == (self.new is None):
            raise ValueError("into_id（并入现有单位）与 new（新设单位）须且只能填写一项")
        return self


class SplitRequest(Strict):
    old_id: Annotated[NonBlank, Field(max_length=40)] = Field(description="被拆分的单位 id")
    on: RegistryDate = Field(description="生效日期 YYYY-MM-DD")
    into_ids: list[Annotated[NonBlank, Field(max_length=40)]] = Field(
        [], max_length=5, description="承接部分职责的现有单位 id")
    new: list[DepartmentCreate] = Field([], max_length=5,
                                        description="新设的承继单位（写明职能 duties，历史案件按此归属）")
    main_id: Annotated[NonBlank, Field(max_length=40)] = Field(
        description="主承继单位 id：原单位的名称、未办结案件和台账数字归它")


class DepartmentPublic(BaseModel):
    id: str
    name: str
    short_name: str
    aliases: list[str]
    kind: str
    duties: str
    since: date | None
    until: date | None
    successor: str | None
    active: bool
    current: DeptRef = Field(description="今天承担其职责的单位")
    predecessors: list[DeptRef] = Field(description="职责并入本单位的原单位（机构改革沿革）")
    split_into: list[DeptRef] = Field([], description="已拆分单位的各承继单位（主承继单位在前）")


class DepartmentsPublic(BaseModel):
    city: str
    data: list[DepartmentPublic]
    count: int


# -- models, keys, search, health ----------------------------------------------------------------------------------
class ModelPublic(BaseModel):
    version: str
    path: str
    manifest: dict


class ModelVersionPublic(BaseModel):
    version: str
    active: bool
    created_at: str | None
    rows: int | None
    metrics: dict


class ModelVersionsPublic(BaseModel):
    data: list[ModelVersionPublic]
    count: int
    active: str | None
    history: list[dict]


class KeyCreate(Strict):
    name: NonBlank = Field(max_length=50)
    role: Role
    unit: str | None = Field(None, max_length=100,
                             description="答复起草人员所属单位（名称、简称或 id）：只能看到和办理本单位的案件")


class KeyPublic(BaseModel):
    id: int
    name: str
    role: str
    prefix: str
    source: str
    unit: DeptRef | None = None
    created_at: str
    revoked_at: str | None


class KeyCreated(KeyPublic):
    key: str = Field(description="密钥明文，仅此一次返回，请妥善保存")


class KeysPublic(BaseModel):
    data: list[KeyPublic]
    count: int


class Health(BaseModel):
    status: str
    checks: dict = {}
