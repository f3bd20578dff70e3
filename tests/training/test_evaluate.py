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
