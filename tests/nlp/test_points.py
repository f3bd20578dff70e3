"""Splitting a proposal into its suggestions and a reply into its paragraphs (a golden table of marker styles)."""

from __future__ import annotations

import pytest

from nlp.points import proposal_points, reply_paragraphs

BACKGROUND = "老旧小区加装电梯推进缓慢，一是意见难统一，二是资金难筹措。\n"
CASES = [
    ("为此，建议：一是提高补贴标准。二是推行联合审批。三是明确维保责任。", ["一是提高补贴标准。", "二是推行联合审批。", "三是明确维保责任。"]),
    ("建议如下：\n（一）提高补贴标准。\n（二）推行联合审批。", ["（一）提高补贴标准。", "（二）推行联合审批。"]),
    ("对策建议\n1．提高补贴标准。\n2．推行联合审批。\n以上建议供参考。", ["1．提高补贴标准。", "2．推行联合审批。"]),
    ("我们建议：第一，提高补贴标准。第二，推行联合审批。", ["第一，提高补贴标准。", "第二，推行联合审批。"]),
    ("建议：\n一、提高补贴标准。\n二、推行联合审批。", ["一、提高补贴标准。", "二、推行联合审批。"]),
    ("为此建议：提高补贴标准，减轻居民负担。推行联合审批，压缩审批时限。", ["提高补贴标准，减轻居民负担。", "推行联合审批，压缩审批时限。"]),
]


@pytest.mark.parametrize(("suggestions", "expected"), CASES)
def test_the_points_are_the_suggestions_after_the_heading(suggestions, expected):
    body = BACKGROUND + suggestions
    points = proposal_points(body)
    assert [p.text for p in points] == expected
    for p in points:  # offsets point into the body
        assert body[p.start:p.end] == p.text


def test_without_a_heading_or_numbers_the_asking_sentences_are_the_points():
    body = "我市公厕数量不足。建议新建一批公厕。应延长开放时间。"
    assert [p.text for p in proposal_points(body)] == ["建议新建一批公厕。", "应延长开放时间。"]


def test_the_reply_paragraphs_leave_out_the_letter_frame():
    reply = ("张明代表：\n您提出的《关于加装电梯的建议》收悉，现答复如下：\n一、已将补贴提高到15万元。\n"
             "二、已设立一站式窗口。\n感谢您对我们工作的关心和支持。\n江州市住房和城乡建设局\n2025年6月1日")
    paras = reply_paragraphs(reply)
    assert [p.text for p in paras] == ["一、已将补贴提高到15万元。", "二、已设立一站式窗口。"]
    assert all(reply[p.start:p.end] == p.text for p in paras)
