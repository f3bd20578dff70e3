"""A re-index or a retrain without duplicate labels keeps the calibrated 并案 threshold of the version it follows
when its vectors are of the same kind, and says where the threshold came from; on other vectors it falls back to the
default and says why."""

import json

from models.bundle import BundleStore, read_meta
from models.search import SearchConfig
from tests.training.test_cli import make_workspace, runner
from training.cli import app


def calibration_of(version) -> dict:
    return read_meta(version)["search"]["config"]["duplicate_calibration"]


def threshold_of(version) -> float:
    return read_meta(version)["search"]["config"]["duplicate_threshold"]


def labelled_workspace(tmp_path):
    """The toy workspace, a model in service without an index, and labels: each unit's cases as one matter."""
    ws = make_workspace(tmp_path)
    rows = [line.split(",") for line in (ws / "cases.csv").read_text(encoding="utf-8-sig").splitlines()]
    lead = rows[0].index("主办单位")
    (ws / "dups.csv").write_text("编号,重复组\n" + "".join(f"{r[0]},{r[lead]}\n" for r in rows[1:]
                                                        if r[0].startswith("JY")), encoding="utf-8")
    common = ["--departments", str(ws / "departments.json"), "--models-dir", str(ws / "models")]
    assert runner.invoke(app, ["train", str(ws / "cases.csv"), *common, "--promote", "--no-index"]).exit_code == 0
    return ws, common


def index(ws, common, *extra) -> str:
    res = runner.invoke(app, ["index", str(ws / "cases.csv"), *common, "--encoder", "hashing", *extra])
    assert res.exit_code == 0, res.output
    return res.output.replace("\n", "")


def test_reindexing_carries_the_calibrated_threshold_over_on_the_same_vectors(tmp_path):
    ws, common = labelled_workspace(tmp_path)
    store = BundleStore(ws / "models")
    flat = index(ws, common, "--duplicate-labels", str(ws / "dups.csv"))
    calibrated = store.active_path()
    cal = calibration_of(calibrated)
    assert cal["calibrated_in"] == calibrated.name and cal["groups"] == 4 and "carried_from" not in cal
    assert threshold_of(calibrated) == cal["threshold"] != SearchConfig().duplicate_threshold
    assert f"并案阈值 {cal['threshold']:.3f}：本次在 4 个标注重复组" in flat

    flat = index(ws, common, "--result-json", str(ws / "result.json"))  # no labels: the version it re-indexes
    carried = store.active_path()
    assert carried != calibrated and threshold_of(carried) == cal["threshold"]
    assert calibration_of(carried) == {**cal, "carried_from": calibrated.name}
    assert f"并案阈值 {cal['threshold']:.3f}：沿用版本 {calibrated.name} 的校准" in flat
    result = json.loads((ws / "result.json").read_text(encoding="utf-8"))["duplicate_threshold"]
    assert result["source"] == "carried" and result["from"] == calibrated.name

    flat = index(ws, common)  # and again: it still names where it was first calibrated
    again = store.active_path()
    assert calibration_of(again) == {**cal, "carried_from": carried.name}
    assert f"沿用版本 {carried.name} 的校准（最初在版本 {calibrated.name} 上用 4 个标注重复组选定" in flat

    flat = index(ws, common, "--add")  # extending an index keeps its threshold, and says where it came from
    assert calibration_of(store.active_path()) == {**cal, "carried_from": again.name}
    assert f"沿用版本 {again.name} 的校准" in flat


