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
