"""pydantic's validation errors in Chinese: no English ``msg`` gets through, whatever the error type."""

import re
import uuid
from datetime import date, datetime
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.messages import describe

# Words a Chinese message may still contain: formats and literals staff type as they are.
ALLOWED = {"JSON", "true", "false", "YYYY", "MM", "DD", "HH", "SS", "UUID", "null", "Unicode"}


class Everything(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = 0
    x: float = 0.0
    flag: bool = False
    day: date | None = None
    at: datetime | None = None
    items: list[int] = []
    kind: Literal["建议", "提案"] = "建议"
    name: str = Field("x", min_length=1, max_length=3)
    code: str = Field("a", pattern=r"^[a-z]+$")
    top: int = Field(1, ge=1, le=5)
    few: list[int] = Field([], max_length=2)
    id: uuid.UUID | None = None
    meta: dict = {}


BAD = [{"n": "abc"}, {"n": 1.5}, {"x": "many"}, {"flag": "maybe"}, {"day": "2026-13-01"}, {"at": "yesterday"},
       {"items": "1,2"}, {"items": ["a"]}, {"kind": "信件"}, {"name": ""}, {"name": "太长的名字"}, {"code": "A1"},
       {"top": 0}, {"top": 9}, {"few": [1, 2, 3]}, {"id": "not-a-uuid"}, {"meta": [1]}, {"other": 1}, {"name": 5}]


@pytest.mark.parametrize("data", BAD, ids=lambda d: next(iter(d)))
def test_every_message_is_chinese(data):
    with pytest.raises(ValidationError) as info:
        Everything(**data)
    for err in info.value.errors():
        message = describe(err)
        assert message and err["msg"] not in message
        english = set(re.findall(r"[A-Za-z]{2,}", message)) - ALLOWED
        assert not english, (err["type"], message)


def test_choices_are_listed_the_chinese_way():
    with pytest.raises(ValidationError) as info:
        Everything(kind="信件")
    assert describe(info.value.errors()[0]) == "取值无效，应为 “建议”、“提案” 之一"


def test_an_unknown_error_type_gets_a_generic_phrase_not_its_english_message():
    assert describe({"type": "something_new", "msg": "Input should be something"}) == "取值无效"


def test_our_own_validators_speak_for_themselves():
    assert describe({"type": "value_error", "msg": "Value error, 标题和正文不能都为空",
                     "ctx": {"error": ValueError("标题和正文不能都为空")}}) == "标题和正文不能都为空"
