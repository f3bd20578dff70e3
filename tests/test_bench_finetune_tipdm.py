"""benchmarks/bench_finetune_tipdm.py: --help works and a missing data folder is a clean skip (no model loaded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_finetune_tipdm.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_help_lists_the_options():
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    for option in ("--data", "--encoder", "--epochs", "--max-seq-length", "--n-test", "--quick", "--folds",
                   "--json", "--doc-only"):
        assert option in done.stdout


def test_missing_data_folder_is_a_clean_skip(tmp_path):
    out = tmp_path / "result.json"
    doc = tmp_path / "doc.md"
    done = _run("--data", str(tmp_path / "absent"), "--encoder", str(tmp_path / "no-encoder"), "--json", str(out),
                "--doc", str(doc))
    assert done.returncode == 0, done.stderr
    assert "skipped: no messages_with_replies.csv" in done.stdout
    assert not out.exists() and not doc.exists()


@pytest.mark.parametrize("name", ["finetune-tipdm"])
def test_run_all_lists_it(name):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run_all import BENCHMARKS

    assert BENCHMARKS[name][0].split()[0] == SCRIPT.name


def test_duplicates_never_straddle_folds():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_finetune_tipdm import group_ids, grouped_folds

    filler = "希望有关部门尽快派人维修，" * 5  # bodies longer than the compared opening
    rows = [(f"关于第{i}号路灯不亮的问题", f"第{i}号路灯已经坏了{i}天，居民夜间出行不便。{filler}", "已转交处理。")
            for i in range(40)]
    rows += [("关于第3号路灯不亮的问题！", "另一段完全不同的正文，说的也是这盏灯。", "已答复。"),  # same title
             ("别的标题", f"第7号路灯已经坏了7天，居民夜间出行不便。{filler}还有补充。", "已答复。")]  # same body opening
    groups = group_ids(rows)
    assert groups[40] == groups[3] and groups[41] == groups[7]
    assert len(set(groups)) == 40
    folds = grouped_folds(groups, 2, seed=0)
    assert sorted(i for f in folds for i in f) == list(range(len(rows)))
    fold_of = {i: k for k, f in enumerate(folds) for i in f}
    assert fold_of[40] == fold_of[3] and fold_of[41] == fold_of[7]
    assert abs(len(folds[0]) - len(folds[1])) <= 2
    assert grouped_folds(groups, 2, seed=0) == folds  # fixed seed, same split


def test_a_single_fold_merges_only_into_the_same_split(tmp_path):
    import argparse
    import json

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_finetune_tipdm import earlier_folds

    settings = {"rows": 10, "groups": 9, "n_folds": 2, "seed": 0,
                "params": {"epochs": 1, "batch_size": 32, "learning_rate": 2e-5, "max_seq_length": 128}}
    saved = tmp_path / "r.json"
    fold0 = {"fold": 0, "scored": 5, "heldout_rows": 5}
    saved.write_text(json.dumps({"quick": False, "result": {**settings, "folds": [fold0]}}), encoding="utf-8")
    args = argparse.Namespace(json=saved, quick=False, n_test=600, fold=1)
    assert earlier_folds(args, settings) == [fold0]
    assert earlier_folds(argparse.Namespace(json=saved, quick=False, n_test=600, fold=0), settings) == []
    assert earlier_folds(args, {**settings, "seed": 1}) == []
    assert earlier_folds(argparse.Namespace(json=saved, quick=True, n_test=600, fold=1), settings) == []
    assert earlier_folds(argparse.Namespace(json=tmp_path / "none.json", quick=False, n_test=600, fold=1),
                         settings) == []


def test_the_hybrid_is_reported_beside_dense_and_pooled_only_when_every_fold_has_it():
    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_finetune_tipdm import TASKS, markdown, pooled, summarise

    rng = np.random.default_rng(0)

    def fold(k: int, hybrid: bool) -> dict:
        rr = {t: {"before": rng.choice([0, 0.5, 1.0], 50).tolist(), "after": rng.choice([0.5, 1.0], 50).tolist()}
              for t in TASKS}
        f = {"fold": k, "train_rows": 10, "train_pairs": 20, "heldout_rows": 50, "scored": 50, "steps": 1,
             "train_s": 60.0, "eval_before_s": 6.0, "eval_after_s": 6.0, "rr": rr,
             "tasks": {t: summarise(np.array(rr[t]["before"]), np.array(rr[t]["after"]), 0) for t in TASKS}}
        if hybrid:
            f["hybrid_rr"] = {t: {"before": [1.0] * 50, "after": [1.0] * 49 + [0.0]} for t in TASKS}
            f["hybrid_tasks"] = {t: summarise(np.ones(50), np.array([1.0] * 49 + [0.0]), 0) for t in TASKS}
        return f

    folds = [fold(0, True), fold(1, False)]
    assert pooled(folds, 0, "hybrid_rr") == {} and pooled(folds, 0)["a"]["n"] == 100
    res = {"rows": 100, "groups": 90, "n_folds": 2, "seed": 0, "folds": folds, "pooled": pooled(folds, 0),
           "pooled_hybrid": {}, "params": {"epochs": 1, "batch_size": 32, "learning_rate": 2e-5,
                                           "max_seq_length": 128}}
    machine = {"cpu": "cpu", "cores": 2, "memory_gib": 23.5, "platform": "linux", "python": "3.11"}
    text = markdown({"result": res, "command": "x", "date": "2026-12-03", "machine": machine, "versions": {}})
    dense, rest = text.split("Dense alone:")[1].split("Hybrid (BM25 + the same encoder")
    hybrid, verdict = rest.split("On unseen pairs, dense alone")
    assert dense.count("both folds") == 2  # pooled dense rows, one per task
    assert "fold(s) 0 only" in hybrid and "both folds" not in hybrid  # one fold: nothing pooled
    assert hybrid.count("| fold 0 | 50 | 1.000 [1.000, 1.000] | 0.980 [") == 2 and "| fold 1 |" not in hybrid
    assert "On unseen pairs, hybrid (fold 0 only)" in verdict
