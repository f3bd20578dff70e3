"""A vote of the closest closed cases, blended with the n-gram model's probabilities (issue #12).

Each item's e5 vector (the one the service already computes for its precedents, repeats and 并案) finds its ``k``
nearest training items; their leads vote with their cosine similarity. The blend ``(1 - w) p + w votes`` is what the
service ranks and thresholds when the vectors are available. ``k`` and ``w`` are chosen on out-of-fold predictions
(the same grouped folds that calibrate the text model; a fold's votes come from its training part only): the blend
that auto-assigns the most items under its own certified threshold without a lower macro-F1 than the text model, or
none when no blend gains on one without losing on the other (``choose_blend``: a log-loss choice, rejected); by
default (``blend_choice="stack"``) a meta-model over the three readers replaces the weights when it beats them on
those predictions (models.knn_stack). The blend's threshold is certified on those out-of-fold blends
(models.certify). The text model keeps its own certificate: a service that cannot encode an item (no encoder,
another encoder than the training vectors') routes on the text alone against the text threshold, never the blend's
threshold on unblended scores.

Measured on grouped outer folds of TipDM (benchmarks/bench_e5_stack.py, docs/benchmarks.md): macro-F1 +1.3 points
on titles and +0.8 on bodies over the text model alone (p ≤ 0.003), and more items auto-assigned at the same
certified precision (bodies 78.7 % → 83.8 %, titles 68.1 % → 71.9 %).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.certify import Certificate
from models.features import blocks
from models.knn_stack import LinearStack, fit_linear, fit_stack, log_loss
from models.stack_readers import fit_readers, out_of_fold_readers

KS = (5, 10, 20, 40)
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(1, 9))
MAX_WEIGHT = 0.9  # vote and head together: the text model keeps at least a tenth
HEAD_C = 10.0  # the head's LogisticRegression: C 10 beat 100 on TipDM titles' inner folds (bench_e5_stack)
HEAD_MAX_ITER = 300
Item = tuple[str, str]


def knn_votes(query: np.ndarray, ref: np.ndarray, y_ref: np.ndarray, n_classes: int,
              ks: Sequence[int] = KS) -> dict[int, np.ndarray]:
    """Per k: each query's cosine-weighted vote share per class among its k nearest reference items (a negative
    cosine votes nothing; a query with no positive neighbour gets no votes)."""
    query = _unit(np.asarray(query, dtype=np.float32))
    ref = _unit(np.asarray(ref, dtype=np.float32))
    out = {k: np.zeros((len(query), n_classes)) for k in ks}
    if not len(query) or not len(ref):
        return out
    kmax = min(max(ks), ref.shape[0])
    for start in range(0, len(query), 1024):  # bounded memory: 1,024 × n similarities at a time
        sims = query[start : start + 1024] @ ref.T
        idx = np.argpartition(-sims, kmax - 1, axis=1)[:, :kmax]
        top = np.take_along_axis(sims, idx, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        idx, top = np.take_along_axis(idx, order, axis=1), np.take_along_axis(top, order, axis=1)
        rows = np.repeat(np.arange(len(idx)), kmax).reshape(len(idx), kmax)
        for k in ks:
            kk = min(k, kmax)
            votes = np.zeros((len(idx), n_classes))
            np.add.at(votes, (rows[:, :kk], y_ref[idx[:, :kk]]), np.maximum(top[:, :kk], 0))
            out[k][start : start + len(idx)] = votes / np.maximum(votes.sum(axis=1, keepdims=True), 1e-12)
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12) if v.ndim == 2 and len(v) else v


def macro_f1(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, proba.argmax(axis=1), average="macro"))


def mix(proba: np.ndarray, w: float, votes: np.ndarray | None, h: float = 0.0,
        head: np.ndarray | None = None) -> np.ndarray:
    """The blend ``(1 - w - h) proba + w votes + h head`` (a part with weight 0 may be None)."""
    out = (1 - w - h) * proba
    if w and votes is not None:
        out = out + w * votes
    return out + h * head if h and head is not None else out


def _judged(y: np.ndarray, proba: np.ndarray, certify) -> tuple[float, float]:
    """(certified coverage, 0 when nothing certifies; macro-F1) of out-of-fold probabilities."""
    cert = certify(proba.max(axis=1), proba.argmax(axis=1) == y)
    return (cert.coverage if cert.certified else 0.0), macro_f1(y, proba)


def _grid(votes: dict, head) -> Iterable[tuple[int, float, float]]:
    """Every (k, vote weight, head weight) tried; the text model keeps a share, and without votes k does not matter."""
    for h in (0.0,) + (WEIGHTS if head is not None else ()):
        for k in votes:
            for w in (0.0,) + WEIGHTS:
                if w + h <= MAX_WEIGHT + 1e-9 and (w > 0 or (h > 0 and k == min(votes))):
                    yield k, w, h


def choose_blend(y: np.ndarray, proba: np.ndarray, votes: dict[int, np.ndarray], certify,
                 head: np.ndarray | None = None, by: str = "coverage") -> tuple[int, float, float, float, float]:
    """The (k, vote weight, head weight) of the out-of-fold blend ``(1 - w - h) proba + w votes[k] + h head``.

    ``by="coverage"`` (the default): the blend that auto-assigns the most items under its own certified threshold
    (``certify(confidence, correct)``) without a lower macro-F1 than the text model alone; weights 0 when no blend
    beats the text model on one of the two without losing on the other. The choice is made on the items that
    certify it, which makes the certificate somewhat optimistic (bench_knn_blend: 2 of 10 sample proxies below
    94.5 %). ``by="log_loss"``: the lowest log-loss without a lower macro-F1, kept only when it certifies no fewer
    items than the text model; measured and rejected (fewer auto-assigned on TipDM, and still a proxy miss).
    ``blend_choice="bonferroni"`` (fit_blend: every blend certified at alpha / their number) was rejected too: no
    proxy miss, but TipDM bodies 85.1 % → 81.5 % auto-assigned and every proxy sent to review.
    ``by="macro_f1"``: the same no-loss rule, ranked by out-of-fold macro-F1 first; measured and rejected (no
    paired macro-F1 gain on TipDM, bodies below 85 % auto-assigned; bench_knn_blend ``--choice macro_f1``).
    ``head``: out-of-fold probabilities of the vector head (None: votes only).
    Returns (k, vote weight, head weight, macro-F1, coverage)."""
    def judged(p: np.ndarray) -> tuple[float, float]:
        return _judged(y, p, certify)

    base_cov, base_f1 = judged(proba)
    kept = (min(votes), 0.0, 0.0, base_f1, base_cov)
    if by == "log_loss":
        best_loss, chosen = log_loss(y, proba), None
        for k, w, h in _grid(votes, head):
            p = mix(proba, w, votes[k], h, head)
            loss = log_loss(y, p)
            if loss < best_loss - 1e-9 and macro_f1(y, p) >= base_f1 - 1e-9:
                best_loss, chosen = loss, (k, w, h)
        if chosen is None:
            return kept
        cov, f1 = judged(mix(proba, chosen[1], votes[chosen[0]], chosen[2], head))
        return (*chosen, f1, cov) if cov >= base_cov - 1e-9 else kept
    if by not in ("coverage", "macro_f1"):
        raise ValueError(f"blend_choice: {by!r} (coverage, macro_f1, stack, bonferroni or log_loss)")

    def rank(cov: float, f1: float) -> tuple[float, float]:
        return (cov, f1) if by == "coverage" else (f1, cov)

    best = (base_cov, base_f1, *kept[:3])
    for k, w, h in _grid(votes, head):
        cov, f1 = judged(mix(proba, w, votes[k], h, head))
        no_loss = f1 >= base_f1 - 1e-9 and cov >= base_cov - 1e-9
        gains = f1 > base_f1 + 1e-9 or cov > base_cov + 1e-9
        if no_loss and gains and (best[3] + best[4] == 0 or rank(cov, f1) > rank(*best[:2])):
            best = (cov, f1, k, w, h)
    return best[2], best[3], best[4], best[1], best[0]


def fit_head(vectors: np.ndarray, y: np.ndarray, n_classes: int, C: float = HEAD_C) -> VectorHead:
    """A LogisticRegression on the unit vectors, its coefficients laid out over all ``n_classes``."""
    coef, intercept = fit_linear(_unit(np.asarray(vectors, dtype=np.float32)), y, n_classes, C, HEAD_MAX_ITER)
    return VectorHead(coef.astype(np.float32), intercept)


@dataclass
class VectorHead:
    """A linear classifier over the items' vectors (a second reader of the same vectors as the vote)."""

    coef: np.ndarray  # (n_classes, dim)
    intercept: np.ndarray  # (n_classes,); -inf for a unit it never saw

    def proba(self, vectors: np.ndarray) -> np.ndarray:
        from scipy.special import softmax

        logits = _unit(np.asarray(vectors, dtype=np.float32)) @ self.coef.T + self.intercept
        return softmax(logits, axis=1)


