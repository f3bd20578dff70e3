"""Keyword extraction: the terms that characterise a text, for reasons, matched terms and summaries."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

from nlp.segment import tokenize


def extract_keywords(text: str, top_k: int = 8, idf: Mapping[str, float] | None = None) -> list[str]:
    """Return up to ``top_k`` keywords of ``text`` ranked by term frequency times inverse document frequency.

    Args:
        text: any proposal text (title, body or both).
        top_k: how many keywords at most.
        idf: term -> idf learnt from a corpus (a trained model provides one); without it, longer and rarer-looking
            terms are preferred through jieba's own idf table.
    """
    counts = Counter(tokenize(text))
    if not counts:
        return []
    if idf is None:
        idf = _jieba_idf()
    default = max(idf.values()) if idf else 1.0

    def score(term: str) -> float:
        return (1 + math.log(counts[term])) * idf.get(term, default)

    return sorted(counts, key=lambda t: (-score(t), t))[:top_k]


_IDF: dict[str, float] | None = None


def _jieba_idf() -> dict[str, float]:
    global _IDF
    if _IDF is None:
        from jieba.analyse import default_tfidf

        _IDF = dict(default_tfidf.idf_freq)
    return _IDF
