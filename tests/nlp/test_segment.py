import pytest

from nlp import segment
from nlp.keywords import extract_keywords

# Golden table: what the segmenter must produce for typical proposal phrases (stopwords and boilerplate removed,
# policy terms kept whole).
GOLDEN = [
    ("关于加快老旧小区改造的建议", ["老旧小区改造"]),
    ("进一步优化营商环境", ["优化", "营商环境"]),
    ("推进乡村振兴和高标准农田建设", ["乡村振兴", "高标准农田", "建设"]),
    ("城乡居民医保异地就医结算难", ["城乡居民医保", "异地就医", "结算"]),
    ("建议加强校园周边交通安全管理", ["校园周边", "交通安全", "管理"]),
    ("５Ｇ基站建设滞后", ["5g", "基站", "建设", "滞后"]),
]


@pytest.mark.parametrize(("text", "tokens"), GOLDEN)
def test_golden_segmentation(text, tokens):
    assert segment.tokenize(text) == tokens


def test_stopwords_include_proposal_boilerplate():
    stop = segment.stopwords()
    for word in ("建议", "提案", "关于", "我市", "现答复如下"):
        assert word in stop
    assert "建议" not in segment.tokenize("特此建议，恳请相关部门研究")


def test_user_dictionary_takes_effect():
    text = "由东湖区云栖街道办牵头处理"
    before = segment.tokenize(text)
    assert "云栖街道办" not in before
    assert segment.add_user_words(["云栖街道办"]) == 1
    assert "云栖街道办" in segment.tokenize(text)
    assert "云栖街道办" in segment.user_words()
    assert segment.add_user_words(["云栖街道办"]) == 0  # already known


def test_keywords_rank_topic_terms_first():
    text = "老旧小区加装电梯推进缓慢，加装电梯资金筹措困难，老旧小区居民意见难统一。"
    kws = extract_keywords(text, top_k=3)
    assert kws[:2] == ["加装电梯", "老旧小区"]
    assert extract_keywords("") == []