@dataclass
class KnnBlend:
    """The training items' vectors and lead indices, the chosen (k, weight), and the blend's own certificate."""

    vectors: np.ndarray  # (n, dim) float32, unit length
    labels: np.ndarray  # (n,) class indices into the model's ``classes_``
    k: int
    weight: float
    certificate: Certificate
    vector_spec: dict  # which vectors these are (encoder fingerprint, dense text, lead characters): rows must match
    head: VectorHead | None = None  # a LogisticRegression on the same vectors (bundles before it: none)
    head_weight: float = 0.0
    stack: LinearStack | None = None  # blend_choice="stack": a meta-model over the three in place of the weights

    def votes(self, vectors: np.ndarray, n_classes: int) -> np.ndarray:
        return knn_votes(vectors, self.vectors, self.labels, n_classes, ks=(self.k,))[self.k]

    def blend(self, proba: np.ndarray, vectors: np.ndarray, X=None) -> np.ndarray:
        """The served probabilities of rows with text probabilities ``proba``, ``vectors`` and text features ``X``
        (read only by a stack with further readers)."""
        head, stack = self.head, getattr(self, "stack", None)
        if stack is not None:
            every_k = knn_votes(vectors, self.vectors, self.labels, proba.shape[1], ks=stack.ks)
            return stack.proba(proba, every_k, head.proba(vectors) if head is not None and stack.uses_head else None,
                               X, vectors)
        h = self.head_weight if head is not None else 0.0
        votes = self.votes(vectors, proba.shape[1]) if self.weight else None
        return mix(proba, self.weight, votes, h, head.proba(vectors) if head is not None and h else None)

    def neighbours(self, vectors: np.ndarray, top: int = 3) -> list[list[tuple[int, float]]]:
        """The ``top`` closest training items (index, cosine) of each row."""
        sims = _unit(np.asarray(vectors, dtype=np.float32)) @ self.vectors.T
        order = np.argsort(-sims, axis=1)[:, :top]
        return [[(int(j), float(sims[i, j])) for j in row] for i, row in enumerate(order)]

    def matches(self, spec: dict | None) -> bool:
        return bool(spec) and all((spec or {}).get(key) == value for key, value in self.vector_spec.items())


