"""Sessions (会次): upload, background routing with progress, re-upload without duplicates, review order, decisions
in place (idempotent, with history), 并案 groups by hand, and the two workbooks."""

from __future__ import annotations

import io
import random
import socket
import time

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.jobs import JobRunner
from api.main import create_app
from tests.api.conftest import H, make_settings
from tests.api.fakedata import TOPICS, make_text

HEADER = "编号,类型,标题,内容,提案人\n"


def sheet_rows(n: int = 12, seed: int = 3, prefix: str = "S") -> list[list[str]]:
    rng = random.Random(seed)
    depts = list(TOPICS)
    rows = []
    for i in range(n):
        title, body = make_text(rng, depts[i % len(depts)], mix=0.0)
        rows.append([f"{prefix}{i + 1:03d}", "建议", f"{title}（{i + 1}）", body, f"代表{i + 1}"])
    return rows


def csv_bytes(rows: list[list[str]], header: str = HEADER, encoding: str = "utf-8") -> bytes:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v
    return (header + "".join(",".join(cell(v) for v in r) + "\n" for r in rows)).encode(encoding)


def upload(client, content: bytes, name: str = "会期建议.csv", session_id: int | None = None, **form):
    url = "/api/v1/sessions" if session_id is None else f"/api/v1/sessions/{session_id}/upload"
    return client.post(url, files={"file": (name, io.BytesIO(content))}, data=form, headers=H["assigner"])


def wait_job(client, job_id: int, timeout: float = 60.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=H["assigner"]).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


def rows_of(client, session_id: int, **params) -> dict:
    r = client.get(f"/api/v1/sessions/{session_id}/rows", params=params, headers=H["assigner"])
    assert r.status_code == 200, r.text
    return r.json()


def case_count(client) -> int:
    return client.get("/api/v1/cases", params={"limit": 1}, headers=H["admin"]).json()["count"]


@pytest.fixture()
def routed(client):
    """A session of 12 rows, routed."""
    r = upload(client, csv_bytes(sheet_rows()), name="一次会议.csv", held_on="2026-01-10")
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["job"]["total"] == 12 and out["upload"]["added"] == 12
    job = wait_job(client, out["job"]["id"])
    assert job["status"] == "done" and job["done"] == 12, job
    return out


def test_upload_creates_a_session_routed_in_the_background(client, routed):
    sid = routed["id"]
    assert routed["name"] == "一次会议.csv" and routed["held_on"] == "2026-01-10"
    s = client.get(f"/api/v1/sessions/{sid}", headers=H["assigner"]).json()
    assert s["counts"]["rows"] == 12 and s["counts"]["routed"] == 12 and s["job"]["status_text"] == "已完成"
    data = rows_of(client, sid)["data"]
    assert len(data) == 12 and all(r["routed"] and r["suggestion"]["lead"] for r in data)
    assert {r["case_no"] for r in data} == {f"S{i:03d}" for i in range(1, 13)}
    assert case_count(client) == 12
    listed = client.get("/api/v1/sessions", headers=H["assigner"]).json()
    assert listed["count"] == 1 and listed["data"][0]["rows"] == 12


def test_review_order_puts_unsure_rows_first_then_least_confident(client, routed, monkeypatch):
    data = rows_of(client, routed["id"])["data"]
    keys = [(not r["needs_review"], r["confidence"]) for r in data]
    assert keys == sorted(keys)


def test_same_sheet_again_changes_nothing_and_a_new_session_is_refused(client, routed):
    content = csv_bytes(sheet_rows())
    again = upload(client, content, session_id=routed["id"])
    assert again.status_code == 202, again.text
    summary = again.json()["upload"]
    assert (summary["added"], summary["changed"], summary["unchanged"], summary["missing"]) == (0, 0, 12, 0)
    assert case_count(client) == 12
    other = upload(client, content)
    assert other.status_code == 409 and other.json()["error"]["details"]["session_id"] == routed["id"]
    assert case_count(client) == 12


