"""Replies as their own field, long texts in passages, and fusion weights chosen on the archive's own pairs."""

import math

import numpy as np
import pytest

from models.embeddings import HashingEmbedder
from models.records import CaseRecord
from models.search import PrecedentIndex, SearchConfig
from models.search_weights import GRID, choose, cross_validate, reciprocal_ranks, summary
from tests.models.test_search import records

FILLER = "我市经济社会发展总体平稳，各项工作有序推进。" * 30  # about 660 characters that match nothing in particular


def long_records():
    out = records()
    # the matching paragraph sits at the end of a long body, past any "lead"
    out.append(CaseRecord(row=9, case_no="JY2025-0009", year=2025, kind="建议", title="关于若干民生问题的建议",
                          body=FILLER + "尤其是翠湖公园北门的共享单车乱停乱放，堵塞盲道，请尽快清理。",
                          lead="城管局", lead_id="城管局", reply=FILLER + "已在翠湖公园北门施划单车停放区。"))
    return out


@pytest.mark.parametrize("dense_text", ["lead", "chunks"])
def test_replies_are_searched_as_their_own_field(dense_text):
    index = PrecedentIndex(HashingEmbedder(128), SearchConfig(candidates=10, dense_text=dense_text))
    index.add(records())
    # words of the reply only (the case's title and body speak of 排污口, not 截污纳管)
    for mode in ("hybrid", "bm25", "dense"):
        assert index.search("截污纳管计划", k=1, target="replies", mode=mode)[0]["case_no"] == "TA2024-0003"
    assert index.search("截污纳管计划", k=1, target="items", mode="bm25") == []
    with pytest.raises(ValueError, match="检索对象"):
        index.search("截污", target="answers")


def test_a_case_without_a_reply_is_never_a_reply_hit():
    recs = records()
    recs[0].reply = ""
    index = PrecedentIndex(HashingEmbedder(128), SearchConfig(candidates=10))
    index.add(recs)
    hits = index.search("红绿灯 信号灯", k=5, target="replies")
    assert "JY2023-0001" not in {h["case_no"] for h in hits}
    assert index.search("红绿灯", k=1)[0]["case_no"] == "JY2023-0001"


def test_chunks_find_and_show_the_paragraph_deep_in_a_long_text():
    query = "翠湖公园北门共享单车乱停放堵塞盲道"
    lead = PrecedentIndex(HashingEmbedder(256), SearchConfig(candidates=10, dense_text="lead"))
    chunks = PrecedentIndex(HashingEmbedder(256), SearchConfig(candidates=10, dense_text="chunks"))
    for idx in (lead, chunks):
        idx.add(long_records())
    chunked = chunks.search(query, k=1, mode="dense")[0]
    assert chunked["case_no"] == "JY2025-0009"
    assert "翠湖公园北门" in chunked["passage"]["text"] and chunked["passage"]["start"] > 2 * chunks.config.lead_chars
    assert len(chunked["passage"]["text"]) <= chunks.config.chunk_chars
    # the lead-only vector of the same case is far less similar: max pooling over passages is what found it
    lead_sim = lead.search(query, k=10, mode="dense")
    own = next(h for h in lead_sim if h["case_no"] == "JY2025-0009")
    assert chunked["similarity"] > 2 * own["similarity"]
    # found by words, the passage shown is still the one holding them
    by_words = lead.search(query, k=1, mode="bm25")[0]
    assert "翠湖公园" in by_words["passage"]["text"] and {"翠湖", "盲道"} <= set(by_words["matched_terms"])


def test_chunked_index_saves_and_loads_with_the_same_results(tmp_path):
    index = PrecedentIndex(HashingEmbedder(128), SearchConfig(candidates=10, dense_text="chunks"))
    index.add(long_records())
    index.save(tmp_path / "s")
    again = PrecedentIndex.load(tmp_path / "s", HashingEmbedder(128))
    for target in ("items", "replies"):
        assert again.search("单车 盲道", k=3, target=target) == index.search("单车 盲道", k=3, target=target)
    # rebuilding reuses every passage vector
    fresh = PrecedentIndex(HashingEmbedder(128), SearchConfig(candidates=10, dense_text="chunks"))
    assert fresh.add(long_records(), reuse=again) == 0


