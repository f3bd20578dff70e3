"""The evaluation report: every chart is a non-empty image with labelled axes, the page and report.json carry the
same numbers as the command prints, the threshold shown is the one the service uses, and a log gets timestamps."""

import json
import re
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from models.bundle import BundleStore, load_bundle
from models.service import RoutingService
from training.charts import all_charts
from training.cli import app
from training.report import pct

SVG = "{http://www.w3.org/2000/svg}"
runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.training.test_cli import make_workspace

    work = make_workspace(tmp_path_factory.mktemp("report"))
    common = ["--departments", str(work / "departments.json"), "--models-dir", str(work / "models"), "--no-index"]
    first = runner.invoke(app, ["train", str(work / "cases.csv"), *common, "--promote"])
    second = runner.invoke(app, ["train", str(work / "cases.csv"), *common, "--promote", "--min-test", "5"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    store = BundleStore(work / "models")
    path = store.path(store.versions()[-1])
    return second.output, path, json.loads((path / "report.json").read_text(encoding="utf-8"))


def charts_of(html: str) -> list[ET.Element]:
    found = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    return [ET.fromstring(s) for s in found]


def test_every_chart_has_data_and_labelled_axes(trained):
    _, path, figures = trained
    svgs = charts_of((path / "report.html").read_text(encoding="utf-8"))
    names = [s.get("data-chart") for s in svgs]
    assert names == ["metrics", "coverage_precision", "reliability", "per_unit"]
    for svg in svgs:
        texts = {t.get("class"): "".join(t.itertext()) for t in svg.iter(f"{SVG}text") if t.get("class")}
        assert texts.get("axis-label x", "").strip() and texts.get("axis-label y", "").strip(), svg.get("data-chart")
        assert re.search(r"[\u4e00-\u9fff]", texts["axis-label x"] + texts["axis-label y"])  # Chinese labels
        marks = [e for e in svg.iter() if "mark" in (e.get("class") or "").split()]
        assert marks, f"chart {svg.get('data-chart')} draws nothing"
        assert "CJK" in svg.get("font-family")


def test_an_empty_evaluation_draws_no_marks_and_the_check_sees_it(trained):
    _, _, figures = trained
    empty = json.loads(json.dumps(figures))
    empty["candidate"]["curve"], empty["candidate"]["reliability"], empty["candidate"]["per_label"] = [], [], []
    empty["candidate"]["metrics"]["precision_at_threshold"] = float("nan")
    svg = ET.fromstring(all_charts(empty)["reliability"])
    assert not [e for e in svg.iter() if "mark" in (e.get("class") or "")]  # the test above can fail


def test_the_threshold_shown_is_the_one_in_service(trained):
    _, path, figures = trained
    service = RoutingService.load(path, with_search=False)
    [item] = service.route([("关于学前教育学位紧张的建议", "学位不足。")]).items
    in_service = item.review.threshold
    assert figures["threshold"]["in_service"] == pytest.approx(in_service)
    assert figures["threshold"]["in_service"] == pytest.approx(load_bundle(path).model.threshold_)
    html = (path / "report.html").read_text(encoding="utf-8")
    assert f"在用复核阈值 <b>{in_service:.3f}</b>" in html and f"在用阈值 {in_service:.3f}" in html
    # the toy data cannot certify 95 %: the report, the manifest and the service say so, and nothing is auto-assigned
    assert figures["threshold"]["certified"] is False and figures["threshold"]["note"].startswith("无法认证")
    assert figures["threshold"]["note"] in html and item.review.needs_review and "不足以保证" in item.review.reason
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    assert meta["metrics"]["validation"]["certificate"]["certified"] is False


def test_the_page_and_the_command_show_the_numbers_of_report_json(trained):
    output, path, figures = trained
    html = (path / "report.html").read_text(encoding="utf-8")
    for side in ("candidate", "active"):
        for key in ("top1", "top3", "macro_f1"):
            value, (lo, hi) = figures[side]["metrics"][key], figures[side]["intervals"][key]
            assert f"{pct(value)}（{lo:.1%}–{hi:.1%}）" in output
            assert f"<td>{pct(value)}</td><td>{lo:.1%}–{hi:.1%}</td>" in html
    assert f"在用复核阈值 {figures['threshold']['in_service']:.3f}" in output
    assert figures["evaluation"]["description"] in output.replace("\n", "")


def test_progress_lines_carry_timestamps_when_not_on_a_terminal(trained):
    output, _, _ = trained
    lines = re.findall(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\[\d/\d\] .+)$", output, flags=re.M)
    assert any("训练最终模型" in line for line in lines) and any("与在用模型比较" in line for line in lines)