def test_other_vectors_get_the_default_threshold_and_say_why(tmp_path):
    ws, common = labelled_workspace(tmp_path)
    store = BundleStore(ws / "models")
    index(ws, common, "--duplicate-labels", str(ws / "dups.csv"))
    calibrated = store.active_path()
    res = runner.invoke(app, ["index", str(ws / "cases.csv"), *common, "--encoder", "hashing:128"])
    assert res.exit_code == 0, res.output
    flat = res.output.replace("\n", "")
    other = store.active_path()
    assert threshold_of(other) == SearchConfig().duplicate_threshold and calibration_of(other) == {}
    assert "并案阈值 0.930：默认值，未校准" in flat and f"版本 {calibrated.name} 的校准阈值是在另一种向量上选定的" in flat

    store.promote(calibrated.name, reason="test")  # the text settings count too: another lead length
    flat = index(ws, common, "--lead-chars", "60")
    assert threshold_of(store.active_path()) == SearchConfig().duplicate_threshold
    assert "默认值，未校准" in flat and "另一种向量" in flat

    store.promote(store.active_path().name, reason="test")  # an uncalibrated version has nothing to carry
    flat = index(ws, common, "--lead-chars", "60")
    assert "默认值，未校准（未提供重复件标注（--duplicate-labels），版本" in flat and "的并案阈值也未校准" in flat


def test_labels_that_cannot_calibrate_fall_back_and_say_so(tmp_path):
    ws, common = labelled_workspace(tmp_path)
    store = BundleStore(ws / "models")
    index(ws, common, "--duplicate-labels", str(ws / "dups.csv"))
    calibrated = store.active_path()
    (ws / "bad.csv").write_text("编号,重复组\nJY2022-0000,g\nNO-SUCH,g\n", encoding="utf-8")
    flat = index(ws, common, "--duplicate-labels", str(ws / "bad.csv"))
    assert "重复件标注无法用于校准（没有可用的重复组标注" in flat and f"沿用版本 {calibrated.name} 的校准" in flat
    assert threshold_of(store.active_path()) == calibration_of(calibrated)["threshold"]


def test_retraining_without_labels_keeps_the_threshold_of_the_version_it_reuses(tmp_path):
    ws, common = labelled_workspace(tmp_path)
    store = BundleStore(ws / "models")
    index(ws, common, "--duplicate-labels", str(ws / "dups.csv"))
    calibrated = store.active_path()
    res = runner.invoke(app, ["train", str(ws / "cases.csv"), *common, "--encoder", "hashing", "--no-knn-blend",
                              "--result-json", str(ws / "train.json")])
    assert res.exit_code == 0, res.output
    trained = json.loads((ws / "train.json").read_text(encoding="utf-8"))
    version = store.path(trained["version"])
    assert trained["duplicate_threshold"]["source"] == "carried"
    assert threshold_of(version) == calibration_of(calibrated)["threshold"]
    assert calibration_of(version)["carried_from"] == calibrated.name
    assert f"沿用版本 {calibrated.name} 的校准" in res.output.replace("\n", "")


def test_an_index_repair_marks_the_calibrated_threshold_as_carried_over(tmp_path):
    from models.casefile import read_cases, write_cases
    from models.records import CaseRecord

    ws, common = labelled_workspace(tmp_path)
    store = BundleStore(ws / "models")
    index(ws, common, "--duplicate-labels", str(ws / "dups.csv"))
    calibrated = store.active_path()
    cal = calibration_of(calibrated)
    grown = ws / "grown.csv"
    records = read_cases(ws / "cases.csv").records
    records.append(CaseRecord(row=0, case_no="JY2025-0999", year=2025, title="关于新建公交站台的建议",
                              body="高新区缺少公交站台。", lead="江州市交通运输局", reply="已办理。", category="A"))
    write_cases(records, grown)
    res = runner.invoke(app, ["index-check", str(grown), *common, "--encoder", "hashing", "--repair"])
    assert res.exit_code == 0, res.output
    repaired = store.active_path()
    assert repaired != calibrated and threshold_of(repaired) == cal["threshold"]
    assert calibration_of(repaired) == {**cal, "carried_from": calibrated.name}
    assert calibration_of(calibrated) == cal  # the source version is untouched
    assert f"并案阈值 {cal['threshold']:.3f}：沿用版本 {calibrated.name} 的校准" in res.output.replace("\n", "")
