"""Lead-department ranking with calibrated probabilities, co-handler suggestions, reasons and an abstain rule.

The lead model is a linear classifier over word and character n-grams. Its out-of-fold predictions on the training
data calibrate it (temperature scaling) and set the "needs review" threshold, certified for a target precision with
a finite-sample bound (models.certify); when the data cannot certify it, every item goes to review. The fold models
see their part of the data as a model fitted on that part alone would (features.as_unseen): without that, the
held-out items keep terms a new item would not have, look easier than new items, and the threshold over-promised.
With ``crossfit`` the fold models are kept and their mean probability is served (measured on unseen folds: no more
precise, lower coverage; docs/benchmarks.md). Co-handlers are scored by an independent one-vs-rest model, with its
own threshold chosen on out-of-fold predictions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import sparse
from scipy.special import expit, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.svm import LinearSVC

from models.certify import Certificate, certify_threshold, choose_threshold, fit_temperature
from models.cohandlers import CoHandlerModel
from models.features import (
    Item,
    as_unseen,
    blocks,
    doc_features,
    feature_terms,
    make_features,
    segmenter_of,
    word_columns,
)
from models.knn_vote import VectorTable, fit_blend, text_certificate
from models.prototypes import DutyPrototypes, choose_weight
from models.records import CaseRecord
from nlp.normalize import near_duplicate_key
from nlp.segment import Doc, Segmenter

logger = logging.getLogger(__name__)


@dataclass
class RoutingParams:
    estimator: str = "svm"  # "svm" (LinearSVC) or "logreg"
    C: float = 0.5
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 3)
    target_precision: float = 0.95
    # "certified": the threshold the held-out items certify at ``target_precision`` with chance ``certify_alpha`` of
    # being wrong (models.certify); "point": the earlier point estimate (threshold_z > 0: Wilson), no guarantee.
    threshold_rule: str = "certified"
    crossfit: bool = False  # serve the mean of the fold models' probabilities instead of the full model's
    certify_alpha: float = 0.05
    threshold_z: float = 0.0
    cv_folds: int = 5
    co_min_count: int = 3
    co_C: float = 0.5
    co_use_lead: bool = False  # co-handlers conditioned on the lead's usual partners too: no gain (bench_cohandlers)
    max_iter: int = 200  # LinearSVC: converges well within this on real data; bounds the time on repetitive data
    # Out-of-fold calibration uses at most this many items (at random): a few thousand fix its few thresholds.
    calibration_max_items: int = 20_000
    random_state: int = 0
    # Whole words for the segmenter (the registry's names): part of the model, so backtest and final model agree.
    user_words: tuple[str, ...] = ()
    # (unit id, name and duties) from the registry, and whether units with fewer than ``duties_max_cases`` training
    # cases get their duties as a prototype score (models.prototypes; weight chosen out of fold). Off: on the sample
    # cases it gains little top-1 and costs the review threshold its certificate (bench_duties).
    unit_duties: tuple[tuple[str, str], ...] = ()
    duty_prototypes: bool = False
    duties_max_cases: int = 50
    # Blend a kNN vote over the training items' e5 vectors (models.knn_vote); needs them at fit and routing time.
    knn_blend: bool = False
    vector_head: bool = True  # with the blend, a LogisticRegression on the vectors may join the vote
    blend_choice: str = "stack"  # "coverage", "macro_f1", "bonferroni", "log_loss" (models.knn_vote.fit_blend)
    stack_readers: tuple[str, ...] = ("words", "rest", "cnb", "rbf")  # more for the stack (models.stack_readers)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RoutingParams:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("word_ngrams", "char_ngrams", "user_words", "stack_readers"):
            if key in known:
                known[key] = tuple(known[key])
        if "unit_duties" in known:
            known["unit_duties"] = tuple(tuple(pair) for pair in known["unit_duties"])
        return cls(**known)


@dataclass
class Suggestion:
    label: str
    probability: float
    terms: list[str] = field(default_factory=list)


@dataclass
class Routing:
    lead: list[Suggestion]
    co_handlers: list[Suggestion]
    needs_review: bool
    threshold: float
    certified: bool = True  # False: the training data could not certify the target, everything goes to review
    blended: bool = False  # True: the kNN vote of the closest training cases is in the probabilities


def _linear(params: RoutingParams):
    if params.estimator == "logreg":
        return LogisticRegression(C=params.C, max_iter=3000)
    if params.estimator == "svm":
        return LinearSVC(C=params.C, class_weight="balanced", max_iter=params.max_iter,
                         random_state=params.random_state)
    raise ValueError(f"未知的线性模型“{params.estimator}”（--estimator）：可选 svm、logreg")


def _scores(est, X) -> np.ndarray:
    scores = est.decision_function(X)
    if scores.ndim == 1:  # two classes
        scores = np.column_stack([-scores, scores])
    return scores


class RoutingModel:
    """Ranks every department for an item. ``fit`` returns self; fitted state ends in ``_``."""

    def __init__(self, params: RoutingParams | None = None):
        self.params = params or RoutingParams()

    # -- training ------------------------------------------------------------------------------------------------
    def fit(
        self,
        items: Sequence[Item],
        leads: Sequence[str],
        co_handlers: Sequence[Sequence[str]] | None = None,
        years: Sequence[int | None] | None = None,
        vectors: np.ndarray | None = None,
        vector_spec: dict | None = None,
    ):
        """Fit on (title, body) items and their lead departments.

        Args:
            co_handlers: each item's co-handling departments (optional).
            years: each item's year (optional). With three or more years the out-of-fold predictions that
                calibrate the model and set the review threshold leave one year out at a time, so they see the
                drift a new session brings, as the deployed model will.
            vectors: each item's e5 vector (of the kind ``vector_spec`` names) for ``params.knn_blend``.
        """
        p = self.params
        self.features_ = make_features(Segmenter(p.user_words), word_ngrams=p.word_ngrams, char_ngrams=p.char_ngrams)
        items = list(items)
        X = self.features_.fit_transform(items).tocsr()
        if years is not None and len({yr for yr in years if yr}) >= 3 and all(years):
            groups = [str(yr) for yr in years]
        else:
            groups = [near_duplicate_key(t, b) for t, b in items]
        self.classes_ = np.array(sorted(set(leads)))
        y = np.searchsorted(self.classes_, np.asarray(leads))
        # The calibration sample: everything, or a random subset of large training sets.
        cal = np.arange(len(items))
        if len(items) > p.calibration_max_items:
            rng = np.random.default_rng(p.random_state)
            cal = np.sort(rng.choice(len(items), p.calibration_max_items, replace=False))
        self.groups_ = [groups[i] for i in cal]
        y_cal = y[cal]
        oof, folds = self._out_of_fold_scores(X, y, cal)
        self.duties_weight_, self.prototypes_ = 0.0, None
        if p.duty_prototypes and p.unit_duties:
            self.prototypes_ = DutyPrototypes.build(self.features_, self.classes_, dict(p.unit_duties),
                                                    np.bincount(y, minlength=len(self.classes_)), p.duties_max_cases)
        if self.prototypes_ is not None:
            similarity = self.prototypes_.similarity(X[cal])
            self.duties_weight_ = choose_weight(oof, y_cal, similarity)
            oof = oof + self.duties_weight_ * similarity
        self.fold_models_ = folds if p.crossfit else []
        # Items whose department was absent from their fold's training part say nothing about the scale.
        usable = np.isfinite(oof[np.arange(len(y_cal)), y_cal])
        self.temperature_ = fit_temperature(oof[usable], y_cal[usable])
        proba = softmax(np.where(np.isfinite(oof), oof, -1e4) / self.temperature_, axis=1)
        conf = proba.max(axis=1)
        hit = proba.argmax(axis=1) == y_cal
        self.certificate_ = self._choose_threshold(conf, hit)
        self.threshold_ = self.certificate_.threshold
        self.certified_ = self.certificate_.certified
        self.validation_ = {
            "oof_top1": float(hit.mean()),
            "oof_coverage_at_threshold": self.certificate_.coverage,
            "oof_precision_at_threshold": self.certificate_.precision,
            "temperature": self.temperature_,
            "threshold": self.threshold_,
            "threshold_rule": p.threshold_rule,
            "certificate": self.certificate_.to_dict(),
            "crossfit_models": len(self.fold_models_),  # 0: the full model serves
            # the earlier rule on the same predictions, for comparison: the lowest point-estimate threshold
            "point_threshold": choose_threshold(conf, hit, p.target_precision)[0],
            "calibration_items": int(len(cal)),
            "duties_weight": self.duties_weight_,
        }
        self.knn_ = None
        if p.knn_blend and vectors is not None:
            self.knn_ = fit_blend(self, np.asarray(vectors, dtype=np.float32), y, cal, proba, y_cal,
                                  vector_spec or {}, head=p.vector_head, X=X)
        del self.oof_folds_
        self.lead_ = _linear(p).fit(X, y)
        self.terms_ = feature_terms(self.features_)
        # Co-handlers learn from word features only: as accurate as with the character n-grams on the sample data
        # (F1 0.39 vs 0.38) and several times faster, which matters with one model per co-handling unit.
        self.co_columns_ = word_columns(self.features_)
        self._fit_co_handlers(X[:, : self.co_columns_], leads, co_handlers, cal)
        del self.groups_
        return self

    def fit_cases(self, cases: Sequence[CaseRecord], vectors: VectorTable | None = None):
        """Fit on resolved case records (``lead_id``, ``co_ids``, ``year``); ``vectors`` for the kNN blend."""
        items = [(c.title, c.body) for c in cases]
        table = vectors if self.params.knn_blend else None
        return self.fit(items, [c.lead_id or c.lead for c in cases], [c.co_ids for c in cases],
                        [c.year for c in cases], vectors=None if table is None else table(items),
                        vector_spec=None if table is None else table.spec)

    def _folds(self, X):  # out-of-fold splits that keep near-duplicates (same title subject / body opening) together
        groups = self.groups_
        k = min(self.params.cv_folds, len(set(groups)))
        return GroupKFold(n_splits=k).split(X, groups=groups)

    def _choose_threshold(self, conf: np.ndarray, hit: np.ndarray) -> Certificate:
        p = self.params
        if p.threshold_rule == "certified":
            return certify_threshold(conf, hit, p.target_precision, p.certify_alpha)
        if p.threshold_rule != "point":
            raise ValueError(f"未知的阈值规则“{p.threshold_rule}”：可选 certified、point")
        t, cov, prec = choose_threshold(conf, hit, p.target_precision, p.threshold_z)
        return Certificate(True, t, cov, prec, 0.0, p.target_precision, 0.0, len(conf), 0)  # no guarantee claimed

    def _out_of_fold_scores(self, X, y, cal: np.ndarray) -> tuple[np.ndarray, list]:
        """Out-of-fold scores of the calibration items ``cal`` and the fold models (with the class indices each
        knows). A fold model learns every item but its held-out part, items outside ``cal`` included."""
        n_classes = len(self.classes_)
        oof = np.full((len(cal), n_classes), -np.inf)
        fold_models = []
        bounds = blocks(self.features_)
        self.oof_folds_ = []
        for _, val_idx in self._folds(X[cal]):
            self.oof_folds_.append(val_idx)
            keep = np.ones(X.shape[0], bool)
            keep[cal[val_idx]] = False
            train_idx = np.nonzero(keep)[0]
            fold_classes = np.unique(y[train_idx])
            if len(fold_classes) < 2:
                continue
            # Both parts as if the vocabulary had been fitted on the fold's training part alone (features.as_unseen):
            # otherwise the held-out items look unlike new ones and the threshold chosen on them over-promises.
            df = np.bincount(X[train_idx].indices, minlength=X.shape[1])
            est = _linear(self.params).fit(as_unseen(X[train_idx], df, bounds), y[train_idx])
            oof[np.ix_(val_idx, fold_classes)] = _scores(est, as_unseen(X[cal[val_idx]], df, bounds))
            fold_models.append((fold_classes, est))
        return oof, fold_models

    def _fit_co_handlers(self, X, leads, co_handlers, cal: np.ndarray) -> None:
        """Co-handlers conditioned on the lead (``models.cohandlers``), on out-of-fold scores of ``cal``."""
        self.co_model_ = None
        self.co_threshold_ = 1.0
        if not co_handlers:
            return
        p = self.params
        model = CoHandlerModel(C=p.co_C, max_iter=p.max_iter, random_state=p.random_state, min_count=p.co_min_count,
                               use_lead=p.co_use_lead)
        folds = list(self._folds(X[cal]))
        model.fit(X, leads, co_handlers, folds, [b for b in blocks(self.features_) if b[1] <= X.shape[1]], cal)
        if model.text_ is None:
            return
        self.co_model_, self.co_binarizer_ = model, model.binarizer_
        self.co_threshold_, self.co_validation_ = model.threshold_, model.validation_

    # -- prediction ----------------------------------------------------------------------------------------------
    @property
    def segmenter(self) -> Segmenter:
        return segmenter_of(self.features_)

    def prepare(self, items: Sequence[Item]) -> list[Doc]:
        """Segment items once with the model's own segmenter; the docs serve features and search alike."""
        return self.segmenter.prepare_many(items)

    def transform(self, items: Sequence[Item] | None = None, *, docs: Sequence[Doc] | None = None):
        if docs is None:
            docs = self.prepare(items or [])
        return doc_features(self.features_).transform(list(docs)).tocsr()

    def predict_proba(self, items: Sequence[Item] | None = None, *, X=None) -> np.ndarray:
        """Calibrated probabilities over ``classes_`` for each item: the full model's, or with ``crossfit`` the mean
        of the fold models' (a unit a fold never saw gets nothing from that fold)."""
        X = self.transform(items) if X is None else X
        folds = getattr(self, "fold_models_", None)
        if not folds:
            return self.full_proba(X=X)
        total = np.zeros((X.shape[0], len(self.classes_)))
        duty = self._duty_scores(X)
        for cols, est in folds:
            total[:, cols] += softmax((_scores(est, X) + duty[:, cols]) / self.temperature_, axis=1)
        return total / len(folds)

    def serving_proba(self, X, vectors: np.ndarray | None = None) -> tuple[np.ndarray, Certificate, bool]:
        """The probabilities the service ranks, the certificate that judges them, and whether they are blended:
        with the items' vectors and a kNN blend, the blend and its certificate; else the text model's."""
        proba, knn = self.predict_proba(X=X), getattr(self, "knn_", None)
        if knn is None or vectors is None:
            return proba, text_certificate(self), False
        return knn.blend(proba, vectors, X), knn.certificate, True

    def full_proba(self, items: Sequence[Item] | None = None, *, X=None) -> np.ndarray:
        """Probabilities of the model refitted on all the training data."""
        X = self.transform(items) if X is None else X
        return softmax((_scores(self.lead_, X) + self._duty_scores(X)) / self.temperature_, axis=1)

    def _duty_scores(self, X) -> np.ndarray:  # the duty prototypes' share of each class's score (zeros when off)
        w = getattr(self, "duties_weight_", 0.0)
        if not w or self.prototypes_ is None:
            return np.zeros((X.shape[0], len(self.classes_)))
        return w * self.prototypes_.similarity(X)

    def co_proba(self, items: Sequence[Item] | None = None, *, X=None, leads: Sequence[str] | None = None,
                 ) -> np.ndarray | None:
        """Each co-handling candidate's probability given the item's lead: ``leads`` as chosen, or else the
        most probable lead of each item."""
        if self.co_model_ is None:
            return None
        X = self.transform(items) if X is None else X
        if not isinstance(self.co_model_, CoHandlerModel):  # a bundle saved before models.cohandlers: its OvR + Platt
            a, b = self.co_platt_
            return expit(a * self.co_model_.decision_function(X[:, : self.co_columns_]) + b)
        if leads is None:
            leads = [str(lab) for lab in self.classes_[self.predict_proba(X=X).argmax(axis=1)]]
        return self.co_model_.proba(X[:, : self.co_columns_], leads)

    def explain(self, X_row, class_index: int, top: int = 5) -> list[str]:
        """The terms of this item that weigh most towards ``class_index``."""
        coef = self.lead_.coef_
        w = coef[class_index] if coef.shape[0] > 1 else (coef[0] if class_index == 1 else -coef[0])
        row = X_row.tocsr() if sparse.issparse(X_row) else sparse.csr_matrix(X_row)
        w = np.asarray(w)  # a row of a Fortran-ordered coef_ is strided: ravel() would copy every feature's weight
        contrib = row.data * (w[row.indices] if w.ndim == 1 else w.ravel()[row.indices])
        order = np.argsort(-contrib)
        out: list[str] = []
        for j in order:
            if contrib[j] <= 0 or len(out) >= top:
                break
            block, term = self.terms_[row.indices[j]]
            # Character n-grams often straddle word boundaries ("进老旧"); reasons show whole words only.
            term = term.replace(" ", "")
            if block != "chars" and term not in out and not any(term in o for o in out):
                out.append(term)
        return out

    def route(self, items: Sequence[Item] | None = None, top_k: int = 5, *,
              docs: Sequence[Doc] | None = None, vectors: np.ndarray | None = None) -> list[Routing]:
        """Ranked lead suggestions with reasons, co-handler suggestions and the needs-review flag for each item
        (``vectors``: the items' e5 vectors, for a model with a kNN blend)."""
        X = self.transform(items, docs=docs)
        proba, cert, blended = self.serving_proba(X, vectors)
        co = self.co_proba(X=X, leads=[str(self.classes_[row.argmax()]) for row in proba])
        out = []
        for i in range(X.shape[0]):
            order = np.argsort(-proba[i])[:top_k]
            lead = [
                Suggestion(
                    label=str(self.classes_[c]),
                    probability=float(proba[i, c]),
                    terms=self.explain(X[i], int(c)) if rank < 3 else [],
                )
                for rank, c in enumerate(order)
            ]
            co_list: list[Suggestion] = []
            if co is not None:
                labels = self.co_binarizer_.classes_
                for j in np.argsort(-co[i]):
                    if co[i, j] < self.co_threshold_ or len(co_list) >= 3:
                        break
                    if labels[j] != lead[0].label:
                        co_list.append(Suggestion(label=str(labels[j]), probability=float(co[i, j])))
            certified = bool(cert.certified)
            out.append(Routing(lead=lead, co_handlers=co_list, threshold=cert.threshold, certified=certified,
                               needs_review=not certified or lead[0].probability < cert.threshold,
                               blended=blended))
        return out


def top_k_accuracy(proba: np.ndarray, classes: np.ndarray, truth: Sequence[str], k: int) -> float:
    """Share of items whose true label is among the ``k`` most probable (labels unseen in training count as misses)."""
    top = np.argsort(-proba, axis=1)[:, :k]
    hits = [t in set(classes[row]) for t, row in zip(truth, top)]
    return float(np.mean(hits)) if hits else float("nan")


__all__ = ["RoutingModel", "RoutingParams", "Routing", "Suggestion", "choose_threshold", "fit_temperature",
           "top_k_accuracy"]
