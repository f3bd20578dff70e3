import numpy as np
import pytest

from models.duplicates import choose_duplicate_threshold, group_by_similarity
from models.embeddings import HashingEmbedder
from models.records import CaseRecord
from models.search import PrecedentIndex, SearchConfig, SearchIndexError, case_text

CASES = [
    ("JY2023-0001", 2023, "建议", "关于滨江路与建设路交叉口增设红绿灯的建议", "滨江路与建设路交叉口车流量大，行人过街危险，建议增设信号灯。",
     "交通运输局", ["公安局"], "A", "满意", "您提出的建议收悉。我局已会同交警部门于2023年6月完成信号灯安装。"),
    ("JY2023-0002", 2023, "建议", "关于加快老旧小区加装电梯的建议", "东湖区老旧小区居民老龄化严重，加装电梯意愿强烈，但资金筹措难。",
     "住建局", ["财政局"], "B", "基本满意", "已列入2024年计划，计划年底前完成50部电梯加装。"),
    ("TA2024-0003", 2024, "提案", "关于治理白沙河黑臭水体的提案", "白沙河沿岸排污口多，夏季水体发黑发臭，群众反映强烈。",
     "生态环境局", ["水利局"], "B", "满意", "已开展排污口整治，计划2025年完成截污纳管。"),
    ("TA2024-0004", 2024, "提案", "关于规范校外培训机构的提案", "部分校外培训机构无证办学、收费不规范，家长投诉多。",
     "教育局", ["市场监管局"], "A", "满意", "已开展专项整治，关停无证机构12家。"),
    ("JY2024-0005", 2024, "建议", "关于优化公交线路的建议", "高新区新建小区多，公交线路覆盖不足，居民出行不便。",
     "交通运输局", [], "C", "不满意", "因财政条件限制，暂不能新增线路，将留作参考。"),
]


def records():
    out = []
    for i, (no, year, kind, title, body, lead, co, cat, fb, reply) in enumerate(CASES, start=2):
        out.append(CaseRecord(row=i, case_no=no, year=year, kind=kind, title=title, body=body, lead=lead,
                              lead_id=lead, co_handlers=co, co_ids=co, category=cat, feedback=fb, reply=reply))
    return out


@pytest.fixture()
def index():
    idx = PrecedentIndex(HashingEmbedder(128), SearchConfig(candidates=10))
    assert idx.add(records()) == len(CASES)
    return idx


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_exact_place_name_finds_its_case(index, mode):
    hits = index.search("滨江路建设路路口红绿灯", k=3, mode=mode)
    assert hits[0]["case_no"] == "JY2023-0001"


def test_result_fields_and_matched_terms(index):
    hit = index.search("老旧小区加装电梯资金难", k=1, full_reply=True)[0]
    assert hit["case_no"] == "JY2023-0002"
    assert {"加装电梯", "老旧小区"} <= set(hit["matched_terms"])
    assert hit["lead"]["name"] == "住建局" and hit["co_handlers"][0]["name"] == "财政局"
    assert hit["category"] == "B" and hit["feedback"] == "基本满意" and hit["year"] == 2023
    assert hit["reply"].startswith("已列入") and hit["reply_excerpt"]
    assert 0 < hit["similarity"] <= 1


def test_filters(index):
    assert {h["year"] for h in index.search("建议", k=5, year=2024)} == {2024}
    assert {h["lead"]["name"] for h in index.search("公交 红绿灯", k=5, department="交通运输局")} == {"交通运输局"}
    # co-handled cases count for a department
    assert [h["case_no"] for h in index.search("红绿灯", k=5, department="公安局")] == ["JY2023-0001"]
    assert {h["category"] for h in index.search("整治", k=5, category="B")} == {"B"}
    assert {h["kind"] for h in index.search("提案", k=5, kind="提案")} == {"提案"}
    assert index.search("红绿灯", k=5, year=2019) == []
    assert index.search("红绿灯", k=5, exclude=[index.cases[0]["case_id"]])[0]["case_no"] != "JY2023-0001"


def test_save_load_same_results_and_encoder_check(index, tmp_path):
    index.save(tmp_path / "s")
    again = PrecedentIndex.load(tmp_path / "s", HashingEmbedder(128))
    q = "白沙河水体黑臭治理"
    assert [h["case_id"] for h in again.search(q)] == [h["case_id"] for h in index.search(q)]
    with pytest.raises(SearchIndexError, match="jiaoban index"):
        PrecedentIndex.load(tmp_path / "s", HashingEmbedder(64))


