"""The promotion guard: paired bootstrap intervals, McNemar's exact test, and the decision they lead to."""

import random

import pytest

from training.stats import paired_comparison, promotion_decision


def _answers(truth, accuracy, seed):
    rnd = random.Random(seed)
    return [[t, "other"] if rnd.random() < accuracy else ["other", t] for t in truth]


TRUTH = [f"u{i % 7}" for i in range(300)]


def test_identical_models_differ_by_nothing_and_are_not_refused():
    answers = _answers(TRUTH, 0.85, 1)
    stats = paired_comparison(TRUTH, answers, answers, resamples=300)
    assert stats["diff"]["top1"] == {"value": 0.0, "ci": [0.0, 0.0]}
    assert stats["mcnemar"] == {"only_active_right": 0, "only_candidate_right": 0, "p_value": 1.0}
    lo, hi = stats["candidate"]["top1"]["ci"]
    assert lo < stats["candidate"]["top1"]["value"] < hi and hi - lo < 0.15
    decision = promotion_decision(stats, tolerance=0.005, min_test=100)
    assert decision["allowed"] and not decision["refused"]


def test_a_clearly_worse_candidate_is_refused():
    good, bad = _answers(TRUTH, 0.9, 1), _answers(TRUTH, 0.9, 1)
    for i in range(0, 300, 5):  # the candidate gets every fifth item wrong
        bad[i] = ["other", TRUTH[i]]
    stats = paired_comparison(TRUTH, bad, good, resamples=300)
    assert stats["diff"]["top1"]["value"] < -0.1 and stats["diff"]["top1"]["ci"][1] < 0
    assert stats["mcnemar"]["only_candidate_right"] == 0 and stats["mcnemar"]["p_value"] < 1e-6
    decision = promotion_decision(stats, tolerance=0.005, min_test=100)
    assert decision["refused"] and not decision["allowed"] and "显著" in decision["reason"]


def test_a_drop_within_the_tolerance_or_not_significant_is_not_refused():
    good = _answers(TRUTH, 0.9, 1)
    slightly = list(good)
    first_right = next(i for i, a in enumerate(good) if a[0] == TRUTH[i])
    slightly[first_right] = ["other", TRUTH[first_right]]  # one item: 0.3 % lower
    stats = paired_comparison(TRUTH, slightly, good, resamples=200)
    assert not promotion_decision(stats, tolerance=0.005, min_test=100)["refused"]
    assert not promotion_decision(stats, tolerance=0.0, min_test=100)["refused"]  # beyond tolerance, not significant


def test_a_small_test_warns_and_does_not_promote_automatically():
    truth = TRUTH[:40]
    answers = _answers(truth, 0.9, 2)
    decision = promotion_decision(paired_comparison(truth, answers, answers, resamples=100), tolerance=0.005,
                                  min_test=100)
    assert decision["small_test"] and not decision["allowed"] and not decision["refused"]
    assert "40" in decision["reason"] and "100" in decision["reason"]
    assert promotion_decision(paired_comparison(truth, answers, answers, resamples=100), tolerance=0.005,
                              min_test=30)["allowed"]


def test_macro_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    answers = _answers(TRUTH, 0.7, 3)
    stats = paired_comparison(TRUTH, answers, answers, resamples=10)
    expected = f1_score(TRUTH, [a[0] for a in answers], labels=sorted(set(TRUTH)), average="macro", zero_division=0)
    assert stats["candidate"]["macro_f1"]["value"] == pytest.approx(expected)


def test_no_cases_is_an_error():
    with pytest.raises(ValueError):
        paired_comparison([], [], [])
