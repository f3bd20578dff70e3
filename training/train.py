"""Train a routing model bundle from closed cases, with its backtest and a comparison to the model in service."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from models.bundle import (
    BundleError,
    BundleStore,
    attach_search_index,
    load_bundle,
    load_search_index,
    removed_on_failure,
    save_bundle,
)
from models.cells import safe_cell
from models.classifier import RoutingModel, RoutingParams
from models.departments import DepartmentRegistry
from models.embeddings import Embedder
from models.records import CaseRecord
from models.search import PrecedentIndex, SearchConfig, SearchIndexError
from training.dataset import TrainingSet, temporal_split
from training.duplicates import calibrate
from training.evaluate import EvalReport, evaluate, score_model
from training.report import render_report

logger = logging.getLogger(__name__)

# A new model may be promoted automatically only if its top-1 accuracy is not lower than this much below the
# active model's on the same test year.
PROMOTION_TOLERANCE = 0.005


@dataclass
class TrainResult:
    path: Path
    report: EvalReport
    comparison: dict | None
    promoted: bool
    promotion_note: str


def rejected_rows_csv(errors) -> bytes:
    """The rows that could not be used, as a CSV staff can open in Excel."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["行号", "字段", "问题"])
    for e in errors:
        w.writerow([e.row, safe_cell(e.field), safe_cell(e.message)])
    return buf.getvalue().encode("utf-8-sig")


def discarded_on_failure(version: Path):
    """A new, not yet promoted version is removed when what completes it fails (a full disk while indexing, a bad
    encoder): a listed version is always a whole one."""
    return removed_on_failure(version, f"模型版本 {version}")


def fit_model(ts: TrainingSet, params: RoutingParams) -> RoutingModel:
    return RoutingModel(params).fit_cases(ts.cases)


def with_registry_words(params: RoutingParams, registry: DepartmentRegistry | None) -> RoutingParams:
    """``params`` whose segmenter knows the registry's names as whole words (unless it already has words)."""
    if registry is None or params.user_words:
        return params
    return replace(params, user_words=tuple(sorted(set(registry.vocabulary()))))


def compare_with_active(store: BundleStore, ts: TrainingSet, report: EvalReport) -> dict | None:
    """Score the model in service on the new model's test year, so the two figures are comparable."""
    if store.active() is None or report.split != "temporal":
        return None
    try:
        active = load_bundle(store.active_path())
    except BundleError as exc:
        logger.warning("active model cannot be loaded for comparison: %s", exc)
        return {"version": store.active(), "error": str(exc)}
    _, test, year = temporal_split(ts.cases, report.detail.get("test_year"))
    return {"version": active.version, "test_year": year, "metrics": score_model(active.model, test)}


def build_search_index(
    bundle_path: Path,
    cases: list[CaseRecord],
    registry: DepartmentRegistry | None,
    embedder: Embedder,
    *,
    reuse_from: Path | None = None,
    add_to_existing: bool = False,
    config: SearchConfig | None = None,
    duplicate_groups: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Build (or extend) the bundle's precedent-search index; returns the re-signed manifest.

    Args:
        reuse_from: another bundle whose vectors may be reused for unchanged texts (same encoder only).
        add_to_existing: keep the bundle's current index and add ``cases`` to it (incremental).
        duplicate_groups: case number -> group id of known near-duplicates; when given, the duplicate threshold
            is chosen on them (training.duplicates.calibrate) and recorded in the manifest.
    """
    bundle = load_bundle(bundle_path)
    index = None
    if add_to_existing:
        index = load_search_index(bundle, embedder)
    if index is None:
        index = PrecedentIndex(embedder, config or SearchConfig(), bundle.model.segmenter)
    reuse = None
    if reuse_from is not None and Path(reuse_from) != Path(bundle_path):
        try:
            reuse = load_search_index(load_bundle(reuse_from), embedder)
        except (BundleError, SearchIndexError) as exc:
            logger.info("no vectors reused: %s", exc)
    encoded = index.add(cases, registry, reuse=reuse, progress=progress)
    if duplicate_groups:
        calibration = calibrate(index, duplicate_groups)
        index.config.duplicate_threshold = calibration["threshold"]
        index.config.duplicate_calibration = calibration
    logger.info("search index: %d cases, %d encoded", len(index), encoded)
    meta = attach_search_index(bundle_path, index)
    meta["search"]["encoded"] = encoded
    return meta


def train(
    ts: TrainingSet,
    registry: DepartmentRegistry | None,
    *,
    store: BundleStore,
    params: RoutingParams | None = None,
    split: str = "auto",
    promote: bool = False,
    force: bool = False,
    tag: str = "",
    embedder: Embedder | None = None,
    search_config: SearchConfig | None = None,
    duplicate_groups: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Backtest, fit on all cases, save a new bundle version, and promote it when asked and not worse.

    Args:
        ts: validated closed cases (see training.dataset.load_training_set).
        registry: the department registry the labels were resolved with (None for free labels).
        store: where versions live.
        promote: make the new version active if it is not worse than the active one.
        force: promote even if it is worse.
        embedder: when given, a precedent-search index is built into the bundle (vectors of unchanged cases are
            reused from the active bundle).
    """
    params = params or RoutingParams()
    say = progress or (lambda msg: None)
    if len(ts.cases) < 10:
        raise ValueError(f"只有 {len(ts.cases)} 条可用案件，至少需要 10 条才能训练")
    params = with_registry_words(params, registry)
    say("回测评估中")
    report = evaluate(ts, params, split=split, progress=say)
    comparison = compare_with_active(store, ts, report)
    attachments = {"report.html": render_report(
        report, title="交办模型评估报告", data_info=ts.info(), comparison=comparison,
        label_name=lambda lab: registry.get(lab).name if registry is not None and lab in registry else lab,
    ).encode("utf-8")}
    if ts.errors:
        attachments["rejected_rows.csv"] = rejected_rows_csv(ts.errors)
    say(f"用全部 {len(ts.cases)} 条案件训练最终模型")
    model = fit_model(ts, params)
    path = save_bundle(
        store.new_version_path(tag),
        model=model,
        registry=registry,
        data=ts.info(),
        params=params.to_dict(),
        metrics={**report.to_dict(), "validation": model.validation_},
        user_words=list(model.segmenter.user_words),
        extra={"compared_with": comparison},
        attachments=attachments,
    )
    if embedder is not None:
        say(f"建立相似案例检索索引（编码器 {embedder.name}）")
        active = store.active_path() if store.active() else None
        with discarded_on_failure(path):
            build_search_index(path, ts.cases, registry, embedder, reuse_from=active, config=search_config,
                               duplicate_groups=duplicate_groups,
                               progress=lambda done, total: say(f"向量编码 {done}/{total}"))
    promoted, note = False, "未上线（加 --promote 可在不劣于在用模型时上线）"
    if promote:
        old = (comparison or {}).get("metrics")
        drop = (old["top1"] - report.metrics["top1"]) if old else 0.0
        if old and drop > PROMOTION_TOLERANCE and not force:
            note = (
                f"未上线：新模型首选准确率 {report.metrics['top1']:.3f} 低于在用模型 {old['top1']:.3f}；"
                "确认后可用 `jiaoban promote` 或 --force 上线"
            )
        else:
            store.promote(path.name)
            promoted, note = True, "已上线（成为在用模型）"
    return TrainResult(path=path, report=report, comparison=comparison, promoted=promoted, promotion_note=note)
