"""Bad files on the command line: `route --file`, `train`, `evaluate` and `index` stop with one Chinese line and
exit 2, never a traceback; bad rows are reported and the good ones used."""

import sys

import pytest
from typer.testing import CliRunner

from models.casefile import CaseFileError, write_cases
from models.records import CaseRecord
from tests.models.test_casefile_bad_files import BIG, xlsx_bytes, zip_of
from tests.models.test_classifier import toy_data
from training.cli import app, main

runner = CliRunner()

BAD = {
    "junk.xlsx": (bytes(range(256)) * 8, "不是 Excel 工作簿"),
    "truncated.xlsx": (BIG[: len(BIG) // 2], "不完整或已损坏"),
    "archive.xlsx": (zip_of({"readme.txt": "hi"}), "zip 压缩包"),
    "header_only.xlsx": (xlsx_bytes([["标题", "内容"]]), "只有列名行"),
    "binary.csv": (bytes(range(256)) * 8, "不是文本文件"),
    "no_columns.csv": ("甲,乙\n1,2\n".encode(), "文件的列为：甲、乙"),
}


def command(name: str, path, tmp_path) -> list[str]:
    """The arguments that make each command read ``path`` first (no model, registry or encoder needed)."""
    return {
        "route": ["route", "--file", str(path)],
        "train": ["train", str(path), "--no-registry", "--models-dir", str(tmp_path / "models"), "--no-index"],
        "evaluate": ["evaluate", str(path), "--no-registry"],
        "index": ["index", str(path), "--no-registry", "--bundle", str(tmp_path / "no-bundle")],
    }[name]


@pytest.fixture()
def no_service(monkeypatch):
    """`route` loads the model before it reads the file; these tests are about the file."""
    monkeypatch.setattr("training.cli.route_cmds.load_service", lambda *args, **kwargs: object())


@pytest.mark.parametrize("cmd", ["route", "train", "evaluate", "index"])
@pytest.mark.parametrize("name", list(BAD))
def test_bad_files_stop_every_command_with_a_case_file_error(tmp_path, no_service, cmd, name):
    content, says = BAD[name]
    path = tmp_path / name
    path.write_bytes(content)
    res = runner.invoke(app, command(cmd, path, tmp_path))
    assert res.exit_code != 0
    assert isinstance(res.exception, CaseFileError), repr(res.exception)
    assert str(res.exception).startswith(f"文件“{path}”：") and says in str(res.exception)


def run_main(argv, capsys) -> tuple[int, str]:
    saved = sys.argv
    sys.argv = ["jiaoban", *argv]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        sys.argv = saved
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("name", ["junk.xlsx", "truncated.xlsx", "binary.csv", "no_columns.csv"])
def test_main_prints_one_chinese_line_and_exits_2(tmp_path, capsys, name):
    path = tmp_path / name
    path.write_bytes(BAD[name][0])
    code, err = run_main(["train", str(path), "--no-registry", "--models-dir", str(tmp_path / "m")], capsys)
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("错误：文件“") and name in err and BAD[name][1] in err and "请" in err


def test_main_prints_a_name_with_brackets_as_it_is(tmp_path, capsys, no_service):
    # rich reads "[/x]" as a closing tag: printed as markup it raised MarkupError inside the error handler.
    (tmp_path / "a[").mkdir()
    path = tmp_path / "a[" / "x] 会期[bold]建议.xlsx"
    path.write_bytes(b"")
    code, err = run_main(["route", "--file", str(path)], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "a[/x] 会期[bold]建议.xlsx" in err and "空的" in err


def test_main_on_a_wrong_suffix_and_a_missing_file(tmp_path, capsys):
    (tmp_path / "说明.doc").write_bytes(b"x")
    code, err = run_main(["evaluate", str(tmp_path / "说明.doc"), "--no-registry"], capsys)
    assert code == 2 and "不支持的文件类型“.doc”" in err and len(err.strip().splitlines()) == 1
    code, err = run_main(["evaluate", str(tmp_path / "没有这个.csv"), "--no-registry"], capsys)
    assert code == 2 and "找不到文件" in err and "Traceback" not in err


def test_evaluate_reports_undecodable_rows_and_uses_the_others(tmp_path):
    items, leads, _ = toy_data(n_per_topic=8)
    recs = [CaseRecord(row=i + 2, case_no=f"JY{2022 + i % 3}-{i:04d}", year=2022 + i % 3, title=t, body=b, lead=lead)
            for i, ((t, b), lead) in enumerate(zip(items, leads))]
    path = tmp_path / "cases.csv"
    write_cases(recs, path)
    with open(path, "ab") as fh:  # one ledger line pasted in from a GBK file
        fh.write("JY2024-9999,建议,2024,关于某事的建议,正文,,住建局,,,,,,\r\n".encode("gbk"))
    res = runner.invoke(app, ["evaluate", str(path), "--no-registry", "--split", "kfold", "--folds", "3"])
    assert res.exit_code == 0, res.output
    said = "".join(res.output.split())  # rich wraps at 80 columns
    assert f"可用{len(recs)}条，问题行1条" in said
    assert f"第{len(recs) + 2}行" in said and "无法按UTF-8解码" in said