def out_of_fold_votes(vectors: np.ndarray, y: np.ndarray, cal: np.ndarray, folds: Iterable[np.ndarray],
                      n_classes: int) -> dict[int, np.ndarray]:
    """Votes for the calibration items ``cal``: a fold's held-out part votes among every other training item
    (as the fold's text model learns every item but its held-out part)."""
    out = {k: np.zeros((len(cal), n_classes)) for k in KS}
    for val in folds:
        keep = np.ones(len(vectors), bool)
        keep[cal[val]] = False
        for k, v in knn_votes(vectors[cal[val]], vectors[keep], y[keep], n_classes).items():
            out[k][val] = v
    return out


def out_of_fold_head(vectors: np.ndarray, y: np.ndarray, cal: np.ndarray, folds: Iterable[np.ndarray],
                     n_classes: int) -> np.ndarray:
    """The vector head's probabilities for the calibration items ``cal``, each from a head fitted without its fold."""
    out = np.zeros((len(cal), n_classes))
    for val in folds:
        keep = np.ones(len(vectors), bool)
        keep[cal[val]] = False
        out[val] = fit_head(vectors[keep], y[keep], n_classes).proba(vectors[cal[val]])
    return out


def fit_blend(model, vectors: np.ndarray, y: np.ndarray, cal: np.ndarray, proba: np.ndarray, y_cal: np.ndarray,
              spec: dict, head: bool = True, X=None) -> KnnBlend | None:
    """Choose (k, vote weight, head weight) on the calibrated out-of-fold probabilities ``proba`` of the items
    ``cal`` and certify the blend's threshold on the same items; None when no blend beats the text model (the text
    model serves). ``head``: whether a LogisticRegression on the vectors may join the vote. ``X``: the training
    items' text features, for the stack's further readers (``params.stack_readers``). Records what it found in
    ``model.validation_["knn"]``."""
    if vectors.shape[0] != len(y):
        raise ValueError(f"knn_blend: {vectors.shape[0]} vectors for {len(y)} training items")
    n_classes = proba.shape[1]
    votes = out_of_fold_votes(vectors, y, cal, model.oof_folds_, n_classes)
    head_oof = out_of_fold_head(vectors, y, cal, model.oof_folds_, n_classes) if head else None
    choice, certify = getattr(model.params, "blend_choice", "coverage"), model._choose_threshold
    stacking = choice == "stack"
    if choice == "bonferroni":
        choice, certify = "coverage", corrected(model, 1 + sum(1 for _ in _grid(votes, head_oof)))
    k, weight, head_weight, f1, coverage = choose_blend(y_cal, proba, votes, certify, head_oof,
                                                        "coverage" if stacking else choice)
    stack, blended = None, mix(proba, weight, votes[k], head_weight, head_oof)
    if stacking:
        p = model.params
        names = tuple(getattr(p, "stack_readers", ())) if X is not None else ()
        fit_kw = {"C": p.C, "max_iter": p.max_iter, "random_state": p.random_state}
        bounds = blocks(model.features_) if names else []
        extra = out_of_fold_readers(names, X, y, cal, model.oof_folds_, bounds, vectors, n_classes, **fit_kw)
        stack, stacked = _stack_if_better(y_cal, proba, votes, head_oof, model.oof_folds_, certify,
                                          f1 if weight + head_weight else macro_f1(y_cal, proba), extra)
        if stack is not None and names:
            stack.readers = fit_readers(names, X, y, vectors, n_classes, bounds[0][1], **fit_kw)
        blended = stacked if stack is not None else blended
    if weight + head_weight == 0 and stack is None:
        model.validation_["knn"] = {"adopted": False, "oof_macro_f1": f1, "oof_coverage": coverage}
        return None
    cert = certify(blended.max(axis=1), blended.argmax(axis=1) == y_cal)
    model.validation_["knn"] = {"adopted": True, "k": k, "weight": weight, "head_weight": head_weight,
                                "oof_macro_f1": macro_f1(y_cal, blended), "text_oof_macro_f1": macro_f1(y_cal, proba),
                                "oof_top1": float((blended.argmax(axis=1) == y_cal).mean()),
                                "certificate": cert.to_dict(), "vector_spec": dict(spec)}
    if stacking:
        model.validation_["knn"]["stack"] = {"adopted": stack is not None, "blend_oof_macro_f1": f1,
                                             **({"weights": stack.channel_weights()} if stack is not None else {})}
    uses_head = head_weight or (stack is not None and stack.uses_head)
    fitted_head = fit_head(vectors, y, n_classes) if uses_head else None
    return KnnBlend(_unit(vectors).astype(np.float32), y.astype(np.int32), int(k), float(weight), cert, dict(spec),
                    fitted_head, float(head_weight), stack)