def test_a_corrected_sheet_adds_updates_and_keeps(client, routed):
    rows = sheet_rows()
    rows[0][2] = "关于加快推进课后服务的建议（更正）"
    removed = rows.pop(5)
    rows.append(["S100", "提案", "关于加强校车接送管理的提案", "校车接送存在安全隐患，建议加强管理。", "委员甲"])
    r = upload(client, csv_bytes(rows), name="更正版.csv", session_id=routed["id"])
    summary = r.json()["upload"]
    assert (summary["added"], summary["changed"], summary["unchanged"], summary["missing"]) == (1, 1, 10, 1)
    job = wait_job(client, r.json()["job"]["id"])
    assert job["status"] == "done" and job["total"] == 2
    data = {x["case_no"]: x for x in rows_of(client, routed["id"], include_missing=True)["data"]}
    assert data["S001"]["title"].endswith("（更正）") and data["S001"]["routed"]
    assert not data[removed[0]]["in_latest"] and data["S100"]["routed"]
    assert case_count(client) == 13
    assert rows_of(client, routed["id"])["counts"]["rows"] == 12


def test_rows_without_case_numbers_match_by_text_and_twins_stay_two(client):
    rows = [r[1:] for r in sheet_rows(5)]
    rows.append(list(rows[0]))  # an identical row: two items, never one
    header = "类型,标题,内容,提案人\n"
    first = upload(client, csv_bytes(rows, header))
    assert first.json()["upload"]["added"] == 6
    wait_job(client, first.json()["job"]["id"])
    rows[2][2] = rows[2][2] + "补充说明。"
    again = upload(client, csv_bytes(rows, header), name="again.csv", session_id=first.json()["id"])
    summary = again.json()["upload"]
    assert (summary["added"], summary["changed"], summary["unchanged"]) == (0, 1, 5)
    assert case_count(client) == 6


def test_bad_rows_are_listed_and_the_good_rows_go_through(client):
    rows = sheet_rows(4)
    rows.insert(1, ["S900", "建议", "", "", "代表"])  # row 3: neither title nor body
    rows.append(["S001", "建议", "重复编号", "内容", "代表"])  # row 7: 编号 of row 2 again
    r = upload(client, csv_bytes(rows))
    assert r.status_code == 202, r.text
    out = r.json()
    assert sorted({e["row"] for e in out["upload"]["errors"]}) == [3, 7] and out["upload"]["added"] == 4
    assert "第 2 行重复" in out["upload"]["errors"][-1]["message"]
    wait_job(client, out["job"]["id"])
    book = load_workbook(io.BytesIO(client.get(f"/api/v1/sessions/{out['id']}/export.xlsx",
                                               headers=H["assigner"]).content))
    bad = list(book["未能读取的行"].iter_rows(min_row=2, values_only=True))
    assert sorted({b[0] for b in bad}) == [3, 7] and all(b[2] for b in bad)


def test_accept_confident_decides_once(client, routed):
    sid = routed["id"]
    before = rows_of(client, sid)
    confident = [r for r in before["data"] if not r["needs_review"]]
    url = f"/api/v1/sessions/{sid}/accept-confident"
    first = client.post(url, headers=H["assigner"]).json()
    assert first["accepted"] == len(confident)
    assert client.post(url, headers=H["assigner"]).json()["accepted"] == 0
    after = {r["row_id"]: r for r in rows_of(client, sid)["data"]}
    for r in confident:
        got = after[r["row_id"]]["decision"]
        assert got["lead"]["id"] == r["suggestion"]["lead"][0]["id"]
        assert [c["id"] for c in got["co_handlers"]] == [c["id"] for c in r["suggestion"]["co_handlers"]
                                                         if c["id"] != got["lead"]["id"]]
        assert got["due_on"] and got["decided_by"]
    undecided = rows_of(client, sid, undecided=True)["data"]
    assert len(undecided) == 12 - len(confident) and all(r["needs_review"] for r in undecided)


