"""What the routing service answers, as typed results; ``to_dict`` gives the JSON the API and the CLI print."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Unit:
    """A department as staff see it today."""

    id: str
    name: str
    short_name: str = ""


@dataclass
class LeadSuggestion:
    unit: Unit
    probability: float
    terms: list[str] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict:
        return {**asdict(self.unit), "probability": round(self.probability, 4), "terms": list(self.terms),
                "reason": self.reason}


@dataclass
class CoHandler:
    unit: Unit
    probability: float

    def to_dict(self) -> dict:
        return {**asdict(self.unit), "probability": round(self.probability, 4)}


@dataclass
class ReviewDecision:
    """Whether staff must confirm the lead, and why (the top probability against the review threshold)."""

    needs_review: bool
    threshold: float
    reason: str = ""


@dataclass
class Repeat:
    """An earlier case this item repeats (its vector is above the duplicate threshold)."""

    case_id: str
    case_no: str
    year: int | None
    title: str
    similarity: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Precedent:
    """A past case like the query, with its reply. ``case_id`` is a string: 63-bit ids lose digits in JavaScript."""

    case_id: str
    case_no: str
    year: int | None
    kind: str
    title: str
    lead: dict | None
    co_handlers: list[dict]
    category: str
    feedback: str
    reply_excerpt: str
    score: float
    similarity: float | None
    bm25: float | None
    matched_terms: list[str]
    passage: dict | None = None  # the best matching passage of the searched field: field, text, start, end, length
    target: str = "items"
    trainable: bool = True
    reply: str | None = None
    body: str | None = None

    @classmethod
    def from_hit(cls, hit: dict) -> Precedent:
        optional = {"passage", "target", "trainable", "reply", "body"}
        known: dict[str, Any] = {k: hit.get(k) for k in cls.__dataclass_fields__ if k in hit or k not in optional}
        known["case_id"] = str(hit["case_id"])
        return cls(**known)

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("reply", "body"):
            if out[key] is None:
                del out[key]
        return out


@dataclass
class RoutedItem:
    """One item routed: ranked leads, co-handlers, the review decision, precedents, and a repeat of an earlier year.

    ``row`` is the sheet row number (as staff see it) when the item came from a spreadsheet, ``index`` its position
    in the request.
    """

    index: int
    lead: list[LeadSuggestion]
    co_handlers: list[CoHandler]
    review: ReviewDecision
    model_version: str
    precedents: list[Precedent] = field(default_factory=list)
    precedents_available: bool = False
    repeat_of: Repeat | None = None
    row: int | None = None
    admissibility: list[dict] = field(default_factory=list)  # models.admissibility flags: review reasons, not errors

    @property
    def needs_review(self) -> bool:
        return self.review.needs_review

    def to_dict(self) -> dict:
        out = {
            "lead": [s.to_dict() for s in self.lead],
            "co_handlers": [c.to_dict() for c in self.co_handlers],
            "needs_review": self.review.needs_review,
            "review_reason": self.review.reason,
            "threshold": round(self.review.threshold, 4),
            "model_version": self.model_version,
            "precedents": [p.to_dict() for p in self.precedents],
            "precedents_available": self.precedents_available,
            "repeat_of": self.repeat_of.to_dict() if self.repeat_of else None,
            "index": self.index,
            "admissibility": list(self.admissibility),
        }
        if self.row is not None:
            out["row"] = self.row
        return out


@dataclass
class DuplicateGroup:
    """Items of one batch that are about the same matter (并案候选): request positions and, from a sheet, rows."""

    indexes: list[int]
    rows: list[int] | None = None

    def labels(self) -> list[int]:
        """What staff see: the sheet's row numbers when there are rows, else the positions."""
        return list(self.rows) if self.rows is not None else list(self.indexes)


@dataclass
class RoutedBatch:
    items: list[RoutedItem]
    duplicate_groups: list[DuplicateGroup]
    precedents_available: bool
    vectors: Any = None  # one passage vector per item when precedents were searched (never serialised)

    @property
    def needs_review_count(self) -> int:
        return sum(i.needs_review for i in self.items)
