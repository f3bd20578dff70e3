import pytest

from models.embeddings import HashingEmbedder
from models.records import CaseRecord
from models.search import PrecedentIndex
from training.duplicates import calibrate, read_duplicate_groups

TEXTS = {
    "A1": "滨江路与建设路交叉口增设红绿灯，行人过街危险。",
    "A2": "建议在滨江路建设路交叉口设置红绿灯，行人过街很危险。",
    "B1": "老旧小区加装电梯资金筹措难，建议加大补贴。",
    "B2": "加大老旧小区加装电梯补贴力度，解决资金筹措难。",
    "C1": "发展夜间经济，打造夜市街区。",
    "D1": "农村公路养护资金不足，路面破损严重。",
    "E1": "中小学课后服务内容单一，建议引入社会资源。",
}


def test_threshold_separates_labelled_duplicates(tmp_path):
    index = PrecedentIndex(HashingEmbedder(256))
    index.add([CaseRecord(row=i, case_no=no, title="", body=text) for i, (no, text) in enumerate(TEXTS.items())])
    labels = tmp_path / "dups.csv"
    labels.write_text("编号,重复组\nA1,g1\nA2,g1\nB1,g2\nB2,g2\nZZ9,g3\n", encoding="utf-8")
    groups = read_duplicate_groups(labels)
    result = calibrate(index, groups, target_precision=1.0)
    assert result["groups"] == 2 and result["recall"] == 1.0
    assert result["same_median"] > result["different_median"]
    pairs = index.duplicate_groups([("", TEXTS[k]) for k in TEXTS], threshold=result["threshold"])
    assert pairs == [[0, 1], [2, 3]]


def test_no_usable_groups_is_an_error():
    index = PrecedentIndex(HashingEmbedder(64))
    index.add([CaseRecord(row=1, case_no="A1", body="x")])
    with pytest.raises(ValueError, match="重复组"):
        calibrate(index, {"A1": "g", "B9": "g"})
