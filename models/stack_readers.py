"""Further readers for the stack (issue #12, ``RoutingParams.stack_readers``).

The stack of models.knn_stack reads the text model, the kNN votes and the vector head. These readers see the same
item from other sides, each one more block of per-unit columns for the stack to weigh:

- ``words``: a LinearSVC on the first feature block alone (the item's words), its decision values;
- ``rest``: a LinearSVC on the other blocks (title-subject words and character n-grams);
- ``cnb``: a ComplementNB on all the text features, its log probabilities;
- ``rbf``: an RBF-kernel SVC on the unit e5 vectors (one-vs-rest decision values), a non-linear reader of the
  vectors beside the linear head and the vote.

Their out-of-fold scores come from the folds the text model's come from, each fold's features as a vocabulary
fitted without it would have made them (features.as_unseen), so the stack weighs them as they behave on new items.
Chosen on captured TipDM grouped 5-fold inputs (pooled macro-F1 of the stack, test parts: titles 88.65 → 89.02,
bodies 90.86 → 91.57 with all four; a sparse TF-IDF kNN vote, unit centroids and a prior correction gave less).
Paired on the nested TipDM folds against the stack without them (``bench_knn_blend.py --stack-readers
words,rest,cnb,rbf --against-shipped``, docs/benchmarks.md, "Before the readers"): macro-F1 bodies +0.7 (p 0.001),
titles +0.4 (p 0.07), coverage at the certified threshold 78.2 → 79.5 % (titles) and 86.1 → 87.0 % (bodies), no
proxy floor miss (two without them). Costs: a fit about 1.5 times as long, a bundle about 1.8 times as large (the
two linear readers' and the ComplementNB's coefficients are dense over every feature).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.features import as_unseen

READERS = ("words", "rest", "cnb", "rbf")
LABELS = {"words": "词语线性模型", "rest": "标题主题词与字串线性模型", "cnb": "补集朴素贝叶斯", "rbf": "语义向量核模型"}
ABSENT = -3.0  # the score of a unit a reader never saw (decision values of seen units are mostly within ±2)
LOG_FLOOR = float(np.log(1e-6))
RBF_C = 10.0
RBF_MAX_ITEMS = 10_000  # the kernel SVC's fit grows with the square of its items: a random subset beyond this
NB_ALPHA = 0.3


@dataclass
class Readers:
    """The fitted readers, each laid out over all ``n_classes`` of the routing model."""

    names: tuple[str, ...]
    n_classes: int
    word_stop: int  # the first feature block's end: ``words`` reads the columns before it, ``rest`` the others
    linear: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)  # (classes, coef, b)
    nb: tuple[np.ndarray, np.ndarray] | None = None  # (classes, feature log probabilities)
    rbf: object | None = None  # sklearn SVC, or None when its part had one class
    # (features, classes) C-ordered float64 copies of the weights, made at first use and never saved: ``X @ coef.T``
    # with a transposed float32 view converts the whole matrix at every call (tens of MB for each chunk of a sheet;
    # 17 ms against 0.6 ms for 32 rows of the sample bundle's ComplementNB).
    _columns_first: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_columns_first"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _columns_first={})

    def _by_column(self, name: str, matrix: np.ndarray) -> np.ndarray:
        out = self._columns_first.get(name)
        if out is None:
            out = self._columns_first[name] = np.ascontiguousarray(matrix.T, dtype=np.float64)
        return out

    def scores(self, X, vectors: np.ndarray | None) -> list[np.ndarray]:
        """Each reader's (n, n_classes) scores of the rows ``X`` (text features) and ``vectors`` (e5)."""
        n = X.shape[0]
        out = []
        for name in self.names:
            if name in ("words", "rest"):
                cols = _columns(name, self.word_stop)
                fitted = self.linear.get(name)
                s = np.full((n, self.n_classes), ABSENT)
                if fitted is not None:
                    classes, coef, b = fitted
                    s[:, classes] = np.asarray(X[:, cols] @ self._by_column(name, coef)) + b
                out.append(s)
            elif name == "cnb":
                out.append(self._nb_scores(X))
            else:
                out.append(self._rbf_scores(vectors, n))
        return out

    def _nb_scores(self, X) -> np.ndarray:
        from scipy.special import log_softmax

        s = np.full((X.shape[0], self.n_classes), LOG_FLOOR)
        if self.nb is not None:
            classes, flp = self.nb
            s[:, classes] = np.maximum(log_softmax(np.asarray(X @ self._by_column("cnb", flp)), axis=1), LOG_FLOOR)
        return s

    def _rbf_scores(self, vectors: np.ndarray | None, n: int) -> np.ndarray:
        if vectors is None:
            raise ValueError("stack reader rbf: the items' vectors are needed")
        s = np.full((n, self.n_classes), ABSENT)
        if self.rbf is not None:
            d = self.rbf.decision_function(_unit(vectors))  # type: ignore[attr-defined]
            s[:, self.rbf.classes_] = np.column_stack([-d, d]) if d.ndim == 1 else d  # type: ignore[attr-defined]
        return s


