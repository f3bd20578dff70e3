"""Co-handler ideas measured for bench_cohandlers: pair features, per-rank thresholds, and the generator's ceiling.

Pair features score every (item, lead, candidate) with one logistic regression over

- ``text``: the candidate's one-vs-rest SVM margin on the words (the served model's score);
- ``partners``: the log share of the lead's closed cases the candidate co-handled, and its base rate;
- ``lead_rank``: the lead classifier's log probability that the candidate itself leads the item, and whether it is
  the first, second or third unit after the lead by that probability (a topic that spans two units);
- ``names``: whether the text names the candidate (its short name or an alias, stripped of 市/局/委, before 部门
  or 、, as in "建议住建、城管等部门");
- ``neighbours``: the similarity-weighted share of the 15 nearest training cases (word TF-IDF cosine) that the
  candidate co-handled, among all of them and among those with the same lead.

Every score is out of fold with the year as the group (the lead probabilities are the routing model's own
out-of-fold scores, the text margins come from fold models with fold vocabularies). Each feature set is judged
twice: nested over the training years (the combination and its threshold fitted on the other training years, the
held year's items scored for their out-of-fold predicted lead) and on the test year (fitted on all training years,
the full models' scores, the predicted lead). The ceiling reruns the generator (``data/samples/gen``, same seed)
to recover each item's plan (topic, sibling topic, local or not) and scores each unit by its exact chance of being
drawn as a co-handler under that plan: what a model that knew the plan could reach, with its threshold chosen on
the training years. It reads the generator's internals and is an analysis of the sample data, never a predictor.
"""

from __future__ import annotations

import random
import re
import sys
from collections import Counter
from datetime import date

import numpy as np
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import MultiLabelBinarizer, normalize

from models.cohandlers import CoHandlerModel, PartnerCounts, best_f1_threshold
from models.features import as_unseen, blocks

FEATURE_SETS = {
    "text": ["m"],
    "text + partners (co_use_lead)": ["m", "s", "b"],
    "text + lead rank": ["m", "lp", "r0", "r1", "r2"],
    "text + partners + lead rank": ["m", "s", "b", "lp", "r0", "r1", "r2"],
    "text + names": ["m", "men"],
    "text + partners + lead rank + names": ["m", "s", "b", "lp", "r0", "r1", "r2", "men"],
    "all + neighbours": ["m", "s", "b", "lp", "r0", "r1", "r2", "men", "kn", "kl"],
}


def _stem(name: str) -> str:
    name = name[1:] if name.startswith("市") else name
    return re.sub("(局|委员会|委|中心|支队|集团|公司|办公室|办)$", "", name)


def _neighbours(Xq, Xb, Yb, leads_q, leads_b, mask=None, k: int = 15):
    sim = (normalize(Xq) @ normalize(Xb).T).toarray()
    if mask is not None:
        sim[mask] = -1.0
    top = np.argsort(-sim, axis=1)[:, :k]
    lb = np.asarray(leads_b)
    every, same = np.zeros((Xq.shape[0], Yb.shape[1])), np.zeros((Xq.shape[0], Yb.shape[1]))
    for i in range(Xq.shape[0]):
        w = np.maximum(sim[i, top[i]], 0) + 1e-9
        every[i] = w @ Yb[top[i]] / w.sum()
        ws = w * (lb[top[i]] == leads_q[i])
        same[i] = ws @ Yb[top[i]] / ws.sum() if ws.sum() > 1e-6 else every[i]
    return every, same