def test_load_uses_the_saved_vector_index_and_rebuilds_a_stale_one(index, tmp_path, monkeypatch):
    index.save(tmp_path / "s")
    built = []
    import models.search as search_module
    real = search_module.VectorIndex

    class Counting(real):
        def __init__(self, *args, **kwargs):
            if args[2]:  # the empty index every new PrecedentIndex starts with costs nothing
                built.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(search_module, "VectorIndex", Counting)
    again = PrecedentIndex.load(tmp_path / "s", HashingEmbedder(128))
    assert built == [] and len(again.dense) == len(CASES)  # read from vectors.faiss, not rebuilt
    # A faiss file that no longer matches the cases is not trusted: the index is rebuilt from vectors.npy.
    (tmp_path / "s" / "vectors.faiss").write_bytes(b"damaged")
    again = PrecedentIndex.load(tmp_path / "s", HashingEmbedder(128))
    assert len(built) == 1 and again.search("白沙河水体黑臭治理", k=1)[0]["case_no"] == "TA2024-0003"


def test_appending_grows_the_vector_index_in_place_and_replacing_rebuilds_it(index):
    dense = index.dense
    new = CaseRecord(row=9, case_no="JY2025-0010", year=2025, title="关于增设社区食堂的建议",
                     body="老年人就餐难，建议增设社区食堂。", lead="民政局")
    index.add([new])
    assert index.dense is dense and len(dense) == len(CASES) + 1
    changed = CaseRecord(row=2, case_no="JY2023-0001", year=2023, title="关于滨江路夜间噪音的建议",
                         body="滨江路夜间渣土车噪音扰民。", lead="生态环境局")
    index.add([changed])
    assert index.dense is not dense and len(index.dense) == len(CASES) + 1
    assert index.search("滨江路渣土车噪音", k=1, mode="dense")[0]["lead"]["name"] == "生态环境局"


def test_incremental_add_encodes_only_new_texts(index):
    new = CaseRecord(row=9, case_no="JY2025-0009", year=2025, title="关于白沙河再次出现黑臭的建议",
                     body="白沙河治理后反弹。", lead="生态环境局")
    assert index.add([new] + records()[:2]) == 1  # the two old cases keep their vectors
    assert len(index) == len(CASES) + 1
    assert index.search("白沙河黑臭反弹", k=1)[0]["case_no"] == "JY2025-0009"


def test_duplicates_and_repeats(index):
    batch = [
        ("关于滨江路建设路口增设信号灯的建议", "滨江路与建设路交叉口行人过街危险，建议增设红绿灯。"),
        ("关于在滨江路建设路交叉口设置红绿灯的建议", "滨江路与建设路交叉口行人过街很危险，建议设置信号灯。"),
        ("关于发展夜间经济的提案", "建议打造夜市街区，延长商业营业时间。"),
    ]
    groups = index.duplicate_groups(batch, threshold=0.6)
    assert groups == [[0, 1]]
    repeats = index.repeats(batch, threshold=0.6)
    assert repeats[0]["case_no"] == "JY2023-0001" and repeats[2] is None


def test_group_by_similarity_is_transitive():
    v = np.array([[1, 0], [0.95, 0.31], [0.8, 0.6], [0, 1]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert group_by_similarity(v, 0.9) == [[0, 1, 2]]


def test_choose_duplicate_threshold_from_labelled_pairs():
    same = np.array([0.99, 0.97, 0.95, 0.90])
    different = np.array([0.93, 0.85, 0.80, 0.70])
    res = choose_duplicate_threshold(same, different, target_precision=0.75)
    assert res["threshold"] == pytest.approx(0.90, abs=1e-5)
    assert res["recall"] == 1.0
    strict = choose_duplicate_threshold(same, different, target_precision=1.0)
    assert strict["threshold"] == pytest.approx(0.95, abs=1e-5) and strict["recall"] == 0.75


def test_search_many_answers_each_query_as_its_own_search_does(index):
    queries = ["滨江路建设路路口红绿灯", "老旧小区加装电梯资金难", "公交线路覆盖不足", "校外培训机构收费", "白沙河", "无关词语"]
    tokens = [index.segmenter.tokenize(q) for q in queries]
    vectors = index.embedder.encode_queries([case_text("", q, index.config) for q in queries])
    batched = index.search_many(tokens, vectors, k=3)
    assert batched == [index.search(q, k=3) for q in queries]
    assert batched[0][0]["case_no"] == "JY2023-0001" and batched[1][0]["case_no"] == "JY2023-0002"


def test_search_many_on_an_empty_index_and_a_mismatched_batch(index):
    empty = PrecedentIndex(HashingEmbedder(128))
    vectors = empty.embedder.encode_queries(["红绿灯", "电梯"])
    assert empty.search_many([["红绿灯"], ["电梯"]], vectors) == [[], []]
    with pytest.raises(ValueError, match="2 token lists for 1 vectors"):
        index.search_many([["红绿灯"], ["电梯"]], vectors[:1])
