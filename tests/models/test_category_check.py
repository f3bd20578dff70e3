"""A/B/C consistency: a model fitted on replies and categories flags a category its reply contradicts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from models.category_check import CategoryChecker, CategoryScheme, cue_hits, cue_verdict

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "closed_cases.csv"


@pytest.fixture(scope="module")
def checker():
    with open(SAMPLES, encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r["年度"] in ("2022", "2023")]
    return CategoryChecker().fit([r["答复内容"] for r in rows], [r["答复类别"] for r in rows])


C_REPLY = "您提出的建议收悉。经研究，受财政资金限制，该项目暂不具备实施条件，我们将留作参考，待条件成熟时统筹考虑。"
A_REPLY = "您提出的建议收悉。我局已完成全部改造，问题已经解决，群众反映良好。"


def test_a_contradicting_category_is_flagged_with_its_phrases(checker):
    v = checker.check(C_REPLY, "A")
    assert v.flagged and v.predicted == "C"
    assert "留作参考" in v.phrases or "暂不具备条件" in v.phrases


def test_a_fitting_category_is_not_flagged(checker):
    assert not checker.check(C_REPLY, "C").flagged
    assert not checker.check(A_REPLY, "A").flagged


def test_the_cues_alone_decide_without_a_model():
    scheme = CategoryScheme()
    assert "已解决" not in cue_hits("问题尚未解决，正在协调", scheme).get("A", [])
    v = cue_verdict(C_REPLY, "A", scheme)
    assert v.flagged and v.predicted == "C"


def test_a_locality_sets_its_own_codes_and_cues(tmp_path):
    path = tmp_path / "categories.json"
    path.write_text('{"A": {"meaning": "解决", "cues": ["已解决"]}, "D": {"meaning": "不予采纳", "cues": ["不予采纳"]}}',
                    encoding="utf-8")
    scheme = CategoryScheme.from_file(path, ["A", "D"])
    assert scheme.codes == ["A", "D"] and scheme.meaning("D") == "不予采纳"
    assert cue_verdict("经研究，不予采纳。", "A", scheme).predicted == "D"
    with pytest.raises(ValueError, match="缺少类别 B"):
        CategoryScheme.from_file(path, ["A", "B"])
