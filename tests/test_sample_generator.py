"""The sample-data generator (data/samples/generate.py) reproduces the committed sample files byte for byte."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
OUTPUTS = ["departments.json", "closed_cases.csv", "open_batch.csv", "duplicate_labels.csv"]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    # a hash seed other than the usual random one: the output must not depend on it
    env = {**os.environ, "PYTHONHASHSEED": "1"}
    subprocess.run([sys.executable, str(SAMPLES / "generate.py"), "--out", str(out)], check=True, env=env,
                   capture_output=True, timeout=300)
    return out


def test_generator_writes_exactly_the_sample_files(regenerated):
    assert sorted(p.name for p in regenerated.iterdir()) == sorted(OUTPUTS)


@pytest.mark.parametrize("name", OUTPUTS)
def test_regenerated_file_matches_committed(regenerated, name):
    new, committed = (regenerated / name).read_bytes(), (SAMPLES / name).read_bytes()
    if new != committed:  # report where, rather than letting pytest diff megabytes
        lines_new, lines_old = new.splitlines(), committed.splitlines()
        at = next((i for i, (a, b) in enumerate(zip(lines_new, lines_old)) if a != b), min(len(lines_new),
                                                                                            len(lines_old)))
        pytest.fail(f"{name}: the regenerated file differs from data/samples/{name} from line {at + 1} on "
                    f"({len(new)} vs {len(committed)} bytes)")
