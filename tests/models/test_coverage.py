"""Reply coverage: each point answered by a paragraph that takes it up, lexically or (optionally) semantically."""

from __future__ import annotations

import numpy as np

from models.coverage import check_coverage

BODY = ("老旧小区加装电梯推进缓慢。为此，建议：一是提高财政补贴标准，每台补贴提高至20万元。二是推行联合审批，"
        "压缩审批时限。三是培育专业化服务主体，提供一条龙服务。")
REPLY = ("张明代表：\n您提出的《关于加装电梯的建议》收悉，现答复如下：\n一、已将每台电梯的市级补贴提高到15万元。\n"
         "二、已设立加装电梯一站式服务窗口，推行联合审查，审批时限压缩至10个工作日。\n感谢您对我们工作的关心和支持。")


def test_the_answered_and_the_unanswered_points():
    result = check_coverage(BODY, REPLY)
    assert [p.answered for p in result.points] == [True, True, False]
    assert result.answered == 2 and result.ratio == 2 / 3
    first = result.points[0]
    assert "补贴" in result.paragraphs[first.paragraph].text


def test_a_reply_without_paragraphs_answers_nothing():
    result = check_coverage(BODY, "")
    assert result.answered == 0 and len(result.points) == 3 and result.paragraphs == []


class Stub:
    """An encoder that finds the third point answered by the second paragraph (and nothing else)."""

    def encode_queries(self, texts):
        return np.array([[1.0, 0.0] if "服务主体" in t else [0.0, 1.0] for t in texts])

    def encode_passages(self, texts):
        return np.array([[1.0, 0.0] if "一站式" in t else [0.0, 1.0] for t in texts])


def test_the_semantic_score_can_answer_a_point_the_words_miss():
    result = check_coverage(BODY, REPLY, embedder=Stub(), semantic_weight=0.7)
    assert result.semantic
    assert result.points[2].answered and result.points[2].semantic == 1.0