class PairData:
    """Out-of-fold pair scores of the training cases and the full models' scores of the test cases."""

    def __init__(self, model, registry, train, test, min_count: int = 3, smoothing: float = 3.0):
        counts = Counter(lab for c in train for lab in set(c.co_ids))
        self.keep = sorted(lab for lab, n in counts.items() if n >= min_count)
        mlb = MultiLabelBinarizer(classes=self.keep)
        self.Y = mlb.fit_transform([[lab for lab in c.co_ids if lab in self.keep] for c in train])
        self.truth_tr = [set(c.co_ids) for c in train]
        self.truth_te = [set(c.co_ids) for c in test]
        self.years = np.array([c.year for c in train])
        self.leads_tr = [c.lead_id or c.lead for c in train]
        self.kinds = {d.id: d.kind for d in registry.active()}
        cls = list(model.classes_)
        self.lead_col = np.array([cls.index(k) if k in cls else -1 for k in self.keep])
        stems = {k: {_stem(n) for n in registry.get(k).names()} for k in self.keep}
        self.stems = {k: sorted(s for s in v if len(s) >= 2) for k, v in stems.items()}
        X_all = model.transform([(c.title, c.body) for c in train])
        X_te_all = model.transform([(c.title, c.body) for c in test])
        # the routing model's own out-of-fold lead scores (its year folds, fold vocabularies)
        y = np.searchsorted(model.classes_, self.leads_tr)
        model.groups_ = [str(yr) for yr in self.years]
        oof, _ = model._out_of_fold_scores(X_all, y, np.arange(len(train)))
        del model.groups_
        self.P_tr = softmax(np.where(np.isfinite(oof), oof, -1e4) / model.temperature_, axis=1)
        self.P_te = model.predict_proba(X=X_te_all)
        self.pred_tr = [cls[j] for j in self.P_tr.argmax(axis=1)]
        self.pred_te = [cls[j] for j in self.P_te.argmax(axis=1)]
        ncol = model.co_columns_
        X, X_te = X_all[:, :ncol], X_te_all[:, :ncol]
        bounds = [b for b in blocks(model.features_) if b[1] <= ncol]
        text = CoHandlerModel(C=model.params.co_C, max_iter=model.params.max_iter,
                              random_state=model.params.random_state)._text_model
        shape = self.Y.shape
        self.M, self.S_true, self.S_pred, self.B = (np.full(shape, -10.0), np.zeros(shape), np.zeros(shape),
                                                    np.zeros(shape))
        for year in sorted(set(self.years)):
            tr, va = np.nonzero(self.years != year)[0], np.nonzero(self.years == year)[0]
            cols = np.nonzero(self.Y[tr].sum(axis=0) > 0)[0]
            df = np.bincount(X[tr].indices, minlength=X.shape[1])
            fold = text().fit(as_unseen(X[tr], df, bounds), self.Y[tr][:, cols])
            self.M[np.ix_(va, cols)] = fold.decision_function(as_unseen(X[va], df, bounds))
            partners = PartnerCounts([self.leads_tr[i] for i in tr], self.Y[tr], smoothing)
            self.S_true[va] = partners.log_shares([self.leads_tr[i] for i in va])
            self.S_pred[va] = partners.log_shares([self.pred_tr[i] for i in va])
            self.B[va] = np.log(partners.base)
        self.M_te = text().fit(X, self.Y).decision_function(X_te)
        partners = PartnerCounts(self.leads_tr, self.Y, smoothing)
        self.S_te = partners.log_shares(self.pred_te)
        self.B_te = np.tile(np.log(partners.base), (len(test), 1))
        other_years = self.years[:, None] == self.years[None, :]
        self.kn_tr = _neighbours(X, X, self.Y, self.leads_tr, self.leads_tr, other_years)
        self.kn_tr_pred = _neighbours(X, X, self.Y, self.pred_tr, self.leads_tr, other_years)
        self.kn_te = _neighbours(X_te, X, self.Y, self.pred_te, self.leads_tr)
        self.texts_tr = [c.title + c.body for c in train]
        self.texts_te = [c.title + c.body for c in test]

    def features(self, part: str, which: list[str]) -> tuple[np.ndarray, list[str]]:
        """Pair features of ``part``: "fit" (training cases, true leads), "nested" (training cases, out-of-fold
        predicted leads) or "test" (test cases, predicted leads); also the leads used."""
        if part == "test":
            M, S, B, P, leads, texts, kn = (self.M_te, self.S_te, self.B_te, self.P_te, self.pred_te, self.texts_te,
                                            self.kn_te)
        elif part == "nested":
            M, S, B, P, leads, texts, kn = (self.M, self.S_pred, self.B, self.P_tr, self.pred_tr, self.texts_tr,
                                            self.kn_tr_pred)
        else:
            M, S, B, P, leads, texts, kn = (self.M, self.S_true, self.B, self.P_tr, self.leads_tr, self.texts_tr,
                                            self.kn_tr)
        n, k = M.shape
        lp = np.where(self.lead_col >= 0, P[:, np.maximum(self.lead_col, 0)], 1e-6)
        for i, lead in enumerate(leads):
            if lead in self.keep:
                lp[i, self.keep.index(lead)] = 0.0
        order = np.argsort(-lp, axis=1)
        rank = np.empty_like(order)
        rank[np.arange(n)[:, None], order] = np.arange(k)[None, :]
        named = np.array([[any(s + "部门" in t or s + "、" in t for s in self.stems[c]) for c in self.keep]
                          for t in texts], float)
        cols = {"m": M, "s": S, "b": B, "lp": np.log(lp + 1e-4), "r0": rank == 0, "r1": rank == 1, "r2": rank == 2,
                "men": named, "kn": np.log(kn[0] + 0.02), "kl": np.log(kn[1] + 0.02)}
        return np.column_stack([np.asarray(cols[w], float).ravel() for w in which]), leads


