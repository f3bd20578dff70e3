import pytest

from nlp import segment

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


def test_user_words_belong_to_one_segmenter_and_pickle_with_it():
    import pickle

    text = "由东湖区云栖街道办牵头处理"
    taught = segment.Segmenter(["云栖街道办", "云栖街道办", " "])
    assert taught.user_words == ("云栖街道办",)
    assert "云栖街道办" in taught.tokenize(text)
    assert "云栖街道办" not in segment.tokenize(text)  # the process-wide default is untouched
    assert "云栖街道办" not in segment.Segmenter().tokenize(text)
    again = pickle.loads(pickle.dumps(taught))
    assert again == taught and again.tokenize(text) == taught.tokenize(text)
    assert len(pickle.dumps(taught)) < 500  # its words, never jieba's dictionary


def test_prepare_segments_an_item_once_as_title_subject_and_body():
    seg = segment.Segmenter()
    doc = seg.prepare("关于加快老旧小区改造的建议", "老旧小区加装电梯难。")
    assert doc.subject == "加快老旧小区改造" and doc.text == "加快老旧小区改造。老旧小区加装电梯难。"
    assert doc.tokens == tuple(seg.tokenize(doc.text)) and doc.subject_tokens == tuple(seg.tokenize(doc.subject))
    untitled = seg.prepare("", "老旧小区加装电梯推进缓慢，群众反映强烈，希望尽快解决资金问题。")
    assert untitled.subject_tokens and untitled.tokens[: len(untitled.subject_tokens)] == untitled.subject_tokens
