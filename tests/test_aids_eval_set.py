"""The reply aids' labelled evaluation set (data/samples/aids_eval.py) is reproduced byte for byte, has the size the
acceptance asks for, and keeps its dev and test parts apart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
NAMES = ["coverage", "categories", "admissibility", "redaction"]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("aids_eval")
    subprocess.run([sys.executable, str(SAMPLES / "aids_eval.py"), "--out", str(out)], check=True,
                   capture_output=True, timeout=300)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_the_set_is_reproduced(regenerated, name):
    assert (regenerated / f"{name}.jsonl").read_bytes() == (SAMPLES / "aids_eval" / f"{name}.jsonl").read_bytes()


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (SAMPLES / "aids_eval" / f"{name}.jsonl").read_text("utf-8").splitlines()]


def test_the_set_is_as_large_as_the_acceptance_asks():
    assert len(load("coverage")) >= 60
    assert len(load("categories")) >= 100
    adm = load("admissibility")
    assert sum(i["multi_matter"] or bool(i["ground"]) for i in adm) >= 40
    assert sum(bool(i["spans"]) for i in load("redaction")) >= 50


def test_coverage_dev_and_test_share_no_topic():
    items = load("coverage")
    dev = {i["topic"] for i in items if i["split"] == "dev"}
    test = {i["topic"] for i in items if i["split"] == "test"}
    assert dev and test and not dev & test
