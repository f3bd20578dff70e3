"""Train a routing model bundle from closed cases, with its backtest and a comparison to the model in service."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
from models.certify import Certificate
from models.classifier import RoutingModel, RoutingParams
from models.departments import DepartmentRegistry
from models.embeddings import Embedder
from models.knn_vote import VectorTable, blends_with, index_vector_spec, served_certificate
from models.provenance import TRAINING_CASES_FILE, cases_digest, training_cases_file
from models.records import CaseRecord
from models.search import PrecedentIndex, SearchConfig, SearchIndexError
from models.search_weights import calibrate_weights
from models.stack_readers import stack_sources
from nlp.segment import Segmenter
from training.compare import Comparison, champion_challenger, load_active
from training.dataset import TrainingSet
from training.diagnostics import mapped_labels
from training.duplicates import set_duplicate_threshold
from training.evaluate import EvalReport, evaluate, report_from
from training.figures import build_figures
from training.report import render_report
from training.stats import promotion_decision

logger = logging.getLogger(__name__)

# A new model is refused automatic promotion when its top-1 accuracy is lower than the active model's by more than
# this on the same cases and the paired test finds the difference significant (training.stats).
PROMOTION_TOLERANCE = 0.005


MIN_TEST = 100  # fewer compared cases than this: a warning, and no automatic promotion
REPORT_JSON = "report.json"


@dataclass
class TrainResult:
    path: Path
    report: EvalReport
    comparison: Comparison | None
    promoted: bool
    promotion_note: str
    figures: dict = field(default_factory=dict)
    duplicate_threshold: dict | None = None  # where the index's 并案 threshold came from (None: no index)


class Steps:
    """Numbered progress messages: ``[2/5] 训练最终模型``; details between steps carry the current number."""

    def __init__(self, say: Callable[[str], None], total: int):
        self.say, self.total, self.n = say, total, 0

    def __call__(self, message: str) -> None:
        self.n = min(self.n + 1, self.total)
        self.say(f"[{self.n}/{self.total}] {message}")

    def detail(self, message: str) -> None:
        self.say(f"[{self.n}/{self.total}] {message}")


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


def fit_model(ts: TrainingSet, params: RoutingParams, vectors: VectorTable | None = None) -> RoutingModel:
    return RoutingModel(params).fit_cases(ts.cases, vectors)


def encode_cases(cases: list[CaseRecord], registry: DepartmentRegistry | None, embedder: Embedder,
                 config: SearchConfig | None, params: RoutingParams, reuse_from: Path | None,
                 progress: Callable[[int, int], None] | None = None) -> PrecedentIndex:
    """The training cases' precedent index, built before the model so that its item vectors feed the kNN blend and
    the bundle's index alike (each text encoded once; unchanged texts reuse the version in service's vectors)."""
    index = PrecedentIndex(embedder, config or SearchConfig(), Segmenter(params.user_words))
    index.add(cases, registry, reuse=_reusable_index(reuse_from, embedder), progress=progress)
    return index


def _reusable_index(path: Path | None, embedder: Embedder) -> PrecedentIndex | None:
    """The index of the version at ``path``, whose vectors unchanged texts may reuse (None when it has none)."""
    if path is None:
        return None
    try:
        return load_search_index(load_bundle(path), embedder)
    except (BundleError, SearchIndexError) as exc:
        logger.info("no vectors reused: %s", exc)
        return None


def with_registry_words(params: RoutingParams, registry: DepartmentRegistry | None) -> RoutingParams:
    """``params`` whose segmenter knows the registry's names as whole words (unless it already has words), and with
    ``duty_prototypes`` the active units' names and duties."""
    if registry is None:
        return params
    if params.duty_prototypes and not params.unit_duties:
        duties = tuple((d.id, f"{d.name} {d.duties}") for d in registry.active() if d.duties.strip())
        params = replace(params, unit_duties=duties)
    if params.user_words:
        return params
    return replace(params, user_words=tuple(sorted(set(registry.vocabulary()))))


