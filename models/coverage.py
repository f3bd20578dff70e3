"""Reply coverage: which of a proposal's suggestions the reply answers.

Each point (``nlp.points.proposal_points``) is scored against every reply paragraph (``nlp.points.reply_paragraphs``):
a lexical score (the share of the point's content character bigrams found in the paragraph, generic policy bigrams
left out) and, when an embedder is given, the cosine of their e5 vectors rescaled from the encoder's typical
unrelated-to-identical range. A point is answered when its best paragraph scores at least ``threshold``. The
threshold and the mix were chosen on the dev half of the labelled set (``benchmarks/bench_reply_aids.py``) and are
reported on the test half (docs/reply-aids.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nlp.points import Piece, proposal_points, reply_paragraphs

LEXICAL_THRESHOLD = 0.12  # chosen on the dev half (docs/reply-aids.md)
MIXED_THRESHOLD = 0.3
SEMANTIC_WEIGHT = 0.3
# e5 cosines of unrelated sentences of one policy area sit near 0.83-0.89 and of a suggestion and its answer near
# 0.94; rescaled so that 0.85 -> 0 and 0.95 -> 1.
SEMANTIC_FLOOR, SEMANTIC_CEIL = 0.85, 0.95
# Bigrams of the policy register that say nothing about what a point asks for.
_GENERIC = frozenset(
    "建议 加强 进一步 推进 推动 完善 加大 加快 建立 健全 实施 开展 落实 提高 提升 强化 积极 相关 工作 问题 我市 全市 "
    "部门 政府 有关 机制 力度 支持 鼓励 做好 以上 意见 参考 目前 已经 正在 将继 继续 下一 一步 我们 进行 通过 "
    "一是 二是 三是 四是 五是 六是 七是 八是 九是 十是 今年 以来 我局 我委 我区 我县 同时 取得 成效 较好 明显".split())
_HAN_OR_DIGIT = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9]+")


def bigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for run in _HAN_OR_DIGIT.findall(text):
        grams.update(run[i:i + 2] for i in range(len(run) - 1))
    return grams - _GENERIC


def lexical(point: str, paragraph: str) -> float:
    """The share of the point's content bigrams that the paragraph contains."""
    want = bigrams(point)
    return len(want & bigrams(paragraph)) / len(want) if want else 0.0


def rescale(cosine: np.ndarray) -> np.ndarray:
    return np.clip((cosine - SEMANTIC_FLOOR) / (SEMANTIC_CEIL - SEMANTIC_FLOOR), 0.0, 1.0)


@dataclass(frozen=True)
class PointCoverage:
    point: Piece
    answered: bool
    score: float
    paragraph: int | None  # index into CoverageResult.paragraphs of the best match
    lexical: float
    semantic: float | None


@dataclass(frozen=True)
class CoverageResult:
    points: list[PointCoverage]
    paragraphs: list[Piece]
    semantic: bool
    threshold: float

    @property
    def answered(self) -> int:
        return sum(p.answered for p in self.points)

    @property
    def ratio(self) -> float | None:
        return self.answered / len(self.points) if self.points else None


def score_matrix(points: Sequence[str], paragraphs: Sequence[str], embedder=None,
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """(lexical, semantic or None) scores, one row per point, one column per paragraph."""
    lex = np.array([[lexical(p, q) for q in paragraphs] for p in points]).reshape(len(points), len(paragraphs))
    if embedder is None or not points or not paragraphs:
        return lex, None
    a = embedder.encode_queries(list(points))
    b = embedder.encode_passages(list(paragraphs))
    return lex, rescale(np.asarray(a) @ np.asarray(b).T)


def check_coverage(body: str, reply: str, *, embedder=None, threshold: float | None = None,
                   semantic_weight: float = SEMANTIC_WEIGHT) -> CoverageResult:
    """Which points of ``body`` the ``reply`` answers; ``embedder`` (optional) adds the semantic score."""
    points = proposal_points(body)
    paragraphs = reply_paragraphs(reply)
    lex, sem = score_matrix([p.text for p in points], [q.text for q in paragraphs], embedder)
    if threshold is None:
        threshold = LEXICAL_THRESHOLD if sem is None else MIXED_THRESHOLD
    mixed = lex if sem is None else (1 - semantic_weight) * lex + semantic_weight * sem
    out = []
    for i, point in enumerate(points):
        if not paragraphs:
            out.append(PointCoverage(point, False, 0.0, None, 0.0, None))
            continue
        j = int(np.argmax(mixed[i]))
        score = float(mixed[i, j])
        out.append(PointCoverage(point, score >= threshold, round(score, 4), j, round(float(lex[i, j]), 4),
                                 None if sem is None else round(float(sem[i, j]), 4)))
    return CoverageResult(out, paragraphs, sem is not None, threshold)
