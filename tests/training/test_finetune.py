"""In-domain fine-tuning: its training pairs, its held-back score, and the keep-only-if-better rule."""

import json

import numpy as np
import pytest

from models.embeddings import HashingEmbedder
from models.records import CaseRecord
from models.search import SearchConfig
from training import finetune
from training.finetune import FineTuneParams, _mrr_at_10, heldback_scores, training_pairs


def case(no, year, title, body, reply=""):
    return CaseRecord(row=2, case_no=no, year=year, title=title, body=body, lead="住建局", lead_id="zjj", reply=reply)


CASES = [
    case("JY2024-0001", 2024, "关于老旧小区加装电梯的建议", "东湖区老旧小区居民老龄化严重，加装电梯难。", "已列入计划，年底前完成加装。"),
    case("JY2024-0002", 2024, "关于治理白沙河黑臭水体的建议", "白沙河沿岸排污口多，水体发黑发臭。", "已开展排污口整治。"),
    case("JY2025-0001", 2025, "关于增设滨江路红绿灯的建议", "滨江路与建设路交叉口行人过街危险。", "已完成信号灯安装。"),
    case("JY2025-0002", 2025, "关于规范校外培训机构的建议", "部分校外培训机构无证办学、收费不规范。", ""),
]


def test_pairs_do_not_copy_the_title_into_the_passage():
    pairs = training_pairs(CASES, SearchConfig())
    assert ("老旧小区加装电梯", "东湖区老旧小区居民老龄化严重，加装电梯难。") in pairs
    assert all(not passage.startswith(query) for query, passage in pairs if "。" not in query)
    # the case as a query and its reply as the passage; cases without a reply give no such pair
    assert sum(passage.startswith("已") for _, passage in pairs) == 3


def test_mrr_counts_the_rank_of_each_querys_own_document():
    docs = np.eye(3, dtype=np.float32)
    queries = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1]], dtype=np.float32)  # query 1 ranks doc 1 second
    mrr, r1, r10 = _mrr_at_10(queries, docs)
    assert mrr == pytest.approx((1 + 0.5 + 1) / 3) and r1 == pytest.approx(2 / 3) and r10 == 1.0


def test_heldback_scores_cover_both_tasks():
    scores = heldback_scores(HashingEmbedder(256), CASES, SearchConfig())
    assert scores["title_to_body"]["n"] == 4 and scores["proposal_to_reply"]["n"] == 3
    assert scores["mean_mrr10"] == pytest.approx(
        (scores["title_to_body"]["mrr10"] + scores["proposal_to_reply"]["mrr10"]) / 2)


class _Model:
    def save(self, path):
        import pathlib

        pathlib.Path(path).mkdir(parents=True)
        (pathlib.Path(path) / "modules.json").write_text("[]")


def _scores(mrr_title, mrr_reply, recall_title=1.0, recall_reply=1.0):
    return {"title_to_body": {"mrr10": mrr_title, "recall10": recall_title},
            "proposal_to_reply": {"mrr10": mrr_reply, "recall10": recall_reply},
            "mean_mrr10": (mrr_title + mrr_reply) / 2}


@pytest.mark.parametrize("after, kept", [
    (_scores(0.52, 0.52), True),
    (_scores(0.501, 0.501), False),  # too small a gain
    (_scores(0.60, 0.49), False),  # the mean rises, the replies task falls
    (_scores(0.55, 0.55, recall_reply=0.984), False),  # MRR rises, recall@10 falls (the sample run of issue 13)
])
def test_the_tuned_encoder_is_kept_only_when_it_gains_on_both_tasks(tmp_path, monkeypatch, after, kept):
    scores = iter([_scores(0.50, 0.50), after])

    class Encoder(HashingEmbedder):
        query_prompt = passage_prompt = ""

        def __init__(self, path):
            super().__init__(64)

    monkeypatch.setattr(finetune, "SentenceTransformerEmbedder", Encoder)
    monkeypatch.setattr(finetune, "heldback_scores", lambda *a: next(scores))
    monkeypatch.setattr(finetune, "_train", lambda *a: (_Model(), [1.0]))
    out = tmp_path / "tuned"
    result = finetune.fine_tune(CASES * 10, tmp_path / "base", out, params=FineTuneParams(batch_size=4))
    assert result.kept is kept and result.heldback_year == 2025
    assert (out / "modules.json").exists() is kept
    report = out / "finetune.json" if kept else tmp_path / "tuned.finetune.json"
    assert json.loads(report.read_text(encoding="utf-8"))["kept"] is kept
    assert not (tmp_path / "tuned.partial").exists()


def test_one_year_of_cases_is_refused(tmp_path):
    with pytest.raises(ValueError, match="两个年度"):
        finetune.fine_tune([c for c in CASES if c.year == 2025], tmp_path, tmp_path / "o")


def test_old_kept_encoders_that_no_version_uses_are_removed(tmp_path):
    def encoder(name):
        path = tmp_path / name
        path.mkdir()
        (path / "modules.json").write_text("[]")
        return path

    base, old, used, new = (encoder(n) for n in ("e5-small", "e5-small-ft-20250101-000000",
                                                 "e5-small-ft-20250601-000000", "e5-small-ft-20261201-000000"))
    other = encoder("bge-ft-20250101-000000")
    removed = finetune.clean_old_encoders(new, {used})
    assert removed == [old] and not old.exists()
    assert base.exists() and used.exists() and new.exists() and other.exists()
