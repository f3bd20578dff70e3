"""Keep a precedent index in step with the closed cases: what differs, and the repair.

Case ids are stable (``models.index.stable_id`` of the case number), so an index can be compared with the cases of
the store or of an export case by case: cases missing from the index, cases whose text, reply or units changed, and
cases in the index that are no longer there. Repairing adds and replaces what differs; vectors of unchanged texts
are reused, so only new or changed texts are encoded and history is never re-embedded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.departments import DepartmentRegistry, UnknownDepartmentError
from models.index import stable_id
from models.records import CaseRecord

if TYPE_CHECKING:
    from models.search import PrecedentIndex

COMPARED = ("title", "body", "reply", "category", "feedback", "year", "kind")


@dataclass
class IndexDiff:
    missing: list[str] = field(default_factory=list)  # case numbers in the cases, not in the index
    changed: list[str] = field(default_factory=list)  # in both, with a different text, reply or unit
    extra: list[str] = field(default_factory=list)  # in the index, not among the cases
    unnumbered: int = 0  # cases without a number cannot be matched (they are left alone)

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.changed or self.extra)

    def to_dict(self) -> dict:
        return {"consistent": self.consistent, "missing": len(self.missing), "changed": len(self.changed),
                "extra": len(self.extra), "unnumbered": self.unnumbered,
                "examples": {"missing": self.missing[:10], "changed": self.changed[:10], "extra": self.extra[:10]}}


def _lead_id(case: CaseRecord, registry: DepartmentRegistry | None) -> str | None:
    """The lead's id as the index records it (models.search: the resolved id, else the name as written)."""
    if case.lead_id:
        return case.lead_id
    if registry is not None and case.lead:
        try:
            return registry.resolve(case.lead).id
        except UnknownDepartmentError:
            return case.lead
    return case.lead or None


def index_diff(index: PrecedentIndex, cases: Sequence[CaseRecord],
               registry: DepartmentRegistry | None = None) -> IndexDiff:
    """Compare a PrecedentIndex with the closed cases it should hold."""
    diff = IndexDiff()
    held = {int(c["case_id"]): c for c in index.cases}
    wanted: set[int] = set()
    for case in cases:
        if not case.case_no:
            diff.unnumbered += 1
            continue
        cid = stable_id(case.case_no)
        wanted.add(cid)
        entry = held.get(cid)
        if entry is None:
            diff.missing.append(case.case_no)
            continue
        lead = (entry.get("lead") or {}).get("id")
        if any((entry.get(k) or None) != (getattr(case, k) or None) for k in COMPARED) or \
                lead != _lead_id(case, registry):
            diff.changed.append(case.case_no)
    diff.extra = [c.get("case_no") or str(cid) for cid, c in held.items() if cid not in wanted and c.get("case_no")]
    return diff


def repaired(index: PrecedentIndex, cases: Sequence[CaseRecord], registry: DepartmentRegistry | None = None, *,
             progress: Callable[[int, int], None] | None = None) -> tuple[PrecedentIndex, IndexDiff, int]:
    """An index that holds exactly the numbered ``cases``.

    Returns (the index, the differences found before, texts encoded). Without extra cases the index is extended in
    place; with extra cases a new index is built, reusing every unchanged vector.
    """
    diff = index_diff(index, cases, registry)
    if diff.consistent:
        return index, diff, 0
    todo = set(diff.missing) | set(diff.changed)
    if not diff.extra:
        encoded = index.add([c for c in cases if c.case_no in todo], registry, progress=progress)
        return index, diff, encoded
    fresh = type(index)(index.embedder, index.config, index.segmenter)
    keep = [c for c in cases if c.case_no]
    encoded = fresh.add(keep, registry, reuse=index, progress=progress)
    return fresh, diff, encoded
