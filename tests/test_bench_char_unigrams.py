"""benchmarks/bench_char_unigrams.py: its table and decision render from a report, and the decision can refuse."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def _report(gain: bool) -> dict:
    from bench_e5_stack import paired

    truth = ["a", "b", "a", "c"] * 10
    good, worse = [[t, "x"] for t in truth], [["a", "x"]] * 40
    after, before = (good, worse) if gain else (worse, good)
    entry = {"set": "tipdm_titles", "split": "grouped 5-fold", "folds": 5, "n_test": 40, "n_train": 160,
             "fit_s": {"before": 1.0, "after": 1.0},
             "after_vs_before": paired(truth, after, before, 200), "after_vs_svc": paired(truth, after, good, 200),
             "before_vs_svc": paired(truth, before, good, 200),
             "before": {"coverage": 0.0, "precision": None}, "after": {"coverage": 0.5, "precision": 0.96}}
    return {"machine": {"cpu": "cpu", "cores": 2, "memory_gib": 1, "platform": "p", "python": "3"},
            "versions": {}, "command": "c", "date": "d", "runtime_s": 1.0, "quick": False,
            "result": {"tipdm_titles / grouped 5-fold": entry}}


def test_the_table_shows_each_figure_and_adopts_a_significant_gain():
    import bench_char_unigrams as b

    text = b.markdown(_report(gain=True))
    assert "| tipdm_titles | grouped 5-fold | 160/40 |" in text
    assert "all to review → 50.0% at 96.0%" in text
    assert "**Adopted**" in text


def test_a_loss_is_not_adopted():
    import bench_char_unigrams as b

    text = b.markdown(_report(gain=False))
    assert "Not adopted" in text and "tipdm_titles grouped 5-fold" in text


def test_without_tipdm_there_is_no_decision():
    import bench_char_unigrams as b

    report = _report(gain=True)
    report["result"]["tipdm_titles / grouped 5-fold"]["set"] = "samples"
    assert "no decision" in b.markdown(report)
