"""jiaoban index-check: a consistent index passes, a difference exits 1 and names it, --repair writes a new version
(only the new case encoded) and puts it in service; the old version is untouched."""

from typer.testing import CliRunner

from models.bundle import BundleStore, verify_bundle
from models.casefile import read_cases, write_cases
from models.records import CaseRecord
from tests.training.test_cli import make_workspace
from training.cli import app

runner = CliRunner()


def test_index_check_and_repair(tmp_path):
    work = make_workspace(tmp_path)
    common = ["--departments", str(work / "departments.json"), "--models-dir", str(work / "models")]
    assert runner.invoke(app, ["train", str(work / "cases.csv"), *common, "--promote", "--encoder", "hashing"]
                         ).exit_code == 0
    res = runner.invoke(app, ["index-check", str(work / "cases.csv"), *common, "--encoder", "hashing"])
    assert res.exit_code == 0 and "一致" in res.output, res.output

    grown = work / "grown.csv"
    records = read_cases(work / "cases.csv").records
    records.append(CaseRecord(row=0, case_no="JY2025-0999", year=2025, title="关于新建公交站台的建议",
                              body="高新区缺少公交站台。", lead="江州市交通运输局", reply="已办理。", category="A"))
    write_cases(records, grown)
    res = runner.invoke(app, ["index-check", str(grown), *common, "--encoder", "hashing"])
    assert res.exit_code == 1 and "缺少 1 件" in res.output and "JY2025-0999" in res.output

    store = BundleStore(work / "models")
    old = store.active()
    before = verify_bundle(store.path(old))["files"]
    res = runner.invoke(app, ["index-check", str(grown), *common, "--encoder", "hashing", "--repair"])
    assert res.exit_code == 0 and "新编码 1 件" in res.output, res.output
    assert store.active() != old and verify_bundle(store.path(old))["files"] == before
    assert store.history()[-1]["why"].startswith("索引修复")
    res = runner.invoke(app, ["index-check", str(grown), *common, "--encoder", "hashing"])
    assert res.exit_code == 0 and "一致" in res.output