def test_a_decision_twice_is_one_and_a_change_keeps_the_history(client, routed):
    sid = routed["id"]
    row = rows_of(client, sid)["data"][0]
    url = f"/api/v1/cases/{row['case_id']}/decision"
    body = {"lead": "市教育局", "co_handlers": ["东湖区"], "decided_by": "张三"}
    first = client.post(url, json=body, headers=H["assigner"])
    second = client.post(url, json=body, headers=H["assigner"])
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"] and second.json()["unchanged"] is True
    client.post(url, json={"lead": "市住建局", "decided_by": "李四"}, headers=H["assigner"])
    detail = client.get(f"/api/v1/sessions/{sid}/rows/{row['row_id']}", headers=H["assigner"]).json()
    hist = detail["history"]
    assert [(h["from"] and h["from"]["id"], h["to"]["id"], h["decided_by"]) for h in hist] == [
        (None, "jyj", "张三"), ("jyj", "zjj", "李四")]
    assert detail["decision"]["lead"]["id"] == "zjj" and detail["decision"]["co_handlers"] == []
    assert detail["body"] and detail["suggestion"]["precedents_available"]


def test_planted_duplicates_are_grouped_and_groups_can_be_changed_by_hand(client):
    rows = sheet_rows(8)
    rows.append(["S200", "建议", rows[1][2], rows[1][3], "代表甲"])  # the same matter again, another proposer
    r = upload(client, csv_bytes(rows))
    wait_job(client, r.json()["job"]["id"])
    sid = r.json()["id"]
    grouped = rows_of(client, sid, grouped=True)["data"]
    pair = [g for g in grouped if {3, 10} <= set(g["group"]["rows"])]
    assert pair and pair[0]["group"]["similarity"] > 0.9
    no = pair[0]["group"]["no"]
    assert {x["row"] for x in rows_of(client, sid, group=no)["data"]} >= {3, 10}
    others = [x for x in rows_of(client, sid, grouped=False)["data"]][:2]
    merged = client.post(f"/api/v1/sessions/{sid}/groups/merge", json={"rows": [pair[0]["row_id"]] +
                                                                      [o["row_id"] for o in others]},
                         headers=H["assigner"])
    assert merged.status_code == 200, merged.text
    assert len(rows_of(client, sid, group=no)["data"]) == len(pair[0]["group"]["rows"]) + 2
    members = [x["row_id"] for x in rows_of(client, sid, group=no)["data"]]
    client.post(f"/api/v1/sessions/{sid}/groups/split", json={"rows": members[1:]}, headers=H["assigner"])
    assert rows_of(client, sid, group=no)["data"] == []  # one row left: no group


def test_workbooks_carry_decisions_groups_and_escaped_cells(client):
    rows = sheet_rows(6)
    rows[0][2] = '=HYPERLINK("http://example.invalid","点我")'
    rows[1][4] = "+86 代表"
    r = upload(client, csv_bytes(rows), name="公式.csv")
    sid = r.json()["id"]
    wait_job(client, r.json()["job"]["id"])
    data = rows_of(client, sid)["data"]
    client.post(f"/api/v1/cases/{data[0]['case_id']}/decision", json={"lead": "市教育局", "co_handlers": ["市住建局"]},
                headers=H["assigner"])
    resp = client.get(f"/api/v1/sessions/{sid}/export.xlsx", headers=H["assigner"])
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(resp.content))
    ws = book["交办建议与决定"]
    header = [c.value for c in ws[1]]
    for name in ("编号", "类型", "标题", "提案人", "主办", "协办", "置信度", "需复核", "复核原因", "并案组", "往年重复",
                 "决定人", "交办日期", "答复期限"):
        assert name in header
    assert ws.freeze_panes == "A2"
    body = {row[header.index("编号")]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    assert body["S001"][header.index("标题")] == "'" + rows[0][2]
    assert body["S002"][header.index("提案人")] == "'+86 代表"
    assert all(c.data_type == "s" for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str))
    decided = body[data[0]["case_no"]]
    assert decided[header.index("主办")] == "江州市教育局" and decided[header.index("协办")] == "江州市住房和城乡建设局"
    hand = load_workbook(io.BytesIO(client.get(f"/api/v1/sessions/{sid}/handout.xlsx", headers=H["assigner"]).content))
    assert "江州市教育局" in hand.sheetnames and "尚未交办" in hand.sheetnames
    listed = list(hand["江州市教育局"].iter_rows(min_row=2, values_only=True))
    assert len(listed) == 1 and listed[0][6] == "江州市住房和城乡建设局" and listed[0][8]
    assert len(list(hand["尚未交办"].iter_rows(min_row=2))) == 5


