"""Backtests: a temporal split (train on earlier years, test on the latest) or grouped k-fold where there are no years.

Near-duplicate items (same normalised title or opening of the body) stay in the same fold, so a copy of a test item
never sits in the training data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold

from models.certify import clopper_pearson_interval
from models.classifier import RoutingModel, RoutingParams, top_k_accuracy
from models.knn_vote import VectorTable, blends_with
from models.records import CaseRecord
from nlp.normalize import near_duplicate_key
from training.dataset import TrainingSet, temporal_split

logger = logging.getLogger(__name__)


@dataclass
class Predictions:
    """Per-item outcomes of a backtest, enough to recompute every metric."""

    truth: list[str] = field(default_factory=list)
    ranked: list[list[str]] = field(default_factory=list)  # labels, most probable first
    confidence: list[float] = field(default_factory=list)
    co_truth: list[set[str]] = field(default_factory=list)
    co_pred: list[set[str]] = field(default_factory=list)
    # The review threshold of the model that scored each item: k-fold runs have one model (and threshold) per fold.
    thresholds: list[float] = field(default_factory=list)
    # Whether that model's training data certified its threshold (False: it sends every item to review).
    certified: list[bool] = field(default_factory=list)
    target: float = 0.95  # the precision the threshold promises
    ids: list[str] = field(default_factory=list)  # case numbers, for listing what was compared
    titles: list[str] = field(default_factory=list)  # for example titles of confused pairs in the report

    def with_threshold(self, threshold: float, certified: bool = True) -> Predictions:
        """The same outcomes judged against one review threshold (the one the saved model uses in service)."""
        return replace(self, thresholds=[float(threshold)] * len(self.truth),
                       certified=[bool(certified)] * len(self.truth))

    def extend(self, model: RoutingModel, cases: Sequence[CaseRecord], truth: Sequence[str],
               vectors: VectorTable | None = None) -> None:
        """Add the model's outcomes on ``cases``, as the service would give them (blended with the kNN vote when the
        model has one and ``vectors`` are of its kind)."""
        items = [(c.title, c.body) for c in cases]
        X = model.transform(items)
        proba, cert, _ = model.serving_proba(X, vectors(items) if vectors is not None and blends_with(model, vectors)
                                             else None)
        order = np.argsort(-proba, axis=1)
        co = model.co_proba(X=X, leads=[str(model.classes_[row[0]]) for row in order])
        for i, case in enumerate(cases):
            self.truth.append(truth[i])
            self.ids.append(case.case_no or f"row:{case.row}")
            self.titles.append(case.title)
            self.ranked.append([str(model.classes_[j]) for j in order[i, :10]])
            self.confidence.append(float(proba[i, order[i, 0]]))
            self.co_truth.append(set(case.co_ids))
            if co is None:
                self.co_pred.append(set())
            else:
                labels = model.co_binarizer_.classes_
                picked = [labels[j] for j in np.argsort(-co[i])[:3] if co[i, j] >= model.co_threshold_]
                self.co_pred.append({p for p in picked if p != self.ranked[-1][0]})
        self.thresholds.extend([float(cert.threshold)] * len(cases))
        self.certified.extend([bool(cert.certified)] * len(cases))
        self.target = float(model.params.target_precision)


def group_keys(cases: Sequence[CaseRecord]) -> list[str]:
    """Near-duplicate groups: the normalised title subject, or the first 40 characters of the body."""
    return [near_duplicate_key(c.title, c.body) for c in cases]


def metrics_from(pred: Predictions) -> dict:
    truth = np.array(pred.truth)
    top1 = np.array([r[0] for r in pred.ranked])
    hit1 = top1 == truth
    conf = np.array(pred.confidence)
    thresholds = np.array(pred.thresholds) if pred.thresholds else np.ones(len(conf))
    certified = np.array(pred.certified, bool) if pred.certified else np.ones(len(conf), bool)
    accepted = (conf >= thresholds) & certified  # each item against its own model's threshold
    labels = sorted(set(pred.truth))
    out = {
        "n_test": len(truth),
        "top1": float(hit1.mean()),
        "top3": float(np.mean([t in r[:3] for t, r in zip(pred.truth, pred.ranked)])),
        "macro_f1": float(f1_score(truth, top1, labels=labels, average="macro", zero_division=0)),
        "threshold": float(np.mean(thresholds)) if len(thresholds) else 1.0,
        "thresholds": sorted({round(float(t), 4) for t in thresholds}),
        "coverage_at_threshold": float(accepted.mean()),
        "precision_at_threshold": float(hit1[accepted].mean()) if accepted.any() else float("nan"),
        "needs_review_share": float(1 - accepted.mean()),
        "ece": expected_calibration_error(conf, hit1),
        "promise": promise(hit1[accepted], pred.target, certified),
    }
    tp = sum(len(p & t) for p, t in zip(pred.co_pred, pred.co_truth))
    n_pred = sum(len(p) for p in pred.co_pred)
    n_true = sum(len(t) for t in pred.co_truth)
    if n_true:
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_true
        out["co_handlers"] = {
            "precision": prec,
            "recall": rec,
            "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
        }
    return out


def promise(hits: np.ndarray, target: float, certified: np.ndarray) -> dict:
    """Whether the auto-assigned items kept the threshold's promise: their precision with a 95 % exact interval,
    and a verdict in Chinese (met / missed / could not be certified, when the training data certified nothing)."""
    n, k = int(len(hits)), int(hits.sum())
    low, high = clopper_pearson_interval(k, n)
    share = float(certified.mean()) if len(certified) else 0.0
    out = {"target": target, "accepted": n, "correct": k, "precision": k / n if n else float("nan"),
           "ci": [low, high], "certified_share": share}
    if n == 0:
        status = "uncertified" if share < 1 else "none_accepted"
        text = (f"无法认证：训练数据不足以保证自动交办准确率达到 {target:.0%}，全部案件转人工复核"
                if status == "uncertified" else f"没有案件的置信度达到复核阈值，全部转人工复核（目标 {target:.0%}）")
    else:
        status = "met" if k / n >= target else "missed"
        text = (f"未见数据上自动交办 {n} 件，准确率 {k / n:.1%}（95% 区间 {low:.1%}–{high:.1%}）："
                + (f"达到目标 {target:.0%}" if status == "met" else f"未达到目标 {target:.0%}"))
        if share < 1:
            text += f"；{1 - share:.0%} 的案件由无法认证阈值的模型打分，已全部转人工复核"
    out.update(status=status, text=text)
    return out


def per_label(pred: Predictions) -> list[dict]:
    labels = sorted(set(pred.truth))
    top1 = [r[0] for r in pred.ranked]
    p, r, f, s = precision_recall_fscore_support(pred.truth, top1, labels=labels, zero_division=0)
    return [
        {"label": lab, "support": int(s[i]), "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i])}
        for i, lab in enumerate(labels)
    ]


CURVE_POINTS = tuple(round(0.3 + 0.025 * i, 3) for i in range(28)) + (0.99,)


def auto_assign_curve(pred: Predictions, points: Sequence[float] = CURVE_POINTS) -> list[dict]:
    """Share of items above each confidence level and the precision on them."""
    conf = np.array(pred.confidence)
    hit = np.array([r[0] == t for r, t in zip(pred.ranked, pred.truth)])
    out = []
    for t in points:
        m = conf >= t
        precision = float(hit[m].mean()) if m.any() else None
        out.append({"threshold": float(t), "coverage": float(m.mean()), "precision": precision, "n": int(m.sum())})
    return out


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (confidence > lo) & (confidence <= hi)
        if m.any():
            ece += m.mean() * abs(confidence[m].mean() - correct[m].mean())
    return float(ece)


@dataclass
class EvalReport:
    split: str
    metrics: dict
    per_label: list[dict]
    curve: list[dict]
    detail: dict = field(default_factory=dict)
    predictions: Predictions | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "split": self.split,
            "metrics": self.metrics,
            "per_label": self.per_label,
            "curve": self.curve,
            **self.detail,
        }


def evaluate(
    ts: TrainingSet,
    params: RoutingParams | None = None,
    *,
    split: str = "auto",
    folds: int = 5,
    test_year: int | None = None,
    progress: Callable[[str], None] | None = None,
    vectors: VectorTable | None = None,
) -> EvalReport:
    """Backtest the routing model on a training set.

    Args:
        split: "temporal", "kfold", or "auto" (temporal when the cases span two or more years).
        folds: number of folds for k-fold.
        test_year: the year to test on with the temporal split (default: the latest).
        progress: called with a short message as each model is trained.
        vectors: the cases' e5 vectors, for ``params.knn_blend`` (each fold's model blends as the final one will).
    """
    params = params or RoutingParams()
    say = progress or (lambda msg: None)
    years = {c.year for c in ts.cases if c.year}
    if split == "auto":
        split = "temporal" if len(years) >= 2 else "kfold"
    pred = Predictions()
    detail: dict = {}
    if split == "temporal":
        train, test, year = temporal_split(ts.cases, test_year)
        say(f"训练 {len(train)} 条（{min(c.year for c in train)}–{year - 1} 年），测试 {len(test)} 条（{year} 年）")
        model = RoutingModel(params).fit_cases(train, vectors)
        pred.extend(model, test, _leads(test), vectors)
        detail = {"test_year": year, "n_train": len(train), "validation": model.validation_}
    elif split == "kfold":
        groups = group_keys(ts.cases)
        n_groups = len(set(groups))
        k = min(folds, n_groups)
        for i, (tr, te) in enumerate(GroupKFold(n_splits=k).split(ts.cases, groups=groups), start=1):
            say(f"第 {i}/{k} 折：训练 {len(tr)} 条，测试 {len(te)} 条")
            train = [ts.cases[j] for j in tr]
            test = [ts.cases[j] for j in te]
            model = RoutingModel(params).fit_cases(train, vectors)
            pred.extend(model, test, _leads(test), vectors)
        detail = {"folds": k, "groups": n_groups}
    else:
        raise ValueError(f"未知的切分方式“{split}”：可选 temporal、kfold、auto")
    return report_from(pred, split, detail)


def report_from(pred: Predictions, split: str, detail: dict | None = None) -> EvalReport:
    """Every figure of a report from one set of predictions (kept in ``predictions`` for paired comparisons)."""
    return EvalReport(split=split, metrics=metrics_from(pred), per_label=per_label(pred),
                      curve=auto_assign_curve(pred), detail=dict(detail or {}), predictions=pred)


def _leads(cases: Sequence[CaseRecord]) -> list[str]:
    """The true lead of each case, by the rule RoutingModel.fit_cases trains on (the resolved unit id)."""
    return [c.lead_id or c.lead for c in cases]


def predict_cases(model: RoutingModel, cases: Sequence[CaseRecord], vectors: VectorTable | None = None,
                  ) -> Predictions:
    """An already trained model's (e.g. the one in service) outcomes on the given cases."""
    pred = Predictions()
    pred.extend(model, cases, _leads(cases), vectors)
    return pred


def score_model(model: RoutingModel, cases: Sequence[CaseRecord]) -> dict:
    """Metrics of an already trained model on the given cases."""
    return metrics_from(predict_cases(model, cases))


__all__ = ["evaluate", "score_model", "EvalReport", "Predictions", "top_k_accuracy"]