def stack_sources(stack) -> str:
    """What a fitted stack reads, in words for the training report (Simplified Chinese)."""
    parts = ["文本模型", "最相似往年案件的投票"] + (["语义向量分类器"] if stack.uses_head else [])
    readers = getattr(stack, "readers", None)
    parts += [LABELS[name] for name in (readers.names if readers is not None else ())]
    return "、".join(parts[:-1]) + "和" + parts[-1]


def _columns(name: str, word_stop: int) -> slice:
    """The feature columns a linear reader reads: ``words`` the first block, ``rest`` the others."""
    return slice(0, word_stop) if name == "words" else slice(word_stop, None)


def _unit(v: np.ndarray) -> np.ndarray:
    from models.knn_vote import _unit as unit_rows  # knn_vote imports this module: the shared helper, at call time

    return unit_rows(np.asarray(v, dtype=np.float32))


def fit_readers(names: Sequence[str], X, y: np.ndarray, vectors: np.ndarray | None, n_classes: int,
                word_stop: int, C: float = 0.5, max_iter: int = 200, random_state: int = 0) -> Readers:
    """The readers ``names`` fitted on the rows ``X`` (text features), ``vectors`` and their classes ``y``."""
    unknown = sorted(set(names) - set(READERS))
    if unknown:
        raise ValueError(f"未知的堆叠读取器“{'、'.join(unknown)}”（stack_readers）：可选 {'、'.join(READERS)}")
    readers = Readers(tuple(names), n_classes, word_stop)
    classes = np.unique(y)
    if len(classes) < 2:
        return readers
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import SVC, LinearSVC

    for name in ("words", "rest"):
        if name in names:
            cols = _columns(name, word_stop)
            if X[:, cols].shape[1] == 0:
                continue
            est = LinearSVC(C=C, max_iter=max_iter, random_state=random_state).fit(X[:, cols], y)
            coef = est.coef_ if len(classes) > 2 else np.vstack([-est.coef_[0], est.coef_[0]])
            b = est.intercept_ if len(classes) > 2 else np.array([-est.intercept_[0], est.intercept_[0]])
            readers.linear[name] = (est.classes_, coef.astype(np.float32), b)
    if "cnb" in names:
        nb = ComplementNB(alpha=NB_ALPHA).fit(X, y)
        readers.nb = (nb.classes_, nb.feature_log_prob_.astype(np.float32))
    if "rbf" in names:
        if vectors is None:
            raise ValueError("stack reader rbf: the items' vectors are needed")
        rows = np.arange(len(y))
        if len(rows) > RBF_MAX_ITEMS:
            rows = np.sort(np.random.default_rng(random_state).choice(len(y), RBF_MAX_ITEMS, replace=False))
        if len(np.unique(y[rows])) >= 2:
            readers.rbf = SVC(C=RBF_C, kernel="rbf", gamma="scale").fit(_unit(vectors[rows]), y[rows])
    return readers


def out_of_fold_readers(names: Sequence[str], X, y: np.ndarray, cal: np.ndarray, folds: Iterable[np.ndarray],
                        bounds: list[tuple[int, int, int]], vectors: np.ndarray | None, n_classes: int,
                        **fit_kw) -> list[np.ndarray]:
    """Each reader's scores of the calibration items ``cal``: a fold's held-out part scored by readers fitted on
    every other training item, both parts as the fold's own vocabulary would have made them."""
    out = [np.zeros((len(cal), n_classes)) for _ in names]
    if not out:
        return out
    for val in folds:
        keep = np.ones(X.shape[0], bool)
        keep[cal[val]] = False
        df = np.bincount(X[keep].indices, minlength=X.shape[1])
        readers = fit_readers(names, as_unseen(X[keep], df, bounds), y[keep],
                              None if vectors is None else vectors[keep], n_classes, bounds[0][1], **fit_kw)
        held = None if vectors is None else vectors[cal[val]]
        for j, s in enumerate(readers.scores(as_unseen(X[cal[val]], df, bounds), held)):
            out[j][val] = s
    return out


__all__ = ["LABELS", "READERS", "Readers", "fit_readers", "out_of_fold_readers", "stack_sources"]
