"""A/B/C consistency: does a reply's category match what the reply says?

Two sources of evidence, combined:

* wording cues per category (``CategoryScheme``: 已解决/已采纳 → A, 正在/列入计划 → B, 暂不具备条件/留作参考 → C by
  default; each locality can set its own codes, meanings and cues);
* a small model trained on closed cases' replies and categories (character 1–3-grams, logistic regression).

The check flags a category when the model (cues added as features) gives the recorded category a probability below
``flag_below`` and another category more; the deciding phrases are the cues found in the reply and the n-grams that
weighed most for the predicted category. It advises only: staff may keep the category.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FLAG_BELOW = 0.2  # chosen on the dev year of the labelled set (docs/reply-aids.md)


@dataclass(frozen=True)
class Category:
    code: str
    meaning: str
    cues: tuple[str, ...] = ()


DEFAULT_CATEGORIES = (
    Category("A", "已解决或已采纳", ("已解决", "已采纳", "已经解决", "已落实", "已完成", "得到解决", "已全部", "已建成",
                               "已出台", "问题已经解决", "采纳")),
    Category("B", "正在解决或列入计划", ("正在", "列入计划", "纳入计划", "列入年度", "计划于", "正抓紧", "预计", "逐步",
                                  "年底前", "将于", "下一步将", "稳步推进")),
    Category("C", "因条件限制暂不能解决，留作参考", ("暂不具备条件", "留作参考", "暂无", "难以", "暂不能", "尚不具备",
                                          "受限于", "受财政", "条件成熟时", "暂时无法", "无法实施", "政策依据")),
)


@dataclass(frozen=True)
class CategoryScheme:
    """A locality's reply categories: codes in order, what each means, the wording that signals it."""

    categories: tuple[Category, ...] = DEFAULT_CATEGORIES

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.categories]

    def meaning(self, code: str) -> str:
        return next((c.meaning for c in self.categories if c.code == code), "")

    @classmethod
    def from_file(cls, path: str | Path, codes: Sequence[str] | None = None) -> CategoryScheme:
        """``{"A": {"meaning": "…", "cues": ["…"]}, …}``; ``codes`` (the configured categories) must all appear."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        cats = tuple(Category(str(k), str(v.get("meaning", "")), tuple(v.get("cues", []))) for k, v in data.items())
        missing = [c for c in codes or [] if c not in {x.code for x in cats}]
        if missing:
            raise ValueError(f"答复类别说明文件 {path} 缺少类别 {'、'.join(missing)}，请补上其含义和措辞")
        return cls(cats)

    @classmethod
    def for_codes(cls, codes: Sequence[str]) -> CategoryScheme:
        """The default scheme restricted to ``codes`` (an unknown code gets no cues and no meaning)."""
        known = {c.code: c for c in DEFAULT_CATEGORIES}
        return cls(tuple(known.get(c, Category(c, "")) for c in codes))


def cue_hits(text: str, scheme: CategoryScheme) -> dict[str, list[str]]:
    """Per category, the cue phrases the text contains (negated 不/未 forms of A cues do not count)."""
    out: dict[str, list[str]] = {}
    for cat in scheme.categories:
        found = [c for c in cat.cues if re.search(rf"(?<![不未没]){re.escape(c)}", text)]
        if found:
            out[cat.code] = found
    return out


def _cue_features(texts: Sequence[str], scheme: CategoryScheme) -> np.ndarray:
    rows = []
    for t in texts:
        hits = cue_hits(t, scheme)
        rows.append([min(len(hits.get(c, [])), 3) / 3 for c in scheme.codes])
    return np.array(rows, dtype=float)


@dataclass
class CategoryVerdict:
    given: str
    predicted: str
    probabilities: dict[str, float]
    flagged: bool
    phrases: list[str]
    cues: dict[str, list[str]] = field(default_factory=dict)


def cue_verdict(reply: str, given: str, scheme: CategoryScheme) -> CategoryVerdict:
    """The check from the wording cues alone (no closed cases to learn from yet): flagged when the reply carries
    cues of other categories and none of the recorded one."""
    cues = cue_hits(reply, scheme)
    if not cues:
        return CategoryVerdict(given, given, {}, False, [], cues)
    predicted = max(cues, key=lambda c: len(cues[c]))
    flagged = given not in cues
    return CategoryVerdict(given, predicted, {}, flagged, cues[predicted][:3], cues)


class CategoryChecker:
    """Fit on (reply, category) pairs; ``check`` a reply against the category recorded for it."""

    def __init__(self, scheme: CategoryScheme | None = None, *, flag_below: float = FLAG_BELOW, C: float = 4.0,
                 random_state: int = 0):
        self.scheme = scheme or CategoryScheme()
        self.flag_below = flag_below
        self.C = C
        self.random_state = random_state

    def fit(self, replies: Sequence[str], categories: Sequence[str]) -> CategoryChecker:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        keep = [(r, c) for r, c in zip(replies, categories) if r and c in self.scheme.codes]
        if len({c for _, c in keep}) < 2:
            raise ValueError("办结案件中带答复类别的答复太少（至少需要两个类别），无法训练类别核对模型")
        texts, ys = [r for r, _ in keep], [c for _, c in keep]
        self.vectorizer_ = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True,
                                           max_features=50000)
        X = hstack([self.vectorizer_.fit_transform(texts), _cue_features(texts, self.scheme) * 3]).tocsr()
        self.model_ = LogisticRegression(C=self.C, max_iter=2000, random_state=self.random_state).fit(X, ys)
        self.n_train_ = len(texts)
        return self

    def _X(self, texts: Sequence[str]):
        from scipy.sparse import hstack

        return hstack([self.vectorizer_.transform(texts), _cue_features(texts, self.scheme) * 3]).tocsr()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.model_.predict_proba(self._X(texts))

    def check(self, reply: str, given: str) -> CategoryVerdict:
        X = self._X([reply])
        proba = self.model_.predict_proba(X)[0]
        classes = [str(c) for c in self.model_.classes_]
        probs = {c: round(float(p), 4) for c, p in zip(classes, proba)}
        predicted = classes[int(np.argmax(proba))]
        flagged = predicted != given and probs.get(given, 0.0) < self.flag_below
        cues = cue_hits(reply, self.scheme)
        phrases = list(cues.get(predicted, []))
        if len(phrases) < 3:
            phrases += [t for t in self._top_terms(X, classes.index(predicted)) if t not in phrases][:3 - len(phrases)]
        return CategoryVerdict(given, predicted, probs, flagged, phrases, cues)

    def _top_terms(self, X, k: int, top: int = 5) -> list[str]:
        coef = self.model_.coef_
        row = coef[k] if coef.shape[0] > 1 else (coef[0] if k == 1 else -coef[0])
        n_terms = len(self.vectorizer_.vocabulary_)
        x = X[:, :n_terms].toarray()[0]
        weights = x * row[:n_terms]
        terms = self.vectorizer_.get_feature_names_out()
        best = [i for i in np.argsort(-weights) if weights[i] > 0 and len(terms[i]) >= 2][:top]
        return [str(terms[i]) for i in best]
