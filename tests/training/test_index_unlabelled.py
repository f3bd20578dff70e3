"""`jiaoban index` on messages with replies and no units: every row is indexed, and the rows that cannot train are
counted and written to the rejected_rows.csv the message names."""

import csv

from models.bundle import BundleStore, load_bundle, load_search_index, verify_bundle
from models.casefile import write_cases
from models.embeddings import HashingEmbedder
from models.records import CaseRecord
from tests.training.test_cli import make_workspace, runner
from training.cli import app

MESSAGES = [("A2区景蓉华苑物业管理混乱", "小区物业公司要退出，乱收停车费。", "经调查，街道已约谈物业公司，停车收费暂停。"),
            ("西湖路噪音扰民", "夜间施工噪音很大，影响休息。", "城管部门已责令施工单位夜间停工。"),
            ("学校周边交通拥堵", "上下学时段车辆拥堵，孩子过马路危险。", "交警已增派警力并施划斑马线。")]


def test_index_keeps_rows_without_units_for_search_and_writes_rejected_rows(tmp_path):
    ws = make_workspace(tmp_path)
    common = ["--departments", str(ws / "departments.json"), "--models-dir", str(ws / "models")]
    assert runner.invoke(app, ["train", str(ws / "cases.csv"), *common, "--promote", "--no-index"]).exit_code == 0
    recs = [CaseRecord(row=i + 2, case_no=f"M{i}", title=t, body=b, reply=r) for i, (t, b, r) in enumerate(MESSAGES)]
    recs.append(CaseRecord(row=5, case_no="M9", title="关于公交的建议", body="增开线路。", lead="不存在的局", reply="已研究。"))
    write_cases(recs, ws / "messages.csv")
    res = runner.invoke(app, ["index", str(ws / "messages.csv"), *common, "--encoder", "hashing"])
    assert res.exit_code == 0, res.output
    flat = res.output.replace("\n", "")  # rich wraps long lines
    assert "索引完成：4 条案件" in flat and "其中 4 条主办/协办单位为空" in flat and "不能用于训练" in flat
    version = BundleStore(ws / "models").active_path()
    assert str(version / "rejected_rows.csv") in flat
    verify_bundle(version)  # the file is signed with the rest of the version
    with open(version / "rejected_rows.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted({int(r["行号"]) for r in rows}) == [2, 3, 4, 5] and {r["字段"] for r in rows} == {"主办单位"}
    index = load_search_index(load_bundle(version), HashingEmbedder(256))
    assert len(index) == 4 and not any(c["trainable"] for c in index.cases)
    hit = index.search("物业乱收停车费怎么答复", k=1, target="replies")[0]
    assert hit["case_no"] == "M0" and hit["trainable"] is False and hit["passage"]["field"] == "replies"
    # the index check reads the file the same way: the rows without units are not "extra"
    check = runner.invoke(app, ["index-check", str(ws / "messages.csv"), *common, "--encoder", "hashing"])
    assert check.exit_code == 0 and "索引与案件一致：4 件" in check.output, check.output


def test_index_says_why_a_new_version_is_not_in_service(tmp_path):
    ws = make_workspace(tmp_path)
    common = ["--departments", str(ws / "departments.json"), "--models-dir", str(ws / "models")]
    assert runner.invoke(app, ["train", str(ws / "cases.csv"), *common, "--promote", "--no-index"]).exit_code == 0
    store = BundleStore(ws / "models")
    active = store.active()
    asked = runner.invoke(app, ["index", str(ws / "cases.csv"), *common, "--encoder", "hashing", "--no-promote"])
    flat = asked.output.replace("\n", "")
    assert asked.exit_code == 0 and "--no-promote：本命令不上线" in flat, asked.output
    assert "未上线" not in flat  # a service job runs it this way and then promotes: its log must not contradict itself
    assert store.active() == active
    newest = sorted(v for v in store.versions() if v != active)[-1]
    other = runner.invoke(app, ["index", str(ws / "cases.csv"), *common, "--encoder", "hashing",
                                "--bundle", str(store.path(newest))])
    flat = other.output.replace("\n", "")
    assert other.exit_code == 0 and f"未上线：{newest} 不是在用版本" in flat, other.output
    assert store.active() == active