def build_search_index(
    bundle_path: Path,
    cases: list[CaseRecord],
    registry: DepartmentRegistry | None,
    embedder: Embedder,
    *,
    reuse_from: Path | None = None,
    reuse_index: PrecedentIndex | None = None,
    add_to_existing: bool = False,
    config: SearchConfig | None = None,
    duplicate_groups: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    files: dict[str, bytes] | None = None,
    weights: bool = True,
) -> dict:
    """Build (or extend) the bundle's precedent-search index; returns the re-signed manifest.

    Args:
        reuse_from: another bundle whose vectors may be reused for unchanged texts (same encoder only).
        reuse_index: an index in memory whose vectors are reused the same way (``encode_cases``).
        add_to_existing: keep the bundle's current index and add ``cases`` to it (incremental).
        duplicate_groups: case number -> group id of known near-duplicates; when given, the duplicate threshold
            is chosen on them (training.duplicates.calibrate) and recorded in the manifest; without them the
            threshold of ``reuse_from`` is carried over when its vectors are of the same kind
            (training.duplicates.set_duplicate_threshold), and the manifest returned says which under
            ``search.duplicate_threshold``.
        files: written into the bundle beside the index (e.g. ``rejected_rows.csv``).
        weights: choose the fusion weights of each target on the cases' own pairs (``models.search_weights``).
    """
    bundle = load_bundle(bundle_path)
    index = None
    if add_to_existing:
        index = load_search_index(bundle, embedder)
    if index is None:
        index = PrecedentIndex(embedder, config or SearchConfig(), bundle.model.segmenter)
    reuse = reuse_index
    if reuse is None and reuse_from is not None and Path(reuse_from) != Path(bundle_path):
        reuse = _reusable_index(reuse_from, embedder)
    encoded = index.add(cases, registry, reuse=reuse, progress=progress)
    if weights:
        calibrate_weights(index)
    threshold = set_duplicate_threshold(index, duplicate_groups, version=Path(bundle_path).name,
                                        previous=reuse_from)
    logger.info("search index: %d cases, %d encoded", len(index), encoded)
    meta = attach_search_index(bundle_path, index, files)
    meta["search"].update(encoded=encoded, duplicate_threshold=threshold)
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
    tolerance: float = PROMOTION_TOLERANCE,
    min_test: int = MIN_TEST,
    review_threshold: float | None = None,
    promoted_by: str = "",
) -> TrainResult:
    """Compare with the model in service, fit on all cases, save a new version, and promote it when asked and
    the comparison allows it.

    Args:
        ts: validated closed cases (see training.dataset.load_training_set).
        registry: the department registry the labels were resolved with (None for free labels).
        store: where versions live.
        promote: make the new version active unless it is significantly worse than the active one
            (training.stats.promotion_decision) or was compared on fewer than ``min_test`` cases.
        force: promote even then.
        embedder: when given, a precedent-search index is built into the bundle (vectors of unchanged cases are
            reused from the active bundle).
        review_threshold: the service's configured review threshold (None: the model's own is used).
        promoted_by: who asked, for the promotion record.
    """
    params = params or RoutingParams()
    say = progress or (lambda msg: None)
    if len(ts.cases) < 10:
        raise ValueError(f"只有 {len(ts.cases)} 条可用案件，至少需要 10 条才能训练")
    params = with_registry_words(params, registry)
    if params.knn_blend and embedder is None:
        raise ValueError("近邻投票（--knn-blend）需要句向量编码器：请配置 JIAOBAN_ENCODER，或去掉 --knn-blend")
    steps = Steps(say, total=(5 if embedder is not None else 4) + bool(params.knn_blend))
    reuse = store.active_path() if store.active() else None
    pre: PrecedentIndex | None = None
    vectors: VectorTable | None = None
    if params.knn_blend and embedder is not None:
        steps(f"编码全部 {len(ts.cases)} 件案件（近邻投票与类案检索共用，编码器 {embedder.name}）")
        pre = encode_cases(ts.cases, registry, embedder, search_config, params, reuse,
                           progress=lambda done, total: steps.detail(f"向量编码 {done}/{total}"))
        vectors = VectorTable([(c.title, c.body) for c in ts.cases], pre.vectors, index_vector_spec(pre))
    active = load_active(store)
    comparison: Comparison | None = None
    notes: list[str] = []
    if active is not None:
        steps("与在用模型比较（只用它未见过的案件）")
        comparison, notes = champion_challenger(ts, params, active, say=steps.detail, vectors=vectors)
    if comparison is None:
        steps("回测评估")
        backtest = evaluate(ts, params, split=split, progress=steps.detail, vectors=vectors)
    steps(f"用全部 {len(ts.cases)} 件案件训练最终模型")
    model = fit_model(ts, params, vectors)
    knn = model.knn_ if blends_with(model, vectors) else None
    served = served_certificate(model, vectors)
    in_service = review_threshold or float(served.threshold)
    certified = bool(review_threshold) or served.certified
    threshold = {"in_service": in_service, "model": float(served.threshold),
                 "source": "setting" if review_threshold else "model", "certified": certified,
                 "certificate": served.to_dict(), "note": certificate_note(served),
                 "knn_blend": knn is not None}
    if knn is not None:
        head_weight = float(getattr(knn, "head_weight", 0.0)) if getattr(knn, "head", None) is not None else 0.0
        head = f"和语义向量分类器（权重 {head_weight:.1f}）" if head_weight else ""
        stack = getattr(knn, "stack", None)
        how = (f"主办建议由{stack_sources(stack)}经按单位加权的合成模型给出" if stack is not None else
               f"主办建议结合最相似的 {knn.k} 件往年案件的投票（权重 {knn.weight:.1f}）{head}")
        threshold["note"] = f"{how}；" + certificate_note(served)
        threshold["text_only"] = {"threshold": float(model.threshold_), "certificate": model.certificate_.to_dict(),
                                  "note": "无法编码时（编码器不可用）只用文本模型，按此阈值复核："
                                          + certificate_note(model.certificate_)}
    if comparison is not None:
        backtest = report_from(comparison.candidate, comparison.mode, comparison.detail)
    candidate = backtest.predictions
    assert candidate is not None
    backtest = report_from(candidate.with_threshold(in_service, certified), backtest.split, backtest.detail)
    decision = promotion_decision(None if comparison is None else comparison.stats, tolerance=tolerance,
                                  min_test=min_test)
    if active is not None and comparison is None:
        decision = {**decision, "allowed": False, "reason": "无法与在用模型公平比较：请人工查看报告后决定是否上线"}
    decision.update(requested=promote, forced=force and promote and not decision["allowed"])
    path = store.new_version_path(tag)
    figures = build_figures(
        version=path.name, data={**ts.info(), "cases_sha256": cases_digest(ts.cases)}, backtest=backtest,
        comparison=comparison, threshold=threshold, decision=decision, mapped=mapped_labels(ts.cases, registry),
        search=None if embedder is None else {"encoder": embedder.name, "cases": len(ts.cases),
                                              "dense_text": (search_config or SearchConfig()).dense_text},
        notes=notes, name=_namer(registry), min_test=min_test)
    attachments = {"report.html": render_report(figures).encode("utf-8"),
                   REPORT_JSON: json.dumps(figures, ensure_ascii=False, indent=1).encode("utf-8"),
                   TRAINING_CASES_FILE: training_cases_file(ts.cases)}
    if ts.errors:
        attachments["rejected_rows.csv"] = rejected_rows_csv(ts.errors)
    steps("保存模型版本")
    save_bundle(
        path, model=model, registry=registry, data=figures["data"], params=params.to_dict(),
        metrics={**backtest.to_dict(), "validation": model.validation_, "threshold_in_service": threshold},
        user_words=list(model.segmenter.user_words),
        extra={"compared_with": _comparison_summary(comparison), "promotion_decision": decision,
               "training_cases": {"file": TRAINING_CASES_FILE, "count": len(ts.cases)}},
        attachments=attachments,
    )
    duplicates = None
    if embedder is not None:
        steps(f"建立相似案例检索索引（编码器 {embedder.name}）")
        with discarded_on_failure(path):
            meta = build_search_index(path, ts.cases, registry, embedder, reuse_from=reuse, reuse_index=pre,
                                      config=search_config, duplicate_groups=duplicate_groups,
                                      progress=lambda done, total: steps.detail(f"向量编码 {done}/{total}"))
        duplicates = meta["search"]["duplicate_threshold"]
    promoted, note = False, "未上线（加 --promote 可在不显著劣于在用模型时上线）"
    if promote and (decision["allowed"] or force):
        why = decision["reason"] + ("；--force 强制上线" if decision["forced"] else "")
        store.promote(path.name, reason="promote (train --force)" if decision["forced"] else "promote (train)",
                      by=promoted_by, why=why)
        promoted, note = True, f"已上线（成为在用模型）：{why}"
    elif promote:
        note = f"未上线：{decision['reason']}；确认后可用 `jiaoban promote {path.name} --why 理由` 或 --force 上线"
    return TrainResult(path=path, report=backtest, comparison=comparison, promoted=promoted, promotion_note=note,
                       figures=figures, duplicate_threshold=duplicates)


