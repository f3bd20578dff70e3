"""benchmarks/bench_knn_blend.py: skips cleanly without an encoder, and its tables render from a report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_skips_cleanly_without_an_encoder(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_knn_blend.py"), "--encoder",
                          str(tmp_path / "none"), "--data", str(tmp_path)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "skipped: no encoder" in run.stdout
    assert not (tmp_path / "knn_blend.json").exists()


def test_tables_render_every_figure():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_knn_blend as b
    from bench_threshold import rule_summary

    from training.stats import paired_comparison

    truth = ["a", "b", "a", "c"] * 10
    good, worse = [[t, "x"] for t in truth], [["a", "x"]] * 40
    st = paired_comparison(truth, good, worse, resamples=50)
    hits = np.array([True, False, True, True] * 10)
    rules = {s: rule_summary(hits, np.ones(40, bool) if s == "blend" else np.zeros(40, bool), 0.95)
             for s in ("blend", "text")}
    report = {"machine": {"cpu": "cpu", "cores": 2, "memory_gib": 1, "platform": "p", "python": "3"},
              "versions": {}, "command": "c", "date": "d", "runtime_s": 1.0,
              "nested": {"titles": {"rows": 40, "folds": 5, "rules": rules, "blend_vs_text": st, "blend_vs_svc": st,
                                    "per_fold": [{"knn": {"k": 5, "weight": 0.5}}]}},
              "proxies": {"samples": {"per_unit": 30, "runs": [
                  {"seed": 0, "n_train": 10, "n_test": 40, "rules": {
                      "blend": {**rules["blend"], "certified": True}, "text": {**rules["text"], "certified": False}},
                   "blend_vs_text": st, "blend_vs_svc": st}]}}}
    md = b.markdown(report)
    assert "| titles (40) | `blend` | 100.0% " in md and "75.0%" in md
    assert "nothing auto-assigned" in md and "cannot certify" in md
    assert "k 5 w 0.5" in md and "+" in md


def test_each_variant_writes_its_own_results_file():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_knn_blend as b

    from models.classifier import RoutingParams

    assert b.results_name(False, "stack", (2, 3), "lead") == "knn_blend"
    assert b.results_name(False, "coverage", (2, 3), "lead") == "knn_blend_by_coverage"
    assert b.results_name(True, "stack", (2, 3), "lead") == "knn_blend_vote_only"
    assert b.results_name(False, "log_loss", (2, 3), "lead") == "knn_blend_by_log_loss"
    assert b.results_name(False, "stack", (1, 3), "chunks") == "knn_blend_char13_chunks"
    shipped = RoutingParams().stack_readers
    assert b.results_name(False, "stack", (2, 3), "lead", shipped) == "knn_blend"
    other = ("words",) if shipped != ("words",) else ("rbf",)
    assert b.results_name(False, "stack", (2, 3), "lead", other) == f"knn_blend_readers_{other[0]}"
    if shipped:
        assert b.results_name(False, "stack", (2, 3), "lead", ()) == "knn_blend_readers_none"


def test_proxy_accuracy_averages_the_seeds_against_the_svc():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_knn_blend as b

    def run(diff: float, top3: float) -> dict:
        return {"blend_vs_svc": {"diff": {"top1": {"value": diff}}, "candidate": {"top3": {"value": top3}}}}

    report = {"proxies": {"samples": {"runs": [run(0.01, 0.90), run(-0.03, 1.0)]}}}
    assert b.proxy_accuracy(report) == "samples top-1 − SVC -1.0 points (seeds -3.0 to +1.0), top-3 0.950"


def test_a_paired_variant_renders_its_difference_against_the_shipped_blend():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_knn_blend as b
    from bench_threshold import rule_summary

    truth = ["a", "b", "a", "c"] * 10
    good, worse = [[t, "x"] for t in truth], [["a", "x"]] * 40
    st = b.paired_p(truth, good, worse)
    shipped = rule_summary(np.array([True, False] * 20), np.ones(40, bool), 0.95)
    run = {"nested": {"titles": {"blend_vs_shipped": st, "shipped_rules": shipped}},
           "proxies": {"samples": {"runs": [{"seed": 3, "blend_vs_shipped": st,
                                             "shipped_rules": {**shipped, "certified": False, "accepted": 0}}]}}}
    text = "\n".join(b.against_shipped(run, ("new", "old")))
    assert "Paired, new minus old" in text
    assert "| titles | nested | +50.0 (" in text and "100.0% at 50.0%" in text
    assert "| samples | seed 3 |" in text and "cannot certify" in text
    assert b.against_shipped({"nested": {"titles": {}}}, ("new", "old")) == []


def test_fit_ranges_give_each_part_its_fastest_and_slowest_fit():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_knn_blend as b

    parts = [("titles", [{"fit_s": 25.4}, {"fit_s": 34.6}]), ("old", [{}]), ("samples", [{"fit_s": 40.0}])]
    assert b.fit_ranges(parts) == "titles 25–35 s, samples 40–40 s"
    assert b.fit_ranges([("old", [{}])]) == "not recorded"
