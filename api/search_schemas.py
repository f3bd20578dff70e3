"""Bodies of the precedent search endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictBool

from api.fields import Feedback, Kind, NonBlank, Strict
from api.schemas import MAX_BATCH
from models import rules


class SearchRequest(Strict):
    query: NonBlank = Field(max_length=50_000)
    k: int = Field(10, ge=1, le=50)
    year: int | None = Field(None, ge=1990, le=2100)
    department: str | None = Field(None, max_length=100)
    kind: Kind | None = None
    category: Annotated[str, AfterValidator(rules.normalize_category)] | None = Field(None, max_length=5)
    feedback: Feedback | None = Field(None, description="只看代表/委员反馈为此的案件（满意 / 基本满意 / 不满意）")
    full_reply: StrictBool = Field(False, description="返回答复全文（reply）和正文（body），而不只是答复摘要")
    target: Literal["items", "replies"] = Field(
        "items", description="items：类似的案件（按标题和正文检索）；replies：答复过类似问题的答复（按答复正文检索）")


class SearchPublic(BaseModel):
    data: list[dict]
    count: int


class DuplicatesRequest(Strict):
    texts: list[Annotated[NonBlank, Field(max_length=50_000)]] = Field(min_length=1, max_length=MAX_BATCH)


class DuplicatesPublic(BaseModel):
    groups: list[list[int]]
