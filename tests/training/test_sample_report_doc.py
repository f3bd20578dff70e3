"""The sample report in docs/sample-report/ (benchmarks/sample_report.py) says what the command printed: the log's
figures equal report.json's, the page shows them, and the README quotes them and links the page."""

import json
import re

import pytest

from tests.conftest import ROOT
from training.report import pct

DOC = ROOT / "docs" / "sample-report"


@pytest.fixture(scope="module")
def sample():
    if not (DOC / "report.json").is_file():
        pytest.fail("docs/sample-report/ is missing: run benchmarks/sample_report.py")
    return (json.loads((DOC / "report.json").read_text(encoding="utf-8")),
            (DOC / "log.txt").read_text(encoding="utf-8"), (DOC / "report.html").read_text(encoding="utf-8"))


def test_the_log_has_timestamped_progress_lines(sample):
    _, log, _ = sample
    steps = re.findall(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[(\d)/(\d)\] (.+)$", log, flags=re.M)
    assert [int(n) for n, _, _ in steps][0] == 1 and {t for _, t, _ in steps} == {"5"}
    assert any("未见过" in text for *_, text in steps)


def test_the_figures_printed_are_those_of_the_report(sample):
    figures, log, html = sample
    assert figures["evaluation"]["mode"] == "unseen" and figures["evaluation"]["n"] >= 100
    for side in ("candidate", "active"):
        for key in ("top1", "top3", "macro_f1"):
            value, (lo, hi) = figures[side]["metrics"][key], figures[side]["intervals"][key]
            assert f"{pct(value)}（{lo:.1%}–{hi:.1%}）" in log
            assert f"<td>{pct(value)}</td><td>{lo:.1%}–{hi:.1%}</td>" in html
    in_service = figures["threshold"]["in_service"]
    assert f"在用复核阈值 {in_service:.3f}" in log and f"在用复核阈值 <b>{in_service:.3f}</b>" in html
    assert figures["decision"]["reason"] in log.replace("\n", "")


def test_the_readme_links_the_sample_report_and_quotes_its_figures(sample):
    figures, _, _ = sample
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/sample-report/report.html" in readme and "docs/sample-report/charts/coverage_precision.svg" in readme
    section = readme.split("<!-- figures:sample-report -->")[1].split("<!-- /figures:sample-report -->")[0]
    for side in ("candidate", "active"):
        assert pct(figures[side]["metrics"]["top1"]) in section
    assert f"{figures['threshold']['in_service']:.3f}" in section
    for name in ("metrics", "coverage_precision", "reliability", "per_unit"):
        assert (DOC / "charts" / f"{name}.svg").stat().st_size > 1000
