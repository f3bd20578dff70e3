import numpy as np
import pytest

from models.certify import wilson_lower
from models.classifier import RoutingModel, RoutingParams, choose_threshold, fit_temperature

TOPICS = {
    "zjj": ["老旧小区加装电梯", "物业管理服务不规范", "保障性住房分配", "城中村改造进度慢", "建筑工地夜间施工"],
    "jyj": ["中小学课后服务", "校外培训机构监管", "学前教育学位紧张", "教师编制不足", "职业教育产教融合"],
    "jtj": ["公交线路覆盖不足", "农村公路养护", "出租车服务质量", "公交站台设置", "客运站搬迁"],
    "wjw": ["社区卫生服务中心", "家庭医生签约", "基层医疗人才短缺", "医院看病排队长", "疫苗接种点设置"],
}
PLACES = ["东湖区", "西山区", "临江区", "青石县", "云溪县", "高新区"]
TAILS = ["群众反映强烈，建议尽快研究解决。", "建议加大投入，完善机制。", "建议相关部门加强统筹协调。"]


def toy_data(n_per_topic: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    items, leads, co = [], [], []
    for dept, phrases in TOPICS.items():
        for i in range(n_per_topic):
            phrase = phrases[i % len(phrases)]
            place = PLACES[rng.integers(len(PLACES))]
            title = f"关于{place}{phrase}问题的建议"
            body = f"{place}{phrase}问题突出，{TAILS[rng.integers(len(TAILS))]}"
            items.append((title, body))
            leads.append(dept)
            co.append(["czj"] if dept == "zjj" and i % 2 == 0 else (["gaj"] if dept == "jtj" else []))
    return items, leads, co


@pytest.fixture(scope="module")
def toy_model():
    items, leads, co = toy_data()
    return RoutingModel(RoutingParams(co_min_count=3)).fit(items, leads, co)


def test_ranks_every_department_with_probabilities(toy_model):
    proba = toy_model.predict_proba([("关于东湖区老旧小区加装电梯的建议", "加装电梯难。")])
    assert proba.shape == (1, 4)
    assert proba.sum() == pytest.approx(1.0)
    assert toy_model.classes_[proba.argmax()] == "zjj"


def test_route_gives_reasons_co_handlers_and_review_flag(toy_model):
    [r] = toy_model.route([("关于公交线路覆盖不足的建议", "高新区公交线路覆盖不足，出行难。")], top_k=4)
    assert [s.label for s in r.lead][0] == "jtj"
    assert len(r.lead) == 4 and r.lead[0].probability >= r.lead[1].probability
    assert any("公交" in t for t in r.lead[0].terms)
    assert [c.label for c in r.co_handlers] == ["gaj"]
    assert r.needs_review == (r.lead[0].probability < toy_model.threshold_)
    [vague] = toy_model.route([("关于一件事的建议", "希望研究解决。")])
    assert vague.needs_review


def test_fit_does_not_keep_training_groups(toy_model):
    assert not hasattr(toy_model, "groups_")
    assert set(toy_model.validation_) >= {"oof_top1", "threshold", "temperature"}


def test_choose_threshold_meets_target_and_optional_confidence_margin():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.3, 1.0, 2000)
    correct = rng.uniform(size=2000) < conf  # calibrated by construction
    t, coverage, precision = choose_threshold(conf, correct, 0.9)
    accepted = conf >= t
    assert accepted.mean() == pytest.approx(coverage)
    assert correct[accepted].mean() == pytest.approx(precision) and precision >= 0.9
    # the lowest such threshold: one step lower falls below the target
    below = conf >= conf[conf < t].max()
    assert correct[below].mean() < 0.9
    t_strict, coverage_strict, _ = choose_threshold(conf, correct, 0.9, z=1.645)
    accepted = conf >= t_strict
    assert t_strict > t and coverage_strict < coverage
    assert wilson_lower(correct[accepted].sum(), accepted.sum()) >= 0.9
    # an unreachable target accepts nothing
    assert choose_threshold(conf, np.zeros(2000, bool), 0.9) == (1.0, 0.0, pytest.approx(float("nan"), nan_ok=True))


def test_fit_temperature_recovers_scale():
    rng = np.random.default_rng(1)
    true_logits = rng.normal(size=(4000, 5)) * 2
    p = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    y = np.array([rng.choice(5, p=row) for row in p])
    assert fit_temperature(true_logits * 3, y) == pytest.approx(3, rel=0.15)


def test_large_training_sets_calibrate_on_a_sample_and_still_fit_everything():
    items, leads, co = toy_data(n_per_topic=20)
    model = RoutingModel(RoutingParams(co_min_count=3, calibration_max_items=40)).fit(items, leads, co)
    assert model.validation_["calibration_items"] == 40
    assert 0 < model.temperature_ and 0 < model.threshold_ <= 1.0
    # The final models see every item: an item left out of the calibration sample is still learned.
    proba = model.predict_proba(items)
    assert (model.classes_[proba.argmax(axis=1)] == np.array(leads)).mean() > 0.95
    assert model.co_model_ is not None


def test_co_handlers_use_word_features_only(toy_model):
    n_words = toy_model.co_columns_
    assert 0 < n_words < len(toy_model.terms_)
    assert all(block != "chars" for block, _ in toy_model.terms_[:n_words])
    assert all(block == "chars" for block, _ in toy_model.terms_[n_words:])
    assert toy_model.co_model_.text_.estimators_[0].coef_.shape[1] == n_words


def test_too_little_data_to_certify_sends_every_item_to_review(toy_model):
    """48 toy items: fewer than the 72 all-correct out-of-fold items a 95 % certificate needs."""
    assert toy_model.certified_ is False and toy_model.threshold_ == 1.0
    assert toy_model.validation_["certificate"]["certified"] is False
    routed = toy_model.route([("关于东湖区老旧小区加装电梯的建议", "加装电梯难。")])
    assert routed[0].needs_review and routed[0].certified is False


def test_enough_clear_data_certifies_a_threshold_the_held_out_items_keep():
    items, leads, co = toy_data(n_per_topic=60)
    model = RoutingModel(RoutingParams()).fit(items, leads, co)
    cert = model.validation_["certificate"]
    assert model.certified_ and cert["lower_bound"] >= 0.95 and cert["precision"] >= cert["lower_bound"]
    assert model.threshold_ == cert["threshold"] and cert["coverage"] > 0.5
    assert model.validation_["crossfit_models"] == 0  # the full model serves
    [r] = model.route([items[0]])
    assert r.certified and r.needs_review == (r.lead[0].probability < model.threshold_)
    crossfit = RoutingModel(RoutingParams(crossfit=True)).fit(items, leads, co)
    assert crossfit.validation_["crossfit_models"] == 5
    assert crossfit.predict_proba(items[:3]).sum(axis=1) == pytest.approx(np.ones(3))
