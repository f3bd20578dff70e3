"""Which closed cases a model version was trained on: ids and content hashes kept in the bundle.

The yearly comparison needs the cases the model in service never saw. A case is known by its number (编号) and by
a hash of its normalised text, so a case re-exported under another number, or with a corrected lead, is still
recognised as one the model was trained on. Only hashes, numbers, years and unit ids are kept: no proposal text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from models.records import CaseRecord
from nlp.normalize import normalize

TRAINING_CASES_FILE = "training_cases.json"


def text_hash(title: str, body: str) -> str:
    """A short content hash of a case's normalised title and body (16 hex digits)."""
    text = normalize(title or "") + "\n" + normalize(body or "")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def case_entry(case: CaseRecord) -> dict:
    return {"id": case.case_no or f"row:{case.row}", "hash": text_hash(case.title, case.body),
            "year": case.year, "lead": case.lead_id or case.lead}


def training_cases_file(cases: Iterable[CaseRecord]) -> bytes:
    """The bundle attachment that lists the training cases."""
    entries = [case_entry(c) for c in cases]
    return json.dumps({"cases": entries}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def cases_digest(cases: Sequence[CaseRecord]) -> str:
    """One hash over the training cases (ids, texts and leads, order-free): equal for an identical training set."""
    lines = sorted(json.dumps(case_entry(c), ensure_ascii=False, sort_keys=True) for c in cases)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


@dataclass
class TrainedOn:
    """The training cases of one version, for matching newly exported cases against them."""

    entries: list[dict]

    def __post_init__(self) -> None:
        self._ids = {e["id"] for e in self.entries if not str(e["id"]).startswith("row:")}
        self._hashes = {e["hash"] for e in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def saw(self, case: CaseRecord) -> bool:
        return (bool(case.case_no) and case.case_no in self._ids) or text_hash(case.title, case.body) in self._hashes

    def split(self, cases: Sequence[CaseRecord]) -> tuple[list[CaseRecord], list[CaseRecord], list[CaseRecord]]:
        """(cases this version was trained on, cases it never saw, copies of a training text under a new number).

        Each recorded case is claimed once: by its number first, then by its text (a re-numbered export); a
        further case with the text of a training case is a copy, neither trained on nor unseen.
        """
        by_id = {e["id"]: e for e in self.entries}
        free: dict[str, int] = {}
        for e in self.entries:
            free[e["hash"]] = free.get(e["hash"], 0) + 1
        trained: list[CaseRecord | None] = [None] * len(cases)
        hashes = [text_hash(c.title, c.body) for c in cases]
        for i, c in enumerate(cases):
            entry = by_id.get(c.case_no) if c.case_no else None
            if entry is not None:
                trained[i] = c
                free[entry["hash"]] -= 1  # may go below zero when the text was corrected since
        seen, unseen, copies = [], [], []
        for i, c in enumerate(cases):
            if trained[i] is not None:
                seen.append(c)
            elif free.get(hashes[i], 0) > 0:
                free[hashes[i]] -= 1
                seen.append(c)
            elif hashes[i] in self._hashes:
                copies.append(c)
            else:
                unseen.append(c)
        return seen, unseen, copies


def trained_on(bundle_path: str | Path) -> TrainedOn | None:
    """The training cases recorded in a bundle, or None for a version trained before they were recorded."""
    f = Path(bundle_path) / TRAINING_CASES_FILE
    if not f.is_file():
        return None
    return TrainedOn(json.loads(f.read_text(encoding="utf-8"))["cases"])
