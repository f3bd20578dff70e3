"""Co-handler (协办) suggestions conditioned on the lead unit.

Which units help depends on who leads: an item on rural roads led by 交通运输局 draws 农业农村局 and 财政局, the same
words led by a district government draw other partners. The model therefore scores each (item, lead, candidate)
with three numbers and one logistic regression over them:

- the text's one-vs-rest margin for the candidate (word features, as before);
- the log of the smoothed share of the lead's closed cases that the candidate co-handled (the lead's usual partners);
- the log of the candidate's share of all closed cases (its base rate).

The margins and the partner shares that train the logistic regression are out of fold: each fold's text model and
counts see only the fold's training part, and its vocabulary is the fold's own (``features.as_unseen``), so the
regression and the threshold chosen on it see margins as unseen items will have them. ``use_lead=False`` keeps the
text margin alone (the served default: the lead's partners do not gain on the sample cases).

Other pair features (the lead classifier's probability and rank of the candidate, the text naming the candidate,
the co-handlers of similar past cases) and per-rank thresholds were measured too and do not gain either; on the
sample cases even a model that knew each item's generator plan stays below F1 0.55 (``benchmarks/
cohandler_ideas.py``, the bench_cohandlers section of ``docs/benchmarks.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from models.features import as_unseen


def best_f1_threshold(scores: np.ndarray, Y: np.ndarray) -> tuple[float, dict]:
    """The score cut that maximises micro-F1 of (item, unit) pairs (at most a few units per item are suggested)."""
    best = (0.5, {"f1": 0.0, "precision": 0.0, "recall": 0.0})
    for t in np.arange(0.025, 0.96, 0.025):
        pred = scores >= t
        tp = float((pred & (Y == 1)).sum())
        prec = tp / max(pred.sum(), 1)
        rec = tp / max(Y.sum(), 1)
        f1 = 2 * prec * rec / max(prec + rec, 1e-9)
        if f1 > best[1]["f1"]:
            best = (float(t), {"f1": f1, "precision": prec, "recall": rec})
    return best


class PartnerCounts:
    """How often each unit co-handled the cases each lead led: smoothed towards the unit's overall share."""

    def __init__(self, leads: Sequence[str], Y: np.ndarray, smoothing: float):
        self.leads = {lead: i for i, lead in enumerate(sorted(set(leads)))}
        rows = np.array([self.leads[lead] for lead in leads], dtype=int)
        self.pair = np.zeros((len(self.leads), Y.shape[1]))
        np.add.at(self.pair, rows, Y)
        self.n_lead = np.bincount(rows, minlength=len(self.leads)).astype(float)
        self.base = (Y.sum(axis=0) + 0.5) / (len(leads) + 1.0)
        self.smoothing = smoothing

    def log_shares(self, leads: Sequence[str]) -> np.ndarray:
        out = np.tile(self.base, (len(leads), 1))
        for i, lead in enumerate(leads):
            r = self.leads.get(lead)
            if r is not None:
                out[i] = (self.pair[r] + self.smoothing * self.base) / (self.n_lead[r] + self.smoothing)
        return np.log(out)


