import joblib
import numpy as np
import pytest

from models.classifier import RoutingModel, RoutingParams
from models.knn_vote import VectorTable, knn_votes
from models.records import CaseRecord
from tests.models.test_classifier import toy_data

SPEC = {"encoder": "toy-encoder", "dense_text": "lead", "lead_chars": 200}


def test_votes_are_cosine_weighted_shares_of_the_nearest():
    ref = np.array([[1, 0], [0, 1], [0.8, 0.6]], dtype=np.float32)
    y = np.array([0, 1, 1])
    q = np.array([[0.6, 0.8]], dtype=np.float32)
    votes = knn_votes(q, ref, y, 2, ks=(1, 2, 3))
    assert votes[1].tolist() == [[0.0, 1.0]]  # nearest: [0.8, 0.6] (cos 0.96), class 1
    np.testing.assert_allclose(votes[2], [[0.0, 1.0]])  # then [0, 1] (cos 0.8), class 1
    np.testing.assert_allclose(votes[3], [[0.6 / 2.36, 1.76 / 2.36]], rtol=1e-5)
    opposite = knn_votes(-q, ref, y, 2, ks=(1,))[1]
    assert opposite.tolist() == [[0.0, 0.0]]  # negative cosines vote nothing


def twins(seed: int = 0, n: int = 12):
    """The toy topics plus a unit "czj" whose items read exactly like "zjj"'s: only their vectors tell them apart."""
    items, leads, _ = toy_data(n_per_topic=n, seed=seed)
    zjj = [it for it, lead in zip(items, leads) if lead == "zjj"]
    items, leads = items + zjj, leads + ["czj"] * len(zjj)
    rng = np.random.default_rng(seed)
    centres = {lab: rng.normal(size=16) for lab in sorted(set(leads))}
    vectors = np.array([centres[lab] + 0.3 * rng.normal(size=16) for lab in leads], dtype=np.float32)
    return items, leads, vectors, centres


@pytest.fixture(scope="module")
def blended():
    items, leads, vectors, centres = twins()
    model = RoutingModel(RoutingParams(knn_blend=True, co_min_count=3)).fit(items, leads, vectors=vectors,
                                                                            vector_spec=SPEC)
    return model, centres


def test_a_blend_that_helps_out_of_fold_is_adopted_with_its_own_certificate(blended):
    model, _ = blended
    knn = model.knn_
    assert knn is not None and knn.weight > 0 and knn.k >= 5
    assert knn.vector_spec == SPEC and knn.vectors.shape == (60, 16)
    info = model.validation_["knn"]
    assert info["adopted"] and info["k"] == knn.k and info["weight"] == knn.weight
    # the text model cannot tell czj from zjj out of fold; the blend can
    assert info["oof_top1"] > model.validation_["oof_top1"] + 0.1
    assert not hasattr(model, "oof_folds_")


def test_routing_uses_the_blend_only_with_vectors_and_each_with_its_own_threshold(blended):
    model, centres = blended
    rng = np.random.default_rng(7)
    item = ("关于临江区老旧小区加装电梯问题的建议", "临江区老旧小区加装电梯问题突出，建议加大投入，完善机制。")
    czj_vec = (centres["czj"] + 0.3 * rng.normal(size=16)).astype(np.float32)[None]
    [with_vec] = model.route([item], vectors=czj_vec)
    assert with_vec.blended and with_vec.lead[0].label == "czj"
    assert with_vec.threshold == model.knn_.certificate.threshold
    assert with_vec.certified == model.knn_.certificate.certified
    [text_only] = model.route([item])
    assert not text_only.blended and text_only.lead[0].label in {"czj", "zjj"}
    assert text_only.threshold == model.certificate_.threshold
    assert text_only.lead[0].probability < 0.75  # the text alone is torn between the twins


def test_the_blend_survives_the_bundle_file(blended, tmp_path):
    model, centres = blended
    joblib.dump(model, tmp_path / "m.joblib")
    again = joblib.load(tmp_path / "m.joblib")
    vec = centres["czj"][None].astype(np.float32)
    item = [("关于东湖区物业管理服务不规范问题的建议", "物业管理服务不规范。")]
    a, b = model.route(item, vectors=vec)[0], again.route(item, vectors=vec)[0]
    assert [(s.label, round(s.probability, 9)) for s in a.lead] == [(s.label, round(s.probability, 9))
                                                                     for s in b.lead]


def test_without_vectors_or_without_the_option_the_model_is_the_text_model():
    items, leads, vectors, _ = twins()
    no_vectors = RoutingModel(RoutingParams(knn_blend=True)).fit(items, leads)
    off = RoutingModel(RoutingParams()).fit(items, leads, vectors=vectors, vector_spec=SPEC)
    for model in (no_vectors, off):
        assert model.knn_ is None
        [r] = model.route(items[:1], vectors=vectors[:1])
        assert not r.blended and r.threshold == model.certificate_.threshold


