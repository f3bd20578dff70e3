"""benchmarks/bench_distill.py: --help, a clean skip without data, no held-out text trained on, and its verdict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_distill.py"
sys.path.insert(0, str(ROOT / "benchmarks"))


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_help_and_a_clean_skip(tmp_path):
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    for option in ("--data", "--encoder", "--keep", "--epochs", "--unlabeled", "--json", "--doc-only"):
        assert option in done.stdout
    out, doc = tmp_path / "r.json", tmp_path / "doc.md"
    done = _run("--data", str(tmp_path / "absent"), "--json", str(out), "--doc", str(doc))
    assert done.returncode == 0, done.stderr
    assert "skipped: no messages_with_replies.csv" in done.stdout
    assert not out.exists() and not doc.exists()


def test_unlabelled_messages_near_a_held_out_row_are_left_out(tmp_path):
    from bench_distill import row_keys, unlabeled_rows

    body = "滨江路的路灯已经坏了十天，居民夜间出行不便，" + "希望有关部门尽快派人维修，" * 5  # past the compared opening
    held = row_keys("关于滨江路路灯不亮的问题", body)
    (tmp_path / "unlabeled_messages_a.csv").write_text(
        "title,time,body\n"
        "关于滨江路路灯不亮的问题！,2019/1/1,另一段正文。\n"  # same title subject
        f"别的标题,2019/1/2,{body}还有补充\n"  # same opening
        "关于农贸市场卫生的问题,2019/1/3,农贸市场地面脏乱。\n", encoding="utf-8")
    assert unlabeled_rows(tmp_path, held) == [("关于农贸市场卫生的问题", "农贸市场地面脏乱。", "")]


def _task(diff: float) -> dict:
    side = {"mrr10": 0.8, "ci95": [0.78, 0.82], "recall10": 0.9, "recall1": 0.7}
    return {"n": 600, "before": side, "after": {**side, "mrr10": 0.8 + diff},
            "diff": {"diff": diff, "ci95": [diff - 0.01, diff + 0.01], "p": 0.01, "wilcoxon_p": 0.02}}


def test_the_verdict_follows_the_largest_loss():
    from bench_distill import MAX_LOSS, markdown

    def report(diff_b: float) -> dict:
        result = {"fold": 0, "rows": 2114, "train_rows": 1057, "unlabeled_rows": 5252, "texts": 14000, "scored": 600,
                  "params": {"keep": [0, 2, 4, 7, 9, 11], "epochs": 2, "batch_size": 32, "learning_rate": 1e-4,
                             "warmup": 0.1, "max_seq_length": 160},
                  "train_s": 1800.0, "speed_texts_per_s": {"teacher": 20.0, "student": 39.0}, "speed_texts": 160,
                  "heldout_cosine": 0.97,
                  "tasks": {"a": {"dense": _task(-0.001), "hybrid": _task(0.0)},
                            "b": {"dense": _task(diff_b), "hybrid": _task(diff_b / 2)}}}
        result["adopted"] = diff_b >= -MAX_LOSS
        machine = {"cpu": "cpu", "cores": 2, "memory_gib": 23.5, "platform": "linux", "python": "3.11"}
        return {"result": result, "machine": machine, "versions": {"torch": "2.13.0"}, "command": "x",
                "date": "2026-12-03"}

    kept = markdown(report(-0.004))
    assert "Adopted" in kept and "× 1.95" in kept
    refused = markdown(report(-0.03))
    assert "Not adopted" in refused and "largest loss 0.030" in refused
