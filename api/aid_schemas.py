"""Request and response bodies of the reply aids (coverage, category check, admissibility, redaction)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.fields import NonBlank, Strict

Aid = Literal["coverage", "category", "admissibility", "redaction"]


class ReplyCheckRequest(Strict):
    body: str = Field("", max_length=50_000, description="建议/提案正文")
    reply: str = Field("", max_length=100_000, description="答复（草稿）")
    category: str | None = Field(None, max_length=5, description="所选答复类别，如 A；不填则不核对类别")


class Point(BaseModel):
    text: str
    start: int
    end: int
    answered: bool
    score: float = Field(description="与最相近的答复段落的相似度")
    paragraph: int | None = Field(description="最相近的答复段落（paragraphs 的下标）")


class Span(BaseModel):
    text: str
    start: int
    end: int


class CoveragePublic(BaseModel):
    points: list[Point]
    paragraphs: list[Span]
    answered: int
    total: int
    semantic: bool
    threshold: float


class CategoryPublic(BaseModel):
    given: str
    predicted: str
    flagged: bool = Field(description="所选类别与答复内容不一致")
    phrases: list[str] = Field(description="起决定作用的词语")
    cues: dict[str, list[str]]
    probabilities: dict[str, float]
    reason: str
    source: Literal["model", "cues"] = Field(description="model：由办结案件训练的模型；cues：仅按措辞")
    meanings: dict[str, str]


class Finding(BaseModel):
    kind: Literal["phone", "id", "email", "bank", "address", "name"]
    label: str
    start: int
    end: int
    text: str
    mask: str


class RedactionPublic(BaseModel):
    findings: list[Finding]
    masked: str
    count: int


class ReplyCheckPublic(BaseModel):
    coverage: CoveragePublic
    category: CategoryPublic | None
    reply_redaction: RedactionPublic
    body_redaction: RedactionPublic


class AdmissibilityRequest(Strict):
    title: str = Field("", max_length=500, description="标题")
    body: str = Field("", max_length=50_000, description="正文")


class AdmissibilityFlag(BaseModel):
    code: str = Field(description="原因代码：multi_matter（一件多事）或不予立案情形的代码")
    name: str
    reason: str
    evidence: list[str]


class AdmissibilityPublic(BaseModel):
    data: list[AdmissibilityFlag]
    count: int


class DismissalCreate(Strict):
    aid: Aid
    code: NonBlank = Field(max_length=50, description="被驳回的提示的代码，如 multi_matter、unanswered、category")
    note: str = Field("", max_length=500, description="理由")


class DismissalPublic(BaseModel):
    id: int
    case_id: int | None
    aid: str
    code: str
    note: str
    dismissed_by: str
    dismissed_at: str


class DismissalListed(DismissalPublic):
    case_no: str | None
    year: int | None
    title: str | None
    lead: dict | None = Field(description="主办单位 {id, name}")


class DismissalsPublic(BaseModel):
    data: list[DismissalListed]
    count: int


class PublicationCreate(Strict):
    title: NonBlank = Field(max_length=500, description="公开的标题（已隐去个人信息）")
    reply: NonBlank = Field(max_length=100_000, description="公开的答复（已隐去个人信息，经人工核对）")


class PublicationPublic(BaseModel):
    id: int
    case_id: int
    outcome_id: int | None
    title: str
    reply: str
    masked: int = Field(description="原答复中检出的个人信息处数")
    confirmed_by: str
    confirmed_at: str
    remaining: list[str] = Field([], description="公开版本中仍检出的个人信息类别（应为空）")


class CaseAidsPublic(ReplyCheckPublic):
    case_id: int
    outcome_id: int | None
    admissibility: list[AdmissibilityFlag]
    dismissals: list[DismissalPublic]
    publications: list[dict]