def test_weights_guard_keeps_a_part_alone_when_fusion_hurts():
    # dense always ranks the target first, BM25 last: equal-weight fusion hurts, so the guard leaves it for a
    # weight that does as well as dense alone
    rr = np.array([reciprocal_ranks([1, 2, 0], [0, 1, 2], 0) for _ in range(30)])
    assert rr[0, -1] == 1.0 and rr[0, 0] < 1.0 and rr[:, GRID.index(1.0)].mean() < 1.0
    assert GRID[choose(rr)] > 1.0 and rr[:, choose(rr)].mean() == rr[:, -1].mean()
    s = summary(rr, [str(i) for i in range(30)], 5, 0)
    assert s["mrr10"][s["choice"]] == s["mrr10"]["dense"] and s["cv_mrr10"] == 1.0
    only_dense = np.array([reciprocal_ranks(list(range(1, 12)) + [0], list(range(12)), 0) for _ in range(30)])
    assert GRID[choose(only_dense)] == math.inf  # every fusion lets BM25 push the target down
    assert s["cv_mrr10_ci95"][0] <= s["cv_mrr10"] <= s["cv_mrr10_ci95"][1]
    # each part puts the target first on half the pairs and second on the others; equal-weight fusion always puts
    # it first: the fusion is kept
    half = [reciprocal_ranks([0, 1, 2], [2, 0, 1], 0)] * 10 + [reciprocal_ranks([1, 0, 2], [0, 2, 1], 0)] * 10
    mixed = np.array(half)
    assert mixed[:, 0].mean() == mixed[:, -1].mean() == 0.75 and mixed[:, GRID.index(1.0)].mean() == 1.0
    assert GRID[choose(mixed)] == 1.0
    # dense clearly ahead of BM25; a fusion ahead of dense on a single pair of twenty is no clear gain: dense alone
    hair = np.full((20, len(GRID)), 0.9)
    hair[:, 0] = 0.5
    hair[0, 1:-1] = 1.0
    assert hair[:, GRID.index(1.0)].mean() > hair[:, -1].mean() and GRID[choose(hair)] == math.inf
    # parts level (each ahead on one pair): equal-weight fusion, even if a part is a hair ahead on the mean
    level = np.full((20, len(GRID)), 0.8)
    level[0, 0], level[1, -1], level[2, -1] = 1.0, 1.0, 1.0
    assert level[:, -1].mean() > level[:, GRID.index(1.0)].mean() and GRID[choose(level)] == 1.0


def test_cross_validation_scores_each_fold_with_a_weight_chosen_elsewhere():
    # fold-dependent data: the choice made on the other folds is scored on the held-out one
    rr = np.zeros((20, len(GRID)))
    rr[:10, 0] = 1.0  # BM25 right on the first half
    rr[10:, -1] = 0.9  # dense nearly right on the second
    cv = cross_validate(rr, [f"g{i}" for i in range(20)], 2, 0)
    assert cv.shape == (20,) and cv.mean() <= rr.mean(axis=0).max()


def test_calibrated_weights_are_recorded_and_used(tmp_path):
    from models.search_weights import calibrate_weights

    recs = [CaseRecord(row=i, case_no=f"C{i}", year=2024, title=f"关于{name}的建议", body=f"{name}问题突出，群众反映强烈，第{i}号。",
                       reply=f"关于{name}，已安排专项资金解决。") for i, name in enumerate(
        ["滨江路红绿灯", "老旧小区电梯", "白沙河黑臭水体", "校外培训", "公交线路", "农贸市场", "垃圾分类", "停车难",
         "学前教育", "养老服务", "医保报销", "菜市场", "夜间噪音", "共享单车", "路灯维修", "积水内涝", "山体滑坡",
         "燃气安全", "电动车充电", "公厕建设", "乡村道路", "饮水安全"])]
    index = PrecedentIndex(HashingEmbedder(256), SearchConfig(candidates=30))
    index.add(recs)
    found = calibrate_weights(index, folds=4)
    assert set(found) == {"items", "replies"} and found["items"]["pairs"] == len(recs)
    for target, f in found.items():
        assert index.config.weights[target] == f["weights"]
        best_part = max(f["mrr10"]["bm25"], f["mrr10"]["dense"])
        chosen = f["mrr10"][f["choice"]]
        assert chosen >= best_part  # never below either part on the validation pairs
    index.save(tmp_path / "s")
    assert PrecedentIndex.load(tmp_path / "s", HashingEmbedder(256)).config.weight_calibration == found


def test_an_index_of_the_older_format_asks_for_a_rebuild(tmp_path):
    import json

    from models.search import SearchIndexFormatError

    index = PrecedentIndex(HashingEmbedder(64), SearchConfig(candidates=10))
    index.add(records())
    index.save(tmp_path / "s")
    meta = json.loads((tmp_path / "s" / "search.json").read_text(encoding="utf-8"))
    (tmp_path / "s" / "search.json").write_text(json.dumps({**meta, "format": 1}), encoding="utf-8")
    with pytest.raises(SearchIndexFormatError, match="jiaoban index"):
        PrecedentIndex.load(tmp_path / "s", HashingEmbedder(64))