def test_fit_cases_takes_each_case_vector_from_the_table_by_its_text():
    items, leads, vectors, _ = twins()
    cases = [CaseRecord(row=i + 2, title=t, body=b, lead=lead, year=2024) for i, ((t, b), lead)
             in enumerate(zip(items, leads))]
    table = VectorTable(items, vectors, SPEC)
    order = np.random.default_rng(1).permutation(len(cases))
    model = RoutingModel(RoutingParams(knn_blend=True)).fit_cases([cases[i] for i in order], table)
    assert model.knn_ is not None
    np.testing.assert_allclose(np.linalg.norm(model.knn_.vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(model.knn_.vectors[0], vectors[order[0]] / np.linalg.norm(vectors[order[0]]),
                               rtol=1e-5)
    with pytest.raises(KeyError, match="no vector for 1 of 2"):
        table([items[0], ("没有的标题", "没有的正文")])
    with pytest.raises(ValueError, match="2 items but 1 vectors"):
        VectorTable(items[:2], vectors[:1], SPEC)


def _by_coverage_at(level: float):
    """A stand-in certifier: items at ``level`` and above, when at least 95 % of them are right."""
    from models.certify import Certificate

    def certify(conf, correct):
        accepted = conf >= level
        ok = bool(accepted.any()) and correct[accepted].mean() >= 0.95
        return Certificate(ok, level, float(accepted.mean()), float(correct[accepted].mean()) if accepted.any()
                           else float("nan"), 0.95, 0.95, 0.05, len(conf), 1)
    return certify


def test_a_blend_that_costs_auto_assigned_items_is_not_chosen_even_if_more_accurate():
    from models.knn_vote import choose_blend

    y = np.array([0] * 50 + [1] * 50)
    proba = np.where(np.eye(2)[y] == 1, 0.95, 0.05)
    wrong = np.r_[0:5, 50:55]
    proba[wrong] = np.where(np.eye(2)[y[wrong]] == 1, 0.3, 0.7)  # ten items the text gets wrong, below 0.9
    hesitant = np.where(np.eye(2)[y] == 1, 0.6, 0.4)
    hesitant[wrong] = np.where(np.eye(2)[y[wrong]] == 1, 1.0, 0.0)
    # every blend that fixes the ten also pulls the confident items below 0.9: more accurate, nothing auto-assigned
    k, w, h, f1, cov = choose_blend(y, proba, {5: hesitant}, _by_coverage_at(0.9), head=hesitant)
    assert w == 0 and h == 0 and cov == 0.9 and f1 == pytest.approx(0.9)
    sure = np.eye(2)[y]  # fixes the ten and keeps the rest confident: chosen
    k, w, h, f1, cov = choose_blend(y, proba, {5: hesitant, 10: sure}, _by_coverage_at(0.9))
    assert (k, cov, f1, h) == (10, 0.9, 1.0, 0.0) and w >= 0.3
    # the same help from the head: it carries the blend (the hesitant votes at most a small share)
    k, w, h, f1, cov = choose_blend(y, proba, {5: hesitant}, _by_coverage_at(0.9), head=sure)
    assert f1 == 1.0 and cov >= 0.9 and h >= 0.3 and h > w


def test_the_head_lays_its_classes_over_the_models_and_gives_nothing_to_units_it_never_saw():
    from models.knn_vote import fit_head

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 8))
    y = np.repeat([0, 2, 3], 20)  # class 1 has no items in this part
    vectors = (centres[y] + 0.2 * rng.normal(size=(60, 8))).astype(np.float32)
    head = fit_head(vectors, y, 4)
    p = head.proba(centres[[0, 2, 3]])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (p[:, 1] == 0).all() and p.argmax(axis=1).tolist() == [0, 2, 3]
    two = fit_head(vectors[:40], y[:40], 4)  # binary: sklearn's single row becomes two classes' logits
    assert two.proba(centres[[0, 2]]).argmax(axis=1).tolist() == [0, 2]
    np.testing.assert_allclose(two.proba(vectors[:3]).sum(axis=1), 1.0)
    one = fit_head(vectors[:20], y[:20], 4)  # a single unit gets everything
    assert one.proba(vectors[:2]).tolist() == [[1.0, 0.0, 0.0, 0.0]] * 2


