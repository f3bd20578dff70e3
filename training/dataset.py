"""Closed cases for training: read, validate, map department names through the registry, and split."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from models.casefile import ReadResult, read_cases
from models.departments import DepartmentRegistry, UnknownDepartmentError
from models.records import CaseRecord, RowError

logger = logging.getLogger(__name__)


@dataclass
class TrainingSet:
    cases: list[CaseRecord]
    errors: list[RowError] = field(default_factory=list)
    source: str = ""
    sha256: str = ""
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def items(self) -> list[tuple[str, str]]:
        return [(c.title, c.body) for c in self.cases]

    @property
    def leads(self) -> list[str]:
        return [c.lead_id or c.lead for c in self.cases]

    @property
    def co_handlers(self) -> list[list[str]]:
        return [c.co_ids for c in self.cases]

    def info(self) -> dict:
        years = sorted({c.year for c in self.cases if c.year})
        return {
            "source": self.source,
            "sha256": self.sha256,
            "rows": len(self.cases),
            "rejected_rows": len({e.row for e in self.errors}),
            "years": years,
            "labels": len(set(self.leads)),
        }


def resolve_departments(records: list[CaseRecord], registry: DepartmentRegistry | None) -> tuple[list, list]:
    """Attach today's unit ids to each record; rows whose lead is missing or unknown become RowErrors.

    Unknown co-handlers are errors too (a typo there would otherwise vanish from what the model learns). A
    co-handler that repeats the lead or another co-handler is dropped, not refused as the API and the ledger import
    refuse it (``models.rules.co_handler_problems``): what the model learns is the same either way, and a closed
    case is worth keeping for training.
    Without a registry, labels are used as written (e.g. a public data set's topic labels).
    """
    good: list[CaseRecord] = []
    errors: list[RowError] = []
    for rec in records:
        if not rec.lead:
            errors.append(RowError(rec.row, "主办单位", "主办单位为空；已办结的案件需要主办单位才能用于训练"))
            continue
        if registry is None:
            rec.lead_id = rec.lead
            rec.co_ids = list(dict.fromkeys(rec.co_handlers))
            good.append(rec)
            continue
        row_errors = []
        text = f"{rec.title} {rec.body}"  # a unit split since decides which part the case belongs to
        try:
            rec.lead_id = registry.resolve_for(rec.lead, text).id
        except UnknownDepartmentError as exc:
            row_errors.append(RowError(rec.row, "主办单位", str(exc)))
        co_ids = []
        for name in rec.co_handlers:
            try:
                co_ids.append(registry.resolve_for(name, text).id)
            except UnknownDepartmentError as exc:
                row_errors.append(RowError(rec.row, "协办单位", str(exc)))
        rec.co_ids = [c for c in dict.fromkeys(co_ids) if c != rec.lead_id]
        if row_errors:
            errors.extend(row_errors)
        else:
            good.append(rec)
    return good, errors


def load_training_set(
    path: str | Path,
    registry: DepartmentRegistry | None,
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    categories: Collection[str] | None = None,
) -> TrainingSet:
    """Read a closed-case file and resolve its departments. Bad rows are reported, good rows kept.

    Args:
        categories: the reply categories accepted (the service's ``JIAOBAN_REPLY_CATEGORIES``; default A, B, C).
    """
    path = Path(path)
    result: ReadResult = read_cases(path, columns=columns, encoding=encoding, categories=categories)
    good, dept_errors = resolve_departments(result.records, registry)
    errors = sorted(result.errors + dept_errors, key=lambda e: e.row)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return TrainingSet(cases=good, errors=errors, source=path.name, sha256=digest, columns=result.columns)


def load_search_set(
    path: str | Path,
    registry: DepartmentRegistry | None,
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    categories: Collection[str] | None = None,
) -> tuple[TrainingSet, list[RowError]]:
    """Closed cases for the precedent index: every readable row, with or without a known lead unit.

    Returns the set (``errors``: rows that could not be read at all) and the problems that keep indexed rows out of
    training (an empty or unknown lead or co-handler); such a row is indexed with ``lead_id`` unset, so the index
    flags it ``trainable: false``.
    """
    path = Path(path)
    result: ReadResult = read_cases(path, columns=columns, encoding=encoding, categories=categories)
    _, dept_errors = resolve_departments(result.records, registry)
    flagged = {e.row for e in dept_errors}
    for rec in result.records:
        if rec.row in flagged:
            rec.lead_id = None
            rec.co_ids = []
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    ts = TrainingSet(cases=result.records, errors=sorted(result.errors, key=lambda e: e.row), source=path.name,
                     sha256=digest, columns=result.columns)
    return ts, sorted(dept_errors, key=lambda e: e.row)


def temporal_split(cases: list[CaseRecord], test_year: int | None = None) -> tuple[list, list, int]:
    """Train on every year before the latest (or ``test_year``), test on that year."""
    years = sorted({c.year for c in cases if c.year})
    if len(years) < 2:
        raise ValueError("时间切分至少需要两个年度的数据；没有年度时请用 --split kfold")
    test_year = test_year or years[-1]
    train = [c for c in cases if c.year and c.year < test_year]
    test = [c for c in cases if c.year == test_year]
    return train, test, test_year
