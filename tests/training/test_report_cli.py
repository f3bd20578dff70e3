"""jiaoban report: the periodic report from the case store, as XLSX and HTML; a bad date range is refused."""

from __future__ import annotations

import os
import sys

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.main import create_app
from tests.api.conftest import make_settings
from tests.api.supervision_data import END, START, direct_counts, fill
from training.cli import app, main

runner = CliRunner()


@pytest.fixture()
def store(tmp_path, monkeypatch):
    """A store filled through the API (no model needed), and a working directory without a departments file, so
    unit names can only come from the registry snapshot in the store."""
    (tmp_path / "service").mkdir()
    settings = make_settings(tmp_path / "service", None)
    with TestClient(create_app(settings)) as client:
        fill(client)
    for name in [k for k in os.environ if k.startswith("JIAOBAN_")]:
        monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return settings.database


def test_the_report_is_written_as_xlsx_and_html(store, tmp_path):
    xlsx, html = tmp_path / "报告.xlsx", tmp_path / "报告.html"
    for path in (xlsx, html):
        result = runner.invoke(app, ["report", "--start", START, "--end", END, "--out", str(path),
                                     "--database", str(store)])
        assert result.exit_code == 0, result.output
        assert "交办 9 件" in result.output
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["汇总", "江州市住房和城乡建设局", "江州市教育局", "江州市农业农村局"]
    header = [c.value for c in wb["汇总"][2]]
    rows = {r[1]: dict(zip(header, r)) for r in wb["汇总"].iter_rows(min_row=3, values_only=True)}
    want = direct_counts(store)["jyj"]
    got = rows["江州市教育局"]
    assert (got["交办件数"], got["已办结"], got["按时办结"], got["超期未办结"]) == (
        want["assigned"], want["closed"], want["on_time"], want["overdue"])
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "江州市教育局" in page


def test_a_reversed_range_is_refused_in_chinese(store, tmp_path, capsys, monkeypatch):
    out = tmp_path / "x.xlsx"
    monkeypatch.setattr(sys, "argv", ["jiaoban", "report", "--start", END, "--end", START, "--out", str(out),
                                      "--database", str(store)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("错误：日期范围有误") and "晚于" in line and not out.exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--start", "2026-13-01", "--end", END, "--out", "x.xlsx"], "--start 的日期“2026-13-01”无效"),
    (["--start", START, "--end", END, "--out", "x.pdf"], "请用 .xlsx 或 .html 结尾"),
    (["--start", START, "--end", END, "--out", "x.html", "--database", "无此库.db"], "找不到案件库"),
])
def test_bad_options_are_named(store, capsys, monkeypatch, args, expected):
    monkeypatch.setattr(sys, "argv", ["jiaoban", "report", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert expected in capsys.readouterr().err
