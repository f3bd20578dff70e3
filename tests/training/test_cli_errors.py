"""Every `jiaoban` error is one Chinese line on stderr that names the file or option, with exit status 2."""

import json
import os
import re
import sys

import pytest

from models.casefile import write_cases
from models.records import CaseRecord
from tests.conftest import MINI_REGISTRY
from training.cli import main
from training.cli.common import os_error_message

ENGLISH = re.compile(r"\b(no|not|is|the|cannot|found|must|should|Input|Error)\b")


@pytest.fixture()
def ws(tmp_path, monkeypatch):
    for name in [k for k in os.environ if k.startswith("JIAOBAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env, and the default registry path does not exist here
    (tmp_path / "departments.json").write_text(json.dumps(MINI_REGISTRY, ensure_ascii=False), encoding="utf-8")
    write_cases([CaseRecord(row=2, case_no="A1", year=2024, title="关于加装电梯的建议", body="正文", lead="住建局")],
                tmp_path / "cases.csv")
    return tmp_path


def fail(capsys, monkeypatch, *args: str) -> str:
    """Run `jiaoban args...` through main(); return its one line of stderr."""
    monkeypatch.setattr(sys, "argv", ["jiaoban", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2, err
    line = err.splitlines()[-1]
    assert line.startswith(("错误：", "配置错误：")) and "Traceback" not in err
    assert not ENGLISH.search(re.sub(r"--[\w-]+", "", line)), line  # option names aside
    return line


def test_a_missing_data_file_is_named(ws, capsys, monkeypatch):
    line = fail(capsys, monkeypatch, "train", "去年办结.csv", "--departments", "departments.json")
    assert line.startswith("错误：") and "去年办结.csv" in line and "找不到文件" in line


def test_a_bad_column_option_is_named(ws, capsys, monkeypatch):
    common = ["evaluate", "cases.csv", "--departments", "departments.json"]
    line = fail(capsys, monkeypatch, *common, "--column", "lead")
    assert "--column" in line and "字段=列名" in line and "“lead”" in line
    line = fail(capsys, monkeypatch, *common, "--column", "leader=主办")
    assert "未知字段“leader”" in line
    line = fail(capsys, monkeypatch, *common, "--column", "lead=承办单位")
    assert "没有列“承办单位”" in line


@pytest.mark.parametrize(("args", "option", "value"), [
    (["evaluate", "cases.csv", "--split", "yearly"], "--split", "yearly"),
    (["train", "cases.csv", "--estimator", "forest"], "--estimator", "forest"),
    (["train", "cases.csv", "--dense-text", "body"], "--dense-text", "body"),
    (["search", "电梯", "--mode", "fuzzy"], "--mode", "fuzzy"),
])
def test_an_unknown_option_value_is_refused_before_any_work(ws, capsys, monkeypatch, args, option, value):
    line = fail(capsys, monkeypatch, *args, "--departments", "departments.json")
    assert line.startswith(f"错误：{option} 的取值“{value}”无效：可选 ")
    assert not (ws / "var").exists()  # nothing was read or trained


def test_a_missing_or_broken_registry_is_named(ws, capsys, monkeypatch):
    line = fail(capsys, monkeypatch, "train", "cases.csv", "--departments", "名录.json")
    assert "找不到单位名录 名录.json" in line and "--departments" in line and "--no-registry" in line
    line = fail(capsys, monkeypatch, "train", "cases.csv")  # the default, JIAOBAN_DEPARTMENTS, is not here
    assert "data/samples/departments.json" in line and "JIAOBAN_DEPARTMENTS" in line
    (ws / "broken.json").write_text('{"departments": [\n  {"id": "zjj",}\n]}', encoding="utf-8")
    line = fail(capsys, monkeypatch, "train", "cases.csv", "--departments", "broken.json")
    assert "单位名录 broken.json 第 2 行" in line and "不是合法的 JSON" in line
    (ws / "partial.json").write_text('{"departments": [{"id": "zjj"}]}', encoding="utf-8")
    line = fail(capsys, monkeypatch, "train", "cases.csv", "--departments", "partial.json")
    assert line == "错误：单位名录 partial.json 第 1 项缺少“name”：每项需要 id 和 name"


def test_model_version_errors_name_the_directory_and_what_to_do(ws, capsys, monkeypatch):
    line = fail(capsys, monkeypatch, "route", "关于加装电梯的建议", "--models-dir", "models")
    assert "models 中没有在用模型" in line and "jiaoban train" in line
    line = fail(capsys, monkeypatch, "promote", "20260101-000000", "--models-dir", "models")
    assert "没有模型版本“20260101-000000”" in line and "jiaoban models" in line
    line = fail(capsys, monkeypatch, "rollback", "--models-dir", "models")
    assert "无法回退" in line and "history.jsonl" in line


def test_an_unknown_encoder_is_named(ws, capsys, monkeypatch):
    line = fail(capsys, monkeypatch, "train", "cases.csv", "--departments", "departments.json", "--encoder",
                "var/encoders/none")
    assert "找不到编码器目录“var/encoders/none”" in line and "--encoder" in line


def test_a_bad_setting_names_the_variable(ws, capsys, monkeypatch):
    monkeypatch.setenv("JIAOBAN_TOP_K", "many")
    line = fail(capsys, monkeypatch, "route", "关于加装电梯的建议", "--models-dir", "models")
    assert line.startswith("配置错误：JIAOBAN_TOP_K（当前为“many”）：应为整数")


def test_typer_usage_errors_are_left_as_typer_prints_them(ws, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["jiaoban", "train"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2 and "Missing argument" in capsys.readouterr().err


def test_file_system_errors_are_named_in_chinese():
    assert os_error_message(FileNotFoundError(2, "No such file or directory", "out/交办建议.csv")) == \
        "无法读写 out/交办建议.csv：文件或目录不存在"
    assert os_error_message(PermissionError(13, "Permission denied", "/var/x.csv")) == "无法读写 /var/x.csv：没有读写权限"
