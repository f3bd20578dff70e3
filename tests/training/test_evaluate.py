"""Backtest metrics: each item is judged against the review threshold of the model that scored it."""

import pytest

from training.evaluate import Predictions, metrics_from


def _pred(rows):
    """rows: (truth, top1, confidence, threshold of the fold's model)."""
    p = Predictions()
    for truth, top, conf, thr in rows:
        p.truth.append(truth)
        p.ranked.append([top, "other"])
        p.confidence.append(conf)
        p.co_truth.append(set())
        p.co_pred.append(set())
        p.thresholds.append(thr)
    return p


def test_coverage_uses_each_folds_own_threshold():
    # Fold 1 (threshold 0.9): one item above, correct. Fold 2 (threshold 0.5): both above, one wrong.
    pred = _pred([("a", "a", 0.95, 0.9), ("a", "b", 0.80, 0.9), ("b", "b", 0.60, 0.5), ("b", "a", 0.55, 0.5)])
    m = metrics_from(pred)
    assert m["coverage_at_threshold"] == pytest.approx(3 / 4)
    assert m["precision_at_threshold"] == pytest.approx(2 / 3)
    assert m["thresholds"] == [0.5, 0.9]
    assert m["threshold"] == pytest.approx(0.7)


def test_a_single_model_reports_its_threshold():
    pred = _pred([("a", "a", 0.95, 0.8), ("a", "b", 0.70, 0.8)])
    m = metrics_from(pred)
    assert m["threshold"] == pytest.approx(0.8) and m["coverage_at_threshold"] == 0.5
    assert m["precision_at_threshold"] == 1.0


def test_the_promise_is_judged_with_an_exact_interval():
    pred = _pred([("a", "a", 0.95, 0.9)] * 19 + [("a", "b", 0.92, 0.9), ("b", "b", 0.5, 0.9)])
    promise = metrics_from(pred)["promise"]
    assert promise["accepted"] == 20 and promise["correct"] == 19 and promise["status"] == "met"
    assert promise["ci"][0] == pytest.approx(0.7513, abs=1e-3) and promise["ci"][1] == pytest.approx(0.9987, abs=1e-3)
    assert "达到目标 95%" in promise["text"] and "95% 区间 75.1%–99.9%" in promise["text"]


def test_a_model_that_could_not_certify_assigns_nothing_and_says_so():
    pred = _pred([("a", "a", 0.99, 0.9), ("a", "b", 0.95, 0.9)])
    pred.certified = [False, False]
    m = metrics_from(pred)
    assert m["coverage_at_threshold"] == 0.0 and m["promise"]["status"] == "uncertified"
    assert m["promise"]["text"].startswith("无法认证")
    pred.certified = [True, False]  # one fold's model certified, the other's did not
    promise = metrics_from(pred)["promise"]
    assert promise["accepted"] == 1 and promise["certified_share"] == 0.5 and "无法认证阈值" in promise["text"]