def _suggest(p: np.ndarray, keep: list[str], leads: list[str], cuts: tuple[float, float]) -> list[set[str]]:
    """At most 3 candidates per item: the first above ``cuts[0]``, the others above ``cuts[1]`` (and the first)."""
    out = []
    for i in range(p.shape[0]):
        order = np.argsort(-p[i])[:3]
        chosen = set()
        if p[i, order[0]] >= cuts[0]:
            chosen = {keep[j] for r, j in enumerate(order) if p[i, j] >= (cuts[0] if r == 0 else cuts[1])}
        out.append(chosen - {leads[i]})
    return out


def _cuts(p: np.ndarray, Y: np.ndarray, per_rank: bool) -> tuple[float, float]:
    t, _ = best_f1_threshold(p, Y)
    if not per_rank:
        return t, t
    grid = np.arange(0.025, 0.96, 0.025)
    top = np.argsort(-p, axis=1)[:, :3]
    score, hit = np.take_along_axis(p, top, 1), np.take_along_axis(Y, top, 1) == 1
    best = (-1.0, t, t)
    for t1 in grid:
        for t2 in grid:
            pred = np.column_stack([score[:, :1] >= t1, score[:, 1:] >= t2]) & (score[:, :1] >= t1)
            f1 = 2 * (pred & hit).sum() / (pred.sum() + Y.sum())
            if f1 > best[0]:
                best = (f1, float(t1), float(t2))
    return best[1], best[2]


def _fit(Z: np.ndarray, Y: np.ndarray, leads: list[str], keep: list[str], per_rank: bool):
    lr = LogisticRegression(C=100.0, max_iter=2000).fit(Z, Y.ravel())
    p = lr.predict_proba(Z)[:, 1].reshape(Y.shape)
    for i, lead in enumerate(leads):
        if lead in keep:
            p[i, keep.index(lead)] = 0.0
    return lr, _cuts(p, Y, per_rank)


def _counts(pred: list[set[str]], truth: list[set[str]]) -> np.ndarray:
    return np.array([(len(p & t), len(p), len(t)) for p, t in zip(pred, truth)], float)