def test_a_blend_with_a_head_serves_the_three_part_mix_it_certified(blended):
    from models.knn_vote import KnnBlend

    model, centres = blended
    knn = model.knn_
    vec = np.stack([centres["czj"], centres["zjj"]]).astype(np.float32)
    proba = model.predict_proba([("关于物业管理的建议", "物业管理服务不规范。")] * 2)
    expected = (1 - knn.weight - knn.head_weight) * proba + knn.weight * knn.votes(vec, proba.shape[1])
    if knn.head is not None:
        expected += knn.head_weight * knn.head.proba(vec)
    np.testing.assert_allclose(knn.blend(proba, vec), expected)
    assert model.validation_["knn"]["head_weight"] == knn.head_weight
    old = KnnBlend(knn.vectors, knn.labels, knn.k, knn.weight, knn.certificate, knn.vector_spec)
    del old.__dict__["head"], old.__dict__["head_weight"]  # as a bundle pickled before the head was unpickled
    np.testing.assert_allclose(old.blend(proba, vec), (1 - knn.weight) * proba
                               + knn.weight * knn.votes(vec, proba.shape[1]))


def test_without_the_head_option_only_the_vote_is_blended():
    items, leads, vectors, _ = twins()
    model = RoutingModel(RoutingParams(knn_blend=True, vector_head=False)).fit(items, leads, vectors=vectors,
                                                                                vector_spec=SPEC)
    assert model.knn_ is not None and model.knn_.head is None and model.knn_.head_weight == 0


def test_the_log_loss_choice_takes_the_lowest_log_loss_not_the_most_items_certified():
    """``by="log_loss"`` (measured, rejected): the lowest log-loss; a blend no better on log-loss is not taken."""
    from models.knn_vote import choose_blend, log_loss

    y = np.array([0] * 50 + [1] * 50)
    proba = np.where(np.eye(2)[y] == 1, 0.8, 0.2)
    proba[:10] = np.where(np.eye(2)[y[:10]] == 1, 0.4, 0.6)  # ten wrong, 90 right at 0.8
    sure = np.eye(2)[y]
    noisy = np.where(np.eye(2)[y] == 1, 0.97, 0.03)  # right everywhere but less sharp than ``sure``
    k, w, h, f1, cov = choose_blend(y, proba, {5: noisy, 10: sure}, _by_coverage_at(0.9), by="log_loss")
    assert k == 10 and w == 0.8 and f1 == 1.0
    chosen = (1 - w) * proba + w * sure
    assert all(log_loss(y, chosen) <= log_loss(y, (1 - v) * proba + v * noisy) for v in (0.1, 0.5, 0.8))
    # a vote that only adds noise lowers no log-loss: nothing is blended
    rng = np.random.default_rng(0)
    noise = rng.dirichlet([1, 1], size=len(y))
    k, w, h, f1, cov = choose_blend(y, proba, {5: noise}, _by_coverage_at(0.9), by="log_loss")
    assert (w, h) == (0.0, 0.0)
    with pytest.raises(ValueError, match="blend_choice"):
        choose_blend(y, proba, {5: noise}, _by_coverage_at(0.9), by="best")


def test_the_bonferroni_choice_certifies_every_blend_tried_at_a_share_of_alpha(blended):
    """``blend_choice="bonferroni"``: the chosen blend's certificate is at 0.05 / (blends tried + the text model), so
    it holds whatever the choice; on 60 items that is too few to certify anything, and the model says so."""
    from models.knn_vote import KS, _grid

    shipped, _ = blended
    items, leads, vectors, _ = twins()
    model = RoutingModel(RoutingParams(knn_blend=True, co_min_count=3, blend_choice="bonferroni")).fit(
        items, leads, vectors=vectors, vector_spec=SPEC)
    tried = 1 + sum(1 for _ in _grid(dict.fromkeys(KS), np.zeros(1)))
    cert = model.knn_.certificate
    assert cert.alpha == pytest.approx(0.05 / tried) and shipped.knn_.certificate.alpha == 0.05
    assert cert.min_items > len(items) and not cert.certified and cert.threshold == 1.0
    assert model.validation_["knn"]["certificate"]["certified"] is False
    # the text model's own certificate (its fallback) is not shared out
    assert model.certificate_.alpha == 0.05


def test_the_macro_f1_choice_ranks_accuracy_first_under_the_same_no_loss_rule():
    from models.knn_vote import choose_blend

    y = np.array([0] * 50 + [1] * 50)
    proba = np.where(np.eye(2)[y] == 1, 0.95, 0.05)
    wrong = np.r_[0:5, 50:55]
    proba[wrong] = np.where(np.eye(2)[y[wrong]] == 1, 0.3, 0.7)  # ten items the text gets wrong
    fixes_half = np.eye(2)[y]  # sure of five of the ten, undecided on the other five
    fixes_half[[2, 3, 4, 53, 54]] = 0.5
    fixes_all = np.eye(2)[y]  # right on all ten, but hesitant there: they stay below the threshold
    fixes_all[wrong] = np.where(np.eye(2)[y[wrong]] == 1, 0.6, 0.4)
    votes = {5: fixes_half, 10: fixes_all}
    k, w, h, f1, cov = choose_blend(y, proba, votes, _by_coverage_at(0.85))
    assert k == 5 and cov == pytest.approx(0.95) and f1 < 1.0
    k, w, h, f1, cov = choose_blend(y, proba, votes, _by_coverage_at(0.85), by="macro_f1")
    assert k == 10 and f1 == pytest.approx(1.0) and cov == pytest.approx(0.9)
    with pytest.raises(ValueError, match="blend_choice"):
        choose_blend(y, proba, votes, _by_coverage_at(0.85), by="top1")


