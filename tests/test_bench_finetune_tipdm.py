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