class CoHandlerModel:
    """Fitted by ``fit``; ``proba(X, leads)`` gives each candidate unit's probability of co-handling each item."""

    def __init__(self, C: float = 0.5, max_iter: int = 5000, random_state: int = 0, min_count: int = 3,
                 use_lead: bool = True, smoothing: float = 3.0):
        self.C, self.max_iter, self.random_state = C, max_iter, random_state
        self.min_count, self.use_lead, self.smoothing = min_count, use_lead, smoothing
        self.text_: OneVsRestClassifier | None = None
        self.threshold_ = 1.0
        self.validation_: dict = {}

    def _text_model(self):
        return OneVsRestClassifier(LinearSVC(C=self.C, class_weight="balanced", max_iter=self.max_iter,
                                             random_state=self.random_state))

    def _stack(self, margins: np.ndarray, log_share: np.ndarray, log_base: np.ndarray) -> np.ndarray:
        cols = [margins.ravel()]
        if self.use_lead:
            cols += [log_share.ravel(), np.broadcast_to(log_base, margins.shape).ravel()]
        return np.column_stack(cols)

    def fit(self, X, leads: Sequence[str], co_handlers: Sequence[Sequence[str]], folds, bounds, cal: np.ndarray):
        """``X``: word features of every item; ``folds``: (train, validation) index pairs over ``cal``, the items
        whose out-of-fold scores train the combination and the threshold; ``bounds``: the feature blocks of ``X``
        (for ``as_unseen``). Returns self; ``text_`` stays None when too few units co-handle anything."""
        counts: dict[str, int] = {}
        for labels in co_handlers:
            for lab in set(labels):
                counts[lab] = counts.get(lab, 0) + 1
        keep = sorted(lab for lab, c in counts.items() if c >= self.min_count)
        if len(keep) < 2:
            return self
        self.binarizer_ = MultiLabelBinarizer(classes=keep)
        Y = self.binarizer_.fit_transform([[lab for lab in labels if lab in keep] for labels in co_handlers])
        leads = list(leads)
        X_cal, Y_cal, leads_cal = X[cal], Y[cal], [leads[i] for i in cal]
        margins = np.full(Y_cal.shape, np.nan)
        shares = np.zeros(Y_cal.shape)
        bases = np.zeros(Y_cal.shape)
        for train_idx, val_idx in folds:
            cols = np.nonzero(Y_cal[train_idx].sum(axis=0) > 0)[0]
            if len(cols) < 2:
                continue
            df = np.bincount(X_cal[train_idx].indices, minlength=X.shape[1])
            model = self._text_model().fit(as_unseen(X_cal[train_idx], df, bounds), Y_cal[train_idx][:, cols])
            margins[np.ix_(val_idx, cols)] = model.decision_function(as_unseen(X_cal[val_idx], df, bounds))
            partners = PartnerCounts([leads_cal[i] for i in train_idx], Y_cal[train_idx], self.smoothing)
            shares[val_idx] = partners.log_shares([leads_cal[i] for i in val_idx])
            bases[val_idx] = np.log(partners.base)
        seen = ~np.isnan(margins)
        if len(np.unique(Y_cal[seen])) < 2:  # too few co-handled items to learn anything
            return self
        Z = self._stack(np.nan_to_num(margins, nan=-10.0), shares, bases)
        combo = LogisticRegression(C=100.0, max_iter=1000).fit(Z[seen.ravel()], Y_cal[seen])
        self.coef_, self.intercept_ = combo.coef_[0].astype(float), float(combo.intercept_[0])
        oof = np.where(seen, expit(Z @ self.coef_ + self.intercept_).reshape(Y_cal.shape), 0.0)
        self.threshold_, self.validation_ = best_f1_threshold(oof, Y_cal)
        self.partners_ = PartnerCounts(leads, Y, self.smoothing)
        self.text_ = self._text_model().fit(X, Y)
        return self

    @property
    def classes_(self) -> np.ndarray:
        return self.binarizer_.classes_

    def margins(self, X) -> np.ndarray:
        """The text models' margins, stacked into one matrix product (the same margins as the per-unit loop)."""
        assert self.text_ is not None, "co-handler model not fitted"
        if not hasattr(self, "_stacked"):
            self._stacked: tuple[np.ndarray | None, np.ndarray | None]
            estimators = self.text_.estimators_
            if all(hasattr(e, "coef_") for e in estimators):
                weights = np.ascontiguousarray(np.vstack([e.coef_.ravel() for e in estimators]).T)  # features x units
                self._stacked = (weights, np.array([float(e.intercept_[0]) for e in estimators]))
            else:  # a unit whose label never varied: sklearn's constant predictor
                self._stacked = (None, None)
        coef, intercept = self._stacked
        if coef is None:
            return self.text_.decision_function(X)
        return np.asarray(X @ coef) + intercept  # sparse rows x dense weights: dense margins

    def proba(self, X, leads: Sequence[str]) -> np.ndarray:
        """Each candidate's probability for each item given its lead (the lead itself gets 0)."""
        m = self.margins(X)
        Z = self._stack(m, self.partners_.log_shares(list(leads)), np.log(self.partners_.base))
        p = expit(Z @ self.coef_ + self.intercept_).reshape(m.shape)
        index = {lab: j for j, lab in enumerate(self.classes_)}
        for i, lead in enumerate(leads):
            if lead in index:
                p[i, index[lead]] = 0.0
        return p


__all__ = ["CoHandlerModel", "PartnerCounts", "best_f1_threshold"]
