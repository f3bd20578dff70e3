import numpy as np
from scipy import sparse

from models.cohandlers import CoHandlerModel, PartnerCounts, best_f1_threshold


def test_partner_shares_follow_the_lead_and_fall_back_to_the_base_rate():
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    counts = PartnerCounts(["a", "a", "b", "b"], Y, smoothing=1.0)
    shares = np.exp(counts.log_shares(["a", "b", "new"]))
    assert shares[0, 0] > shares[1, 0] and shares[1, 1] > shares[0, 1]  # each lead's usual partner ranks higher
    np.testing.assert_allclose(shares[2], counts.base)  # a lead never seen: the units' overall shares


def test_best_f1_threshold_separates_clean_scores():
    Y = np.array([[1, 0], [0, 1], [0, 0]])
    t, stats = best_f1_threshold(np.array([[0.9, 0.1], [0.2, 0.8], [0.1, 0.1]]), Y)
    assert 0.2 <= t < 0.8 and stats["f1"] == 1.0


def lead_driven_data(n=120, seed=0):
    """Word 0..3 carry no co-handler signal; the co-handler is fixed by the lead (a → x, b → y)."""
    rng = np.random.default_rng(seed)
    X = sparse.csr_matrix(rng.random((n, 4)) + 0.01)
    leads = ["a" if i % 2 == 0 else "b" for i in range(n)]
    co = [["x"] if lead == "a" else ["y"] for lead in leads]
    folds = [(np.setdiff1d(np.arange(n), np.arange(k, n, 4)), np.arange(k, n, 4)) for k in range(4)]
    return X, leads, co, folds


def test_the_lead_conditioned_model_learns_partners_the_text_does_not_show():
    X, leads, co, folds = lead_driven_data()
    bounds, cal = [(0, 4, 1)], np.arange(X.shape[0])
    with_lead = CoHandlerModel(use_lead=True).fit(X, leads, co, folds, bounds, cal)
    text_only = CoHandlerModel(use_lead=False).fit(X, leads, co, folds, bounds, cal)
    p = with_lead.proba(X[:2], ["a", "b"])
    x, y = list(with_lead.classes_).index("x"), list(with_lead.classes_).index("y")
    assert p[0, x] > 0.8 and p[1, y] > 0.8 and p[0, y] < 0.2
    assert with_lead.validation_["f1"] > text_only.validation_["f1"] + 0.3
    assert with_lead.proba(X[:1], ["x"])[0, x] == 0.0  # the lead is never its own co-handler


def test_too_few_co_handled_items_leave_no_model():
    X, leads, _, folds = lead_driven_data()
    model = CoHandlerModel(min_count=3).fit(X, leads, [[] for _ in leads], folds, [(0, 4, 1)], np.arange(120))
    assert model.text_ is None



def test_a_bundle_saved_before_the_lead_conditioned_model_still_suggests_co_handlers():
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.svm import LinearSVC

    from models.classifier import RoutingModel, RoutingParams
    from tests.models.test_classifier import toy_data

    items, leads, co = toy_data()
    model = RoutingModel(RoutingParams(co_min_count=3)).fit(items, leads, co)
    X = model.transform(items)[:, : model.co_columns_]
    Y = model.co_binarizer_.transform(co)
    model.co_model_ = OneVsRestClassifier(LinearSVC()).fit(X, Y)  # the earlier fitted state
    model.co_platt_ = (1.0, 0.0)
    p = model.co_proba(items)
    assert p.shape == (len(items), len(model.co_binarizer_.classes_)) and ((0 < p) & (p < 1)).all()