def test_gbk_sheet_and_xlsx_sheet(client):
    rows = sheet_rows(3)
    r = upload(client, csv_bytes(rows, encoding="gbk"), name="gbk.csv")
    assert r.status_code == 202 and r.json()["upload"]["added"] == 3


def test_drafters_cannot_touch_sessions(client, routed):
    assert client.get("/api/v1/sessions", headers=H["drafter"]).status_code == 403
    assert upload_as(client, "drafter").status_code == 403


def upload_as(client, role):
    return client.post("/api/v1/sessions", files={"file": ("x.csv", io.BytesIO(csv_bytes(sheet_rows(2))))},
                       headers=H[role])


def test_cancel_keeps_what_was_routed_and_the_rest_can_follow(client):
    client.app.state.jobs.stop()  # hold the worker so the job stays queued
    r = upload(client, csv_bytes(sheet_rows(5)))
    job = client.post(f"/api/v1/jobs/{r.json()['job']['id']}/cancel", headers=H["assigner"]).json()
    assert job["status"] == "cancelled"
    sid = r.json()["id"]
    again = client.post(f"/api/v1/sessions/{sid}/route", headers=H["assigner"]).json()
    assert again["job"]["status"] == "queued" and again["job"]["id"] != job["id"]


def test_rows_are_routed_by_encoder_text_length_and_each_keeps_its_own_result(client):
    from models.search import case_text

    client.app.state.jobs.stop()
    rows = sheet_rows(11, prefix="L-")
    for i, row in enumerate(rows):  # bodies of very different lengths, in no order of length
        row[3] = row[3][: 20 + (i * 37) % 180]
    r = upload(client, csv_bytes(rows))
    service = client.app.state.models.current()
    routed, real_route = [], service.route

    def recording(items, **kw):
        routed.extend(items)
        return real_route(items, **kw)

    service.route = recording
    jobs = JobRunner(client.app.state.sessions, lambda: service, chunk=3, ahead=2)
    jobs.run(client.app.state.sessions.claim_job("test"))
    lengths = [len(case_text(t, b, service.index.config)) for t, b in routed]
    assert len(routed) == 11 and lengths == sorted(lengths)
    alone = real_route([(row[2], row[3]) for row in rows]).items  # the whole sheet at once, in sheet order
    data = sorted(rows_of(client, r.json()["id"], limit=100)["data"], key=lambda d: d["row"])
    assert [d["suggestion"]["lead"][0]["id"] for d in data] == [item.lead[0].unit.id for item in alone]
    assert [d["confidence"] for d in data] == pytest.approx([item.lead[0].probability for item in alone], abs=1e-4)


def test_chunks_routed_ahead_give_what_one_at_a_time_would(client):
    client.app.state.jobs.stop()  # the jobs run here, one way and the other
    results = {}
    for ahead in (1, 3):
        r = upload(client, csv_bytes(sheet_rows(23, prefix=f"A{ahead}-")))
        jobs = JobRunner(client.app.state.sessions, client.app.state.models.current, chunk=4, ahead=ahead)
        job = client.app.state.sessions.claim_job("test")
        jobs.run(job)
        assert client.app.state.sessions.get_job(job["id"])["status"] == "done"
        data = rows_of(client, r.json()["id"], limit=100)["data"]
        results[ahead] = sorted((d["row"], d["suggestion"]["lead"], d["suggestion"]["co_handlers"],
                                 d["suggestion"]["repeat_of"], d["confidence"]) for d in data)
    assert len(results[3]) == 23 and results[3] == results[1]


