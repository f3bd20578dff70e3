"""Field types of the requests, each with its rule from ``models.rules`` and the same rule stated in the OpenAPI
schema (a pattern, a format, a range), so that a client can tell a good request from the schema alone.

The schema describes a text as it is sent: its length limits count the spaces around it, which are dropped after
the checks (``Strict``), and its pattern allows them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal, get_args

from fastapi import Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from models import rules


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class Strict(BaseModel):
    """A request body: no unknown fields; texts lose the spaces around them once every check has passed (pydantic's
    ``str_strip_whitespace`` would strip before the length limits, which the schema states for the text as sent)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _strip_texts(cls, value: object) -> object:
        return [_strip(v) for v in value] if isinstance(value, list) else _strip(value)


def _keep(rule: Callable[[str], str]) -> Callable[[str], str]:
    """``rule``'s check, keeping the text as sent (``Strict`` strips it afterwards)."""

    def check(value: str) -> str:
        rule(value)
        return value

    return check


def _two_chars(value: str) -> str:
    if len(value.strip()) < 2:
        raise rules.RuleError("至少 2 个字")
    return value


def documented(pattern: str) -> Any:
    """A pattern stated in the schema only: the field's validator applies the rule itself, with a message staff
    can read (pydantic's own pattern check would only say 格式不对)."""
    return Field(json_schema_extra={"pattern": pattern})


# Closed lists, stripped like every other text (a Literal is not a str to pydantic).
KindName = Literal["建议", "提案", "议案"]  # models.records.CASE_KINDS (a test checks they agree)
FeedbackValue = Literal["满意", "基本满意", "不满意"]  # models.records.FEEDBACK_VALUES
Kind = Annotated[KindName, BeforeValidator(_strip)]
Feedback = Annotated[FeedbackValue, BeforeValidator(_strip)]
KIND_SCHEMA = {"type": "string", "enum": list(get_args(KindName))}
Role = Literal["admin", "assigner", "drafter", "supervisor"]

# Dates in requests are the text YYYY-MM-DD only (pydantic alone would take 0 as 1970-01-01), within
# models.rules' years; a unit's founding date may be older than any case.
DATE_SCHEMA = {"type": "string", "format": "date", "pattern": rules.date_pattern()}
CaseDate = Annotated[date, BeforeValidator(rules.iso_date), WithJsonSchema(DATE_SCHEMA)]
RegistryDate = Annotated[
    date, BeforeValidator(lambda v: rules.iso_date(v, min_year=rules.MIN_REGISTRY_YEAR)),
    WithJsonSchema({"type": "string", "format": "date", "pattern": rules.date_pattern(rules.MIN_REGISTRY_YEAR)}),
]

# Text that must say something: whitespace alone is empty. Limit its length with Field(max_length=...).
NonBlank = Annotated[str, Field(min_length=1), AfterValidator(_keep(rules.required)),
                     documented(rules.NONBLANK_PATTERN)]
# A unit's name or alias: one line, not blank; its full name has two characters or more.
UnitName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_keep(rules.single_line)),
                     documented(rules.name_pattern())]
UnitFullName = Annotated[UnitName, AfterValidator(_two_chars),
                         Field(json_schema_extra={"minLength": 2, "pattern": rules.name_pattern(2)})]
# One line, possibly empty: a short name, a case number.
SingleLine = Annotated[str, AfterValidator(_keep(rules.single_line)), documented(rules.SINGLE_LINE_PATTERN)]
CaseNo = Annotated[str, Field(max_length=100), AfterValidator(_keep(rules.case_no)),
                   documented(rules.SINGLE_LINE_PATTERN)]

# A row id in the store (SQLite's integers are 64-bit): ``/cases/{case_id}``, ``/keys/{key_id}``.
MAX_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