def _stack_if_better(y, proba, votes, head, folds, certify, reference_f1: float, extra=()):
    """(meta-model, its cross-fitted probabilities) when its out-of-fold macro-F1 beats ``reference_f1`` (the chosen
    blend's, or the text model's when no blend was chosen) and neither its macro-F1 nor its certified coverage is
    below the text model's; else (None, None). ``extra``: the further readers' out-of-fold scores."""
    stack, oof = fit_stack(y, proba, votes, head, folds, extra=extra)
    (text_cov, text_f1), (cov, f1) = _judged(y, proba, certify), _judged(y, oof, certify)
    if f1 > reference_f1 + 1e-9 and f1 >= text_f1 - 1e-9 and cov >= text_cov - 1e-9:
        return stack, oof
    return None, None


def corrected(model, tried: int):
    """The model's certificate at ``certify_alpha / tried`` (``blend_choice="bonferroni"``): every blend tried is
    certified at once with chance ``certify_alpha`` of any being wrong, so the one of most coverage keeps the
    promise whatever the choice; the point rule has no alpha to share and stays as it is."""
    from models.certify import certify_threshold

    p = model.params
    if p.threshold_rule != "certified":
        return model._choose_threshold
    return lambda conf, hit: certify_threshold(conf, hit, p.target_precision, p.certify_alpha / tried)