def test_cancel_with_chunks_in_flight_keeps_only_whole_saved_chunks(client):
    client.app.state.jobs.stop()
    r = upload(client, csv_bytes(sheet_rows(20)))
    sdb = client.app.state.sessions
    job = sdb.claim_job("test")
    jobs = JobRunner(sdb, client.app.state.models.current, chunk=4, ahead=3)
    real_update, calls = sdb.update_job, []

    def update_then_cancel(job_id, **fields):  # staff press 取消 once the second chunk is saved
        real_update(job_id, **fields)
        calls.append(fields)
        if fields.get("done") == 8:
            real_update(job_id, cancel_requested=1)

    sdb.update_job = update_then_cancel
    try:
        jobs.run(job)
    finally:
        sdb.update_job = real_update
    after = sdb.get_job(job["id"])
    assert after["status"] == "cancelled" and after["done"] == 8
    assert rows_of(client, r.json()["id"])["counts"]["routed"] == 8


def test_a_job_left_running_resumes_after_a_restart(tmp_path, models_dir):
    settings = make_settings(tmp_path, models_dir)
    with TestClient(create_app(settings)) as c:
        c.app.state.jobs.stop()
        r = upload(c, csv_bytes(sheet_rows(40)))
        sdb = c.app.state.sessions
        job_id = r.json()["job"]["id"]
        sdb.claim_job(f"{socket.gethostname()}:{2**22 + 7}:gone")  # as a worker of a process that then died
        c.app.state.jobs.run = lambda job: None
    with TestClient(create_app(settings)) as c:
        job = wait_job(c, job_id)
        assert job["status"] == "done" and job["done"] == 40
        assert rows_of(c, r.json()["id"])["counts"]["routed"] == 40


def test_an_idempotency_key_registers_a_case_once(client):
    body = {"title": "关于加装电梯的建议", "body": "老旧小区加装电梯难。", "kind": "建议"}
    h = {**H["assigner"], "Idempotency-Key": "single-view-0001"}
    first = client.post("/api/v1/cases", json=body, headers=h)
    second = client.post("/api/v1/cases", json=body, headers=h)
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert case_count(client) == 1
    other = client.post("/api/v1/cases", json={**body, "title": "另一件"}, headers=h)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    d = {"lead": "市住建局"}
    url = f"/api/v1/cases/{first.json()['id']}/decision"
    a = client.post(url, json=d, headers={**H["assigner"], "Idempotency-Key": "decide-0001"})
    b = client.post(url, json=d, headers={**H["assigner"], "Idempotency-Key": "decide-0001"})
    assert a.json() == b.json() and len(client.get(f"/api/v1/cases/{first.json()['id']}",
                                                   headers=H["assigner"]).json()["decisions"]) == 1


def test_a_job_another_live_worker_runs_is_left_alone_until_its_heartbeat_stops(client):
    client.app.state.jobs.stop()  # the JobRunner's own requeue (the SQLite worker; procrastinate's on PostgreSQL)
    r = upload(client, csv_bytes(sheet_rows(3)))
    sdb = client.app.state.sessions
    runner = JobRunner(sdb, client.app.state.models.current)
    job_id = r.json()["job"]["id"]
    sdb.claim_job("another-host:1234:abcd")  # a replica on another machine
    assert runner.requeue_abandoned() == []
    with sdb.store.transaction() as c:
        c.execute("UPDATE jobs SET updated_at = '2000-01-01T00:00:00+00:00' WHERE id = ?", (job_id,))
    assert runner.requeue_abandoned() == [job_id]
    assert sdb.get_job(job_id)["status"] == "queued"
