import io

import joblib
import numpy as np
import pytest

from models.classifier import RoutingModel, RoutingParams
from models.features import blocks
from models.stack_readers import ABSENT, LOG_FLOOR, READERS, fit_readers, out_of_fold_readers
from tests.models.test_classifier import toy_data
from tests.models.test_knn_vote import SPEC


@pytest.fixture(scope="module")
def toy():
    """The toy topics' text features and labels, and vectors that tell the topics apart (noisily)."""
    items, leads, _ = toy_data(n_per_topic=12, seed=0)
    model = RoutingModel(RoutingParams()).fit(items, leads)
    X = model.transform(items)
    y = np.searchsorted(model.classes_, leads)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(len(model.classes_), 8))
    vectors = (centres[y] + 0.3 * rng.normal(size=(len(y), 8))).astype(np.float32)
    return model, X, y, vectors


def test_each_reader_scores_every_class_and_marks_the_unseen_one(toy):
    model, X, y, vectors = toy
    n_classes = len(model.classes_) + 1  # one more unit, with no training item
    readers = fit_readers(READERS, X, y, vectors, n_classes, blocks(model.features_)[0][1])
    scores = readers.scores(X, vectors)
    assert [s.shape for s in scores] == [(len(y), n_classes)] * len(READERS)
    for name, s in zip(READERS, scores):
        assert (s[:, -1] == (LOG_FLOOR if name == "cnb" else ABSENT)).all(), name
        assert (s[:, :-1].argmax(axis=1) == y).mean() > 0.9, name  # each reads its own training items right
    cnb = scores[READERS.index("cnb")][:, :-1]
    np.testing.assert_allclose(np.exp(cnb).sum(axis=1), 1.0, rtol=1e-5)  # log probabilities over the seen units


def test_scores_are_the_weights_product_and_the_serving_copies_are_never_saved(toy):
    from scipy.special import log_softmax

    model, X, y, vectors = toy
    readers = fit_readers(("words", "rest", "cnb"), X, y, None, len(model.classes_), blocks(model.features_)[0][1])
    words, rest, cnb = readers.scores(X, None)  # the first call makes the column-first copies
    classes, coef, b = readers.linear["words"]
    np.testing.assert_allclose(words[:, classes], X[:, : readers.word_stop] @ coef.T.astype(np.float64) + b)
    nb_classes, flp = readers.nb
    np.testing.assert_allclose(cnb[:, nb_classes], np.maximum(log_softmax(X @ flp.T.astype(np.float64), axis=1),
                                                              LOG_FLOOR))
    assert set(readers._columns_first) == {"words", "rest", "cnb"}
    buffer = io.BytesIO()
    joblib.dump(readers, buffer)
    reloaded = joblib.load(io.BytesIO(buffer.getvalue()))
    assert reloaded._columns_first == {}  # not in the bundle: made again where it serves
    for a, b_ in zip(reloaded.scores(X, None), (words, rest, cnb)):
        np.testing.assert_array_equal(a, b_)


def test_words_reads_only_the_first_block_and_rest_the_others(toy):
    model, X, y, vectors = toy
    stop = blocks(model.features_)[0][1]
    readers = fit_readers(("words", "rest"), X, y, None, len(model.classes_), stop)
    words, rest = readers.scores(X, None)
    X_words = X.tolil()
    X_words[:, stop:] = 0
    words_only, rest_blank = readers.scores(X_words.tocsr(), None)
    np.testing.assert_allclose(words_only, words)
    assert not np.allclose(rest_blank, rest)


def test_a_row_out_of_fold_scores_do_not_depend_on_its_own_label(toy):
    model, X, y, vectors = toy
    cal = np.arange(len(y))
    folds = [np.arange(i, len(y), 4) for i in range(4)]
    bounds = blocks(model.features_)
    before = out_of_fold_readers(READERS, X, y, cal, folds, bounds, vectors, len(model.classes_))
    relabelled = y.copy()
    row = folds[0][0]
    relabelled[row] = (y[row] + 1) % len(model.classes_)
    after = out_of_fold_readers(READERS, X, relabelled, cal, folds, bounds, vectors, len(model.classes_))
    for name, b, a in zip(READERS, before, after):
        np.testing.assert_allclose(a[folds[0]], b[folds[0]], err_msg=name)  # its fold's readers never saw it
        assert not np.allclose(a[folds[1]], b[folds[1]]), name  # the other folds' readers learnt the new label


def test_an_unknown_reader_is_refused_by_name(toy):
    model, X, y, vectors = toy
    with pytest.raises(ValueError, match="bm25"):
        fit_readers(("words", "bm25"), X, y, vectors, len(model.classes_), 10)
    with pytest.raises(ValueError, match="vectors"):
        fit_readers(("rbf",), X, y, None, len(model.classes_), 10)


@pytest.fixture(scope="module")
def stacked_with_readers():
    """Toy topics with a twin unit told apart only by noisy vectors: there the stack with readers is adopted."""
    items, leads, _ = toy_data(n_per_topic=12, seed=0)
    zjj = [it for it, lead in zip(items, leads) if lead == "zjj"]
    items, leads = items + zjj, leads + ["czj"] * len(zjj)
    rng = np.random.default_rng(0)
    centres = {lab: rng.normal(size=16) for lab in sorted(set(leads))}
    vectors = np.array([centres[lab] + 2.0 * rng.normal(size=16) for lab in leads], dtype=np.float32)
    params = RoutingParams(knn_blend=True, co_min_count=3, stack_readers=READERS)
    model = RoutingModel(params).fit(items, leads, vectors=vectors, vector_spec=SPEC)
    return model, items, vectors


def test_a_model_with_readers_serves_them_and_keeps_them_in_its_bundle(stacked_with_readers):
    model, items, vectors = stacked_with_readers
    stack = model.knn_.stack
    assert stack is not None and stack.readers is not None and stack.readers.names == READERS
    weights = model.validation_["knn"]["stack"]["weights"]
    assert set(READERS) <= set(weights) and any(weights[name] != 0 for name in READERS)
    X = model.transform(items[:6])
    served, _, blended = model.serving_proba(X, vectors[:6])
    assert blended and served.shape == (6, len(model.classes_))
    np.testing.assert_allclose(served.sum(axis=1), 1.0)
    # the readers count: the same stack with their scores blanked serves other probabilities
    from models.knn_stack import _apply, stack_features
    from models.knn_vote import knn_votes

    knn, n = model.knn_, len(model.classes_)
    votes = knn_votes(vectors[:6], knn.vectors, knn.labels, n, ks=stack.ks)
    head = knn.head.proba(vectors[:6]) if stack.uses_head else None
    blank = [np.zeros((6, n))] * len(READERS)
    features = stack_features(model.predict_proba(X=X), votes, head, stack.ks, blank)
    assert not np.allclose(_apply(features, stack.coef, stack.intercept), served)
    with pytest.raises(ValueError, match="text features"):
        model.knn_.blend(model.predict_proba(X=X), vectors[:6])
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_allclose(loaded.serving_proba(X, vectors[:6])[0], served)
    assert RoutingParams.from_dict(model.params.to_dict()).stack_readers == READERS


def test_the_training_report_names_what_the_stack_reads(stacked_with_readers):
    from models.stack_readers import stack_sources

    model, _, _ = stacked_with_readers
    text = stack_sources(model.knn_.stack)
    assert text.startswith("文本模型、最相似往年案件的投票") and text.endswith("和语义向量核模型")
    assert "补集朴素贝叶斯" in text