def index_vector_spec(index) -> dict:
    """What a precedent index's item vectors are: the blend serves only on vectors of the kind it was fitted on."""
    c = index.config
    return {"encoder": index.embedder.fingerprint, "dense_text": c.dense_text, "lead_chars": c.lead_chars,
            "chunk_chars": c.chunk_chars}


def text_certificate(model) -> Certificate:
    """The text model's certificate (a bundle saved before certificates: its threshold, as it was served)."""
    cert = getattr(model, "certificate_", None)
    if cert is None:
        nan = float("nan")
        return Certificate(bool(getattr(model, "certified_", True)), float(model.threshold_), nan, nan, 0.0,
                           model.params.target_precision, 0.0, 0, 0)
    return cert


class VectorTable:
    """Item text → vector, for training code that splits cases into parts (backtests, comparisons) and needs each
    part's vectors. Built once from the vectors the precedent index computes for the training cases."""

    def __init__(self, items: Sequence[Item], vectors: np.ndarray, spec: dict):
        if len(items) != len(vectors):
            raise ValueError(f"{len(items)} items but {len(vectors)} vectors")
        self._of = {(t, b): np.asarray(v, dtype=np.float32) for (t, b), v in zip(items, vectors)}
        self.spec = dict(spec)
        self.dim = int(vectors.shape[1]) if len(vectors) else 0

    def __call__(self, items: Sequence[Item]) -> np.ndarray:
        missing = [i for i, item in enumerate(items) if item not in self._of]
        if missing:
            raise KeyError(f"no vector for {len(missing)} of {len(items)} items (first: #{missing[0]})")
        return np.array([self._of[item] for item in items], dtype=np.float32).reshape(len(items), self.dim)


def blends_with(model, vectors: VectorTable | None) -> bool:
    """Whether ``model`` has a kNN blend and ``vectors`` are of the kind it was fitted on."""
    knn = getattr(model, "knn_", None)
    return vectors is not None and knn is not None and knn.matches(vectors.spec)


def served_certificate(model, vectors: VectorTable | None = None) -> Certificate:
    """The certificate of the scores the model serves: the blend's with vectors of its kind, else the text model's."""
    return model.knn_.certificate if blends_with(model, vectors) else text_certificate(model)


__all__ = ["KnnBlend", "VectorHead", "VectorTable", "blends_with", "choose_blend", "fit_blend", "fit_head",
           "index_vector_spec", "knn_votes", "log_loss", "out_of_fold_head", "out_of_fold_votes", "served_certificate",
           "text_certificate"]
