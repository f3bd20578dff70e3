"""The admissibility pre-screen: not-filing grounds with their codes, and several unrelated matters in one item."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.admissibility import load_grounds, parts, screen


def codes(title: str, body: str, **kw) -> list[str]:
    return [f.code for f in screen(title, body, **kw)]


def test_grounds_are_flagged_with_their_reason():
    assert codes("关于重审我亲属案件的建议", "该案已由市中级人民法院作出判决，请求撤销判决重新审理。") == ["litigation"]
    flags = screen("关于邻里纠纷的建议", "我家与邻居因宅基地边界纠纷多年，请政府为我家主持公道。")
    assert flags[0].code == "personal_dispute" and "人工判断" in flags[0].reason and flags[0].evidence


def test_a_policy_item_on_nearby_wording_is_not_flagged():
    assert codes("关于推进诉调对接的建议", "建议建立人民调解与诉讼的衔接机制，依法化解邻里纠纷。") == []


def test_a_locality_sets_its_own_grounds(tmp_path):
    path = tmp_path / "grounds.json"
    path.write_text(json.dumps([{"code": "x_only", "name": "测试情形", "patterns": ["某某事项"]}]), encoding="utf-8")
    grounds = load_grounds(path)
    assert codes("t", "涉及某某事项", grounds=grounds) == ["x_only"]
    path.write_text('[{"code": "bad"}]', encoding="utf-8")
    with pytest.raises(ValueError, match="第 1 项"):
        load_grounds(path)


BODY = ("一、关于老旧小区加装电梯。我市老旧小区多数没有电梯，老人上下楼难，建议提高补贴，推行联合审批。\n"
        "二、关于农村公路养护。农村公路路面破损严重，养护资金不足，建议落实养护资金，推行路长制。")


def fake_proba(texts):
    return np.array([[0.99, 0.01] if "电梯" in t else [0.01, 0.99] for t in texts])


def test_two_parts_routed_to_unrelated_units_are_two_matters():
    assert len(parts(BODY)) == 2
    flags = screen("关于几个民生问题的建议", BODY, proba=fake_proba, labels=["zjj", "jtysj"])
    assert flags[0].code == "multi_matter" and "zjj" in flags[0].reason and "jtysj" in flags[0].reason


def test_one_matter_in_several_parts_is_not_split():
    same = BODY.replace("农村公路养护", "加装电梯资金").replace("农村公路", "电梯")
    assert codes("t", same, proba=fake_proba, labels=["zjj", "jtysj"]) == []
