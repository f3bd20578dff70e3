"""The 并案 threshold through re-index jobs: the groups staff merged by hand in a session (once their cases are
closed) calibrate it; without such groups the new version keeps the threshold of the version it re-indexed, and the
job's log says which."""

from __future__ import annotations

import csv
import io

from api.index_jobs import LABELS
from models.bundle import read_meta
from tests.api.conftest import H
from tests.api.fakedata import closed_rows, write_csv
from tests.api.test_reindex_job import wait_for

# Two pairs of closed cases about the same matter (a case and a near copy of it), merged by hand in a session.
PAIRS = [("2024-9001", 0, "另外，夏季尤其突出。"), ("2024-9002", 30, "群众反映强烈，亟待解决。")]


def import_with_pairs(client, tmp_path) -> list[tuple[str, str]]:
    rows = closed_rows()
    pairs = []
    for no, k, extra in PAIRS:
        rows.append({**rows[k], "编号": no, "内容": rows[k]["内容"] + extra})
        pairs.append((rows[k]["编号"], no))
    content = write_csv(rows, tmp_path / "closed.csv").read_bytes()
    r = client.post("/api/v1/cases/import", files={"file": ("closed.csv", io.BytesIO(content))}, headers=H["admin"])
    assert r.status_code == 200, r.text
    return pairs


def session_of(client, case_nos: list[str]) -> tuple[int, dict[str, int]]:
    """A session whose rows are these cases (as if its sheet had been assigned and the cases closed since)."""
    store, sdb = client.app.state.store, client.app.state.sessions
    with store.transaction() as conn:
        sid = sdb.create_session(name="一次会议", held_on=None, kind="", created_by="test", conn=conn)
        rows = {no: sdb.add_row(sid, sheet_row=i + 2, match_key=no, content_hash=no,
                                case_id=store.case_id_by_no(no, conn=conn), conn=conn)
                for i, no in enumerate(case_nos)}
    return sid, rows


def reindex(client) -> dict:
    r = client.post("/api/v1/reindex/jobs", json={}, headers=H["admin"])
    assert r.status_code == 202, r.text
    job = wait_for(client, r.json()["id"])
    assert job["status"] == "done" and job["result"]["promoted"], job
    return job


def calibration(client, version: str) -> dict:
    return read_meta(client.app.state.models.store.path(version))["search"]["config"]["duplicate_calibration"]


def test_staff_merges_calibrate_the_threshold_and_a_later_reindex_keeps_it(client, tmp_path):
    pairs = import_with_pairs(client, tmp_path)
    sid, rows = session_of(client, [no for pair in pairs for no in pair] + [closed_rows()[1]["编号"]])
    before = client.get("/api/v1/models/active", headers=H["drafter"]).json()["version"]
    assert calibration(client, before) == {}  # the bundle in service was indexed without labels
    for pair in pairs:
        r = client.post(f"/api/v1/sessions/{sid}/groups/merge", json={"rows": [rows[no] for no in pair]},
                        headers=H["assigner"])
        assert r.status_code == 200, r.text

    job = reindex(client)
    calibrated = job["result"]["version"]
    cal = calibration(client, calibrated)
    assert cal["calibrated_in"] == calibrated and cal["groups"] == 2 and cal["cases"] == 4
    assert job["result"]["duplicate_threshold"]["source"] == "calibrated"
    log = "\n".join(job["log"])
    assert "用员工在会次中手动并案的 2 组（4 件已办结案件）" in log
    assert f"并案阈值 {cal['threshold']:.3f}：本次在 2 个标注重复组（4 件案件）上校准" in log
    with open(client.app.state.reindex.directory(job["id"]) / LABELS, encoding="utf-8-sig") as fh:
        labels = list(csv.DictReader(fh))
    assert sorted(r["编号"] for r in labels) == sorted(no for pair in pairs for no in pair)
    assert len({r["重复组"] for r in labels}) == 2  # the row left alone is no label

    # staff split the groups again: nothing to calibrate on, and the threshold of the version re-indexed stays
    r = client.post(f"/api/v1/sessions/{sid}/groups/split", json={"rows": list(rows.values())},
                    headers=H["assigner"])
    assert r.status_code == 200, r.text
    job = reindex(client)
    carried = job["result"]["version"]
    assert carried != calibrated and calibration(client, carried) == {**cal, "carried_from": calibrated}
    log = "\n".join(job["log"])
    assert "会次中没有员工手动并案且已办结的案件组" in log
    assert f"并案阈值 {cal['threshold']:.3f}：沿用版本 {calibrated} 的校准" in log
    assert not (client.app.state.reindex.directory(job["id"]) / LABELS).exists()


def test_a_group_of_cases_not_yet_closed_is_not_a_label(client, tmp_path):
    pairs = import_with_pairs(client, tmp_path)
    sid, rows = session_of(client, list(pairs[0]))
    store = client.app.state.store
    client.post(f"/api/v1/sessions/{sid}/groups/merge", json={"rows": list(rows.values())}, headers=H["assigner"])
    assert set(client.app.state.sessions.staff_groups()) == {f"{sid}-1"}
    store.update_case(store.case_id_by_no(pairs[0][1]), {"status": "open"})
    assert client.app.state.sessions.staff_groups() == {f"{sid}-1": [
        {"id": store.case_id_by_no(pairs[0][0]), "case_no": pairs[0][0]}]}
    job = reindex(client)
    assert job["result"]["duplicate_threshold"]["source"] == "default"
    assert "并案阈值 0.930：默认值，未校准" in "\n".join(job["log"])


def test_a_training_job_calibrates_on_the_staff_merges_too(client, tmp_path):
    from tests.api.test_training_job import wait_for as wait_for_training

    pairs = import_with_pairs(client, tmp_path)
    sid, rows = session_of(client, [no for pair in pairs for no in pair])
    for pair in pairs:
        r = client.post(f"/api/v1/sessions/{sid}/groups/merge", json={"rows": [rows[no] for no in pair]},
                        headers=H["assigner"])
        assert r.status_code == 200, r.text
    r = client.post("/api/v1/training/jobs", json={"min_test": 5}, headers=H["admin"])
    assert r.status_code == 202, r.text
    job = wait_for_training(client, r.json()["id"])
    assert job["status"] == "done", job
    cal = calibration(client, job["result"]["version"])
    assert cal["calibrated_in"] == job["result"]["version"] and cal["groups"] == 2 and cal["cases"] == 4
    assert job["result"]["duplicate_threshold"]["source"] == "calibrated"
    assert "用员工在会次中手动并案的 2 组（4 件已办结案件）" in "\n".join(job["log"])
    with open(client.app.state.training.directory(job["id"]) / LABELS, encoding="utf-8-sig") as fh:
        assert len({r["重复组"] for r in csv.DictReader(fh)}) == 2
