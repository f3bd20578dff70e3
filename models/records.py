"""The case record shared by training and the service."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

CASE_KINDS = ("建议", "提案", "议案")
REPLY_CATEGORIES = ("A", "B", "C")
FEEDBACK_VALUES = ("满意", "基本满意", "不满意")


@dataclass
class CaseRecord:
    """One suggestion or proposal, open or closed.

    ``lead`` and ``co_handlers`` hold names as read from the source; training resolves them through the registry
    into ``lead_id`` / ``co_ids`` (today's units).
    """

    row: int  # 1-based row in the source file as a spreadsheet shows it (the header is row 1)
    case_no: str = ""
    kind: str = ""
    year: int | None = None
    title: str = ""
    body: str = ""
    proposer: str = ""
    lead: str = ""
    co_handlers: list[str] = field(default_factory=list)
    assigned_on: date | None = None
    reply: str = ""
    category: str = ""
    feedback: str = ""
    closed_on: date | None = None
    lead_id: str | None = None
    co_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("assigned_on", "closed_on"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


@dataclass(frozen=True)
class RowError:
    """A row that could not be used, with the field at fault and what to do about it (messages in Chinese)."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行，字段“{self.field}”：{self.message}"