def certificate_note(cert: Certificate) -> str:
    """What the training data says about the model's review threshold, in Chinese, for the log and the report."""
    if not cert.alpha:  # the earlier per-threshold rule (--threshold-z): no guarantee claimed
        return (f"复核阈值 {cert.threshold:.3f}（旧规则，按各阈值处的准确率估计选定，不作整体保证）：训练数据的 "
                f"{cert.n} 件交叉验证预测中 {cert.coverage:.1%} 达到它")
    if cert.certified:
        return (f"复核阈值 {cert.threshold:.3f}：训练数据的 {cert.n} 件交叉验证预测中 {cert.coverage:.1%} 达到它，"
                f"准确率 {cert.precision:.1%}；以 {1 - cert.alpha:.0%} 的把握保证自动交办准确率不低于 "
                f"{cert.target:.0%}（单侧下界 {cert.lower_bound:.1%}）")
    return (f"无法认证：{cert.n} 件训练案件不足以保证自动交办准确率达到 {cert.target:.0%}"
            f"（以 {1 - cert.alpha:.0%} 的把握至少需要置信度最高的 {cert.min_items} 件全部正确），"
            "本模型的所有建议都需人工复核")


def _comparison_summary(comparison: Comparison | None) -> dict | None:
    if comparison is None:
        return None
    out = comparison.to_dict()
    out.pop("case_ids", None)  # listed in report.json
    return out


def _namer(registry: DepartmentRegistry | None) -> Callable[[str], str]:
    return lambda lab: registry.get(lab).name if registry is not None and lab in registry else lab
