"""Champion/challenger: the candidate configuration against the model in service, on cases neither has seen.

The model in service (the champion) is scored on the newly closed cases it never saw; the candidate
*configuration* is trained on exactly the champion's training cases (as they appear in the new data) and scored
on the same cases. Both answer the same items, so the comparison is paired (training.stats). When every case was
already seen, both configurations are trained on the same earlier years and tested on the latest (a backtest).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from models.bundle import Bundle, BundleError, BundleStore, load_bundle
from models.classifier import RoutingModel, RoutingParams
from models.knn_vote import VectorTable, served_certificate
from models.provenance import text_hash, trained_on
from training.dataset import TrainingSet, temporal_split
from training.evaluate import Predictions, predict_cases
from training.stats import paired_comparison

logger = logging.getLogger(__name__)


@dataclass
class Comparison:
    """Both models' outcomes on the same cases, the paired statistics, and how the cases were chosen."""

    mode: str  # "unseen": new cases the active never saw; "backtest": both configurations on one temporal split
    active_version: str
    description: str  # Chinese, for the report and the command
    candidate: Predictions
    active: Predictions
    stats: dict
    notes: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)

    def with_stats(self) -> Comparison:
        self.stats = paired_comparison(self.candidate.truth, self.candidate.ranked, self.active.ranked)
        return self

    def to_dict(self) -> dict:
        return {"mode": self.mode, "version": self.active_version, "description": self.description,
                "n": len(self.candidate.truth), "stats": self.stats, "notes": self.notes, **self.detail,
                "case_ids": self.candidate.ids}


def load_active(store: BundleStore) -> Bundle | None:
    if store.active() is None:
        return None
    try:
        return load_bundle(store.active_path())
    except BundleError as exc:
        logger.warning("active model cannot be loaded for comparison: %s", exc)
        return None


def champion_challenger(ts: TrainingSet, params: RoutingParams, active: Bundle, *,
                        say: Callable[[str], None] = lambda m: None, vectors: VectorTable | None = None,
                        ) -> tuple[Comparison | None, list[str]]:
    """Compare the candidate configuration ``params`` with the ``active`` bundle on cases neither was trained on.

    Returns the comparison (None when no fair one is possible) and notes for the report.
    """
    record = trained_on(active.path)
    notes: list[str] = []
    if record is not None:
        seen, unseen, copies = record.split(ts.cases)
        if copies:
            notes.append(f"有 {len(copies)} 件新案件与在用模型的训练案件文字相同（重复件），不计入比较")
        missing = len(record) - len(seen)
        if missing > 0:
            notes.append(f"在用模型的 {len(record)} 件训练案件中有 {missing} 件不在本次数据中，"
                         f"新配置只用其余 {len(seen)} 件训练后比较")
        changed = _changed_leads(record.entries, seen)
        if changed:
            notes.append(f"在用模型训练过的案件中有 {changed} 件的主办单位与当时不同（更正或名录变化）")
        if unseen and seen:
            say(f"在用模型未见过的新案件 {len(unseen)} 件：在用模型打分；新配置用在用模型的 {len(seen)} 件训练案件训练")
            challenger = RoutingModel(params).fit_cases(seen, vectors)
            years = sorted({c.year for c in unseen if c.year})
            return Comparison(
                mode="unseen", active_version=active.version,
                description=(f"在 {len(unseen)} 件在用模型从未见过的新办结案件上比较"
                             f"（{_years(years)}）：在用模型 {active.version} 直接打分，新配置用在用模型的同一批 "
                             f"{len(seen)} 件训练案件训练后打分"),
                candidate=predict_cases(challenger, unseen, vectors),
                active=predict_cases(active.model, unseen, vectors),
                stats={}, notes=notes,
                detail={"n_train": len(seen), "test_years": years,
                        "challenger_threshold": served_certificate(challenger, vectors).threshold,
                        "active_threshold": served_certificate(active.model, vectors).threshold},
            ).with_stats(), notes
    else:
        notes.append(f"在用模型 {active.version} 没有记录训练案件（早期版本），无法找出它未见过的案件")
    if len({c.year for c in ts.cases if c.year}) < 2:
        notes.append("数据不足两个年度，且没有可与在用模型公平比较的案件：未做对比，不会自动上线")
        return None, notes
    return _backtest(ts, params, active, notes, say, vectors), notes


def _backtest(ts: TrainingSet, params: RoutingParams, active: Bundle, notes: list[str],
              say: Callable[[str], None], vectors: VectorTable | None = None) -> Comparison:
    """Both configurations trained on the same earlier years and tested on the latest year."""
    train, test, year = temporal_split(ts.cases)
    active_params = RoutingParams.from_dict(active.meta.get("params") or {})
    say(f"没有在用模型未见过的案件：两种配置都用 {len(train)} 件（{year} 年以前）训练，"
        f"在 {year} 年 {len(test)} 件上回测")
    challenger = RoutingModel(params).fit_cases(train, vectors)
    champion = challenger if active_params == params else RoutingModel(active_params).fit_cases(train, vectors)
    notes.append("本次数据中没有在用模型未见过的案件，改为两种配置在同一年度切分上回测（不是在用模型本身的成绩）")
    return Comparison(
        mode="backtest", active_version=active.version,
        description=(f"两种配置都用 {year} 年以前的 {len(train)} 件训练，在 {year} 年的 {len(test)} 件上回测"
                     f"（在用模型 {active.version} 的参数 vs 新参数）"),
        candidate=predict_cases(challenger, test, vectors), active=predict_cases(champion, test, vectors), stats={},
        notes=notes,
        detail={"n_train": len(train), "test_years": [year], "same_params": active_params == params,
                "challenger_threshold": served_certificate(challenger, vectors).threshold,
                "active_threshold": served_certificate(champion, vectors).threshold},
    ).with_stats()


def _changed_leads(entries: list[dict], seen: list) -> int:
    by_hash = {e["hash"]: e.get("lead") for e in entries}
    return sum(1 for c in seen if by_hash.get(text_hash(c.title, c.body), c.lead_id) not in (None, c.lead_id))


def _years(years: list[int]) -> str:
    if not years:
        return "无年度"
    return f"{years[0]} 年" if len(years) == 1 else f"{years[0]}–{years[-1]} 年"