def pair_counts(data: PairData, which: list[str], per_rank: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(nested counts over the training years, counts on the test year) of one feature set: per item, (true
    positives, suggested, true co-handlers)."""
    Z_fit, _ = data.features("fit", which)
    Z_nested, leads_nested = data.features("nested", which)
    k = len(data.keep)
    nested = np.zeros((len(data.years), 3))
    for year in sorted(set(data.years)):
        tr, va = data.years != year, data.years == year
        rows_tr, rows_va = np.repeat(tr, k), np.repeat(va, k)
        lr, cuts = _fit(Z_fit[rows_tr], data.Y[tr], [lead for lead, t in zip(data.leads_tr, tr) if t], data.keep,
                        per_rank)
        p = lr.predict_proba(Z_nested[rows_va])[:, 1].reshape(int(va.sum()), k)
        idx = np.nonzero(va)[0]
        pred = _suggest(p, data.keep, [leads_nested[i] for i in idx], cuts)
        nested[idx] = _counts(pred, [data.truth_tr[i] for i in idx])
    lr, cuts = _fit(Z_fit, data.Y, data.leads_tr, data.keep, per_rank)
    Z_te, leads_te = data.features("test", which)
    p = lr.predict_proba(Z_te)[:, 1].reshape(len(data.truth_te), k)
    return nested, _counts(_suggest(p, data.keep, leads_te, cuts), data.truth_te)


def _co_draw(plan: dict, assigned: date, rng: random.Random, weighted, as_of) -> list[str]:
    """One draw of ``gen.engine.Generator.co_handlers`` for ``plan`` (kept in step with it)."""
    topic = plan["topic"]
    pool = list(topic.co)
    if plan["sib"]:
        other = plan["sib"].lead if plan["sib"].lead != "@D" else None
        for extra in (other, topic.lead):
            if extra and extra != "@D" and extra not in pool:
                pool.insert(0, extra)
    if plan["local"] and topic.lead != "@D":
        pool.insert(0, topic.lead)
    k = weighted(rng, [(0, 0.48), (1, 0.27), (2, 0.17), (3, 0.08)])
    if plan["local"] or plan.get("mix") == "genuine":
        k = max(k, rng.choice([0, 1, 1, 2]))
    out: list[str] = []
    lead_now = as_of(plan["lead"], assigned)
    for c in pool:
        if len(out) >= k:
            break
        if rng.random() < 0.7:
            cid = as_of(c, assigned)
            if cid != lead_now and cid not in out:
                out.append(cid)
    return out


def ceiling_counts(samples_dir, test_year: int, case_nos: list[str], draws: int = 400) -> np.ndarray:
    """Per test item (``case_nos``, in that order), (true positives, suggested, true) when each unit is scored by
    its exact chance under the item's generator plan, with the cut that maximises F1 on the training years."""
    sys.path.insert(0, str(samples_dir))
    from gen.engine import Generator
    from gen.parts import weighted
    from gen.people import as_of

    closed, _ = Generator().run()
    rng = random.Random(1)
    rows = []
    for r in closed:
        hits: Counter = Counter()
        assigned = date.fromisoformat(r["交办日期"])
        for _ in range(draws):
            hits.update(_co_draw(r["_plan"], assigned, rng, weighted, as_of))
        rows.append((int(r["年度"]), {c: n / draws for c, n in hits.items()}, set(r["_plan"]["co_ids"]), r["编号"]))

    def suggest(post: dict, t: float) -> set[str]:
        return {c for c, q in sorted(post.items(), key=lambda x: -x[1])[:3] if q >= t}

    def f1(part, t):
        c = _counts([suggest(post, t) for _, post, _, _ in part], [truth for _, _, truth, _ in part])
        return 2 * c[:, 0].sum() / (c[:, 1].sum() + c[:, 2].sum())

    train = [r for r in rows if r[0] < test_year]
    by_no = {r[3]: r for r in rows if r[0] == test_year}
    test = [by_no[no] for no in case_nos]
    t = max(np.arange(0.025, 0.96, 0.025), key=lambda t: f1(train, t))
    return _counts([suggest(post, t) for _, post, _, _ in test], [truth for _, _, truth, _ in test])


__all__ = ["FEATURE_SETS", "PairData", "ceiling_counts", "pair_counts"]