def _unit_specific_readers(n: int = 300):
    """Three units: the text finds units 0 and 1 but never unit 2; the vote finds unit 2 but swaps units 0 and 1.
    No single vote weight gets all three right; a meta-model that weighs each reader per unit does."""
    from models.knn_vote import KS

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], n // 3)
    eye = np.eye(3)
    text = np.where(eye[y] == 1, 0.6, 0.2)
    text[y == 2] = [0.48, 0.48, 0.04]
    votes = np.where(eye[y] == 1, 0.9, 0.05)
    pair = np.flatnonzero(y < 2)
    votes[pair] = 0.05
    votes[pair, 1 - y[pair]] = 0.9
    return y, text, {k: votes + 0.01 * rng.random((n, 3)) for k in KS}, [np.arange(i, n, 5) for i in range(5)]


def test_the_stack_weighs_each_reader_per_unit_where_no_single_blend_weight_can():
    from models.knn_stack import fit_stack
    from models.knn_vote import WEIGHTS, macro_f1, mix

    y, text, votes, folds = _unit_specific_readers()
    best_blend = max(macro_f1(y, mix(text, w, votes[k])) for k in votes for w in WEIGHTS)
    stack, oof = fit_stack(y, text, votes, None, folds)
    assert best_blend < 0.6 and macro_f1(y, text) < 0.6
    assert macro_f1(y, oof) == pytest.approx(1.0)  # cross-fitted: each fold scored by a meta-model without it
    assert macro_f1(y, stack.proba(text, votes, None)) == pytest.approx(1.0)
    assert stack.penalty > 0 and stack.ks == tuple(sorted(votes)) and not stack.uses_head


def test_the_stack_replaces_the_blend_only_when_it_beats_it_out_of_fold():
    from models.knn_vote import _stack_if_better, macro_f1

    y, text, votes, folds = _unit_specific_readers()
    stack, oof = _stack_if_better(y, text, votes, None, folds, _by_coverage_at(0.6), reference_f1=0.55)
    assert stack is not None and macro_f1(y, oof) == pytest.approx(1.0)
    assert _stack_if_better(y, text, votes, None, folds, _by_coverage_at(0.6), reference_f1=1.0) == (None, None)


def test_a_served_stack_reads_the_votes_of_the_stored_cases(blended):
    """A blend holding a stack serves the meta-model's probabilities over its own cases' votes at the stack's k."""
    from models.knn_stack import fit_stack
    from models.knn_vote import KS, KnnBlend, knn_votes

    model, centres = blended
    knn = model.knn_
    n = len(model.classes_)
    rng = np.random.default_rng(3)
    y = knn.labels
    text = rng.dirichlet(np.ones(n), size=len(y))
    votes = knn_votes(knn.vectors, knn.vectors, y, n)
    stack, _ = fit_stack(y, text, votes, None, [np.arange(i, len(y), 5) for i in range(5)])
    served = KnnBlend(knn.vectors, y, knn.k, knn.weight, knn.certificate, knn.vector_spec, None, 0.0, stack)
    query = (centres["czj"] + 0.3 * rng.normal(size=(4, 16))).astype(np.float32)
    q_text = rng.dirichlet(np.ones(n), size=4)
    expected = stack.proba(q_text, knn_votes(query, knn.vectors, y, n, ks=KS), None)
    np.testing.assert_allclose(served.blend(q_text, query), expected)


def test_the_stack_choice_keeps_the_blend_when_the_blend_is_already_right_everywhere(blended):
    shipped, _ = blended
    items, leads, vectors, _ = twins()
    model = RoutingModel(RoutingParams(knn_blend=True, co_min_count=3, blend_choice="stack")).fit(
        items, leads, vectors=vectors, vector_spec=SPEC)
    info = model.validation_["knn"]
    assert info["oof_macro_f1"] == pytest.approx(1.0) and info["stack"] == {"adopted": False,
                                                                          "blend_oof_macro_f1": info["oof_macro_f1"]}
    assert model.knn_.stack is None and (model.knn_.k, model.knn_.weight) == (shipped.knn_.k, shipped.knn_.weight)
