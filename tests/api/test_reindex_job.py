"""Re-indexing from the admin API: a background job exports the store's closed cases, runs `jiaoban index` on a
version in a child process, reports the texts encoded, and puts the new version in service (a promotion, which every
replica follows), so search answers from the new index. On SQLite the in-process runner runs it; on PostgreSQL
procrastinate does (tests/api/test_queue_pg.py's fixtures)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from api.index_jobs import KIND
from api.jobs import JobRunner
from api.queue_pg import TASK, PgQueue
from tests.api.conftest import H
from tests.api.fakedata import closed_rows, write_csv
from tests.api.test_queue_pg import drain, queue_rows
from tests.api.test_training_job import wait_for as wait_for_job

NEW_TITLE = "关于治理青苔河蓝藻水华的建议"
NEW_BODY = "青苔河每年夏季蓝藻水华暴发，建议开展青苔河蓝藻水华治理。"


def import_cases(client, tmp_path: Path) -> int:
    """The test bundle's cases and one more, which its index has never seen."""
    rows = closed_rows()
    rows.append({**rows[0], "编号": "2024-9999", "标题": NEW_TITLE, "内容": NEW_BODY})
    content = write_csv(rows, tmp_path / "closed.csv").read_bytes()
    r = client.post("/api/v1/cases/import", files={"file": ("closed.csv", io.BytesIO(content))}, headers=H["admin"])
    assert r.status_code == 200, r.text
    return len(rows)


def top_hit(client) -> str:
    r = client.post("/api/v1/search", json={"query": NEW_TITLE + "。" + NEW_BODY, "k": 1}, headers=H["drafter"])
    assert r.status_code == 200, r.text
    return r.json()["data"][0]["title"]


def wait_for(client, job_id: int) -> dict:
    return wait_for_job(client, job_id, path="reindex", limit_s=180)


def versions(client) -> list[str]:
    return [v["version"] for v in client.get("/api/v1/models", headers=H["admin"]).json()["data"]]


def assert_served_from_a_new_index(client, job: dict, before: str, n: int) -> None:
    assert job["status"] == "done", job
    result = job["result"]
    assert result["source"] == before and result["version"] != before and result["promoted"]
    assert result["size"] == n and result["encoded"] >= 1  # the new case; the others' vectors are reused
    assert job["total"] == result["encoded"] and job["done"] == job["total"]  # texts encoded of those to encode
    assert any("向量编码" in line for line in job["log"])
    assert client.get("/api/v1/models/active", headers=H["drafter"]).json()["version"] == result["version"]
    assert top_hit(client) == NEW_TITLE
    last = client.get("/api/v1/models", headers=H["admin"]).json()["history"][-1]
    assert last["version"] == result["version"] and last["by"] == job["created_by"] != ""
    assert "重建相似案例索引" in last["why"] and "年度补录" in last["why"]


def test_a_reindex_job_rebuilds_the_active_index_and_search_answers_from_it(client, tmp_path):
    n = import_cases(client, tmp_path)
    before = client.get("/api/v1/models/active", headers=H["drafter"]).json()["version"]
    assert top_hit(client) != NEW_TITLE  # the index in service has never seen it
    assert client.post("/api/v1/reindex/jobs", json={}, headers=H["assigner"]).status_code == 403

    r = client.post("/api/v1/reindex/jobs", json={"why": "年度补录"}, headers=H["admin"])
    assert r.status_code == 202, r.text
    assert r.json()["kind"] == KIND
    job = wait_for(client, r.json()["id"])
    assert_served_from_a_new_index(client, job, before, n)
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=H["admin"]).json()["status"] == "done"
    assert before in versions(client)  # the version re-indexed is kept as it was (a rollback goes back to it)


def test_a_named_version_not_in_service_is_indexed_but_not_promoted(client, tmp_path):
    import_cases(client, tmp_path)
    before = client.get("/api/v1/models/active", headers=H["drafter"]).json()["version"]
    copy = next(v for v in versions(client) if v.endswith("-copy"))  # a version without an index
    job = wait_for(client, client.post("/api/v1/reindex/jobs", json={"version": copy}, headers=H["admin"]).json()["id"])
    assert job["status"] == "done" and job["result"]["source"] == copy and not job["result"]["promoted"], job
    assert job["result"]["version"] in versions(client)
    assert client.get("/api/v1/models/active", headers=H["drafter"]).json()["version"] == before


def test_a_bad_version_is_refused_naming_the_field(client, tmp_path):
    import_cases(client, tmp_path)
    r = client.post("/api/v1/reindex/jobs", json={"version": "20990101-000000-nope"}, headers=H["admin"])
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "unknown_version" and error["details"]["field"] == "version"
    assert "字段“version”" in error["message"] and "20990101-000000-nope" in error["message"]
    assert error["details"]["available"] == versions(client)
    r = client.post("/api/v1/reindex/jobs", json={"version": ""}, headers=H["admin"])
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "version"


def test_reindexing_needs_closed_cases(client):
    r = client.post("/api/v1/reindex/jobs", json={}, headers=H["admin"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_closed_cases"
    assert "已办结案件" in r.json()["error"]["message"]


def test_a_cancelled_reindex_job_stops_and_leaves_no_version(client, tmp_path):
    import_cases(client, tmp_path)
    client.app.state.jobs.stop()  # hold the worker
    listed = versions(client)
    queued = client.post("/api/v1/reindex/jobs", json={}, headers=H["admin"]).json()["id"]
    assert client.post(f"/api/v1/jobs/{queued}/cancel", headers=H["admin"]).json()["status"] == "cancelled"

    running = client.post("/api/v1/reindex/jobs", json={}, headers=H["admin"]).json()["id"]
    sdb = client.app.state.sessions
    sdb.update_job(running, status="running", worker="test")  # as a worker that has taken it
    assert client.post(f"/api/v1/jobs/{running}/cancel", headers=H["admin"]).json()["cancel_requested"]
    runner = JobRunner(sdb, client.app.state.models.current, handlers={KIND: client.app.state.reindex.run})
    runner.run(sdb.get_job(running))  # the command is stopped at its first line
    assert runner.sdb.claim_job("test") is None  # the job cancelled while queued is not run
    job = client.get(f"/api/v1/reindex/jobs/{running}", headers=H["admin"]).json()
    assert job["status"] == "cancelled" and job["result"] is None
    assert versions(client) == listed


def test_jiaoban_index_stopped_by_sigterm_removes_the_version_it_was_writing(models_dir, tmp_path):
    cases = write_csv(closed_rows(), tmp_path / "closed.csv")
    before = sorted(p.name for p in (models_dir / "versions").iterdir())
    copy = next(name for name in before if name.endswith("-copy"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "training.cli", "index", str(cases), "--bundle", str(models_dir / "versions" / copy),
         "--models-dir", str(models_dir), "--departments", str(write_registry(tmp_path)), "--encoder", "hashing"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    assert proc.stdout is not None
    for line in proc.stdout:
        if "编码开始" in line:  # the new version exists; its index is being built
            assert len(list((models_dir / "versions").iterdir())) == len(before) + 1
            proc.terminate()
            break
    assert proc.wait(60) == 128 + 15
    assert sorted(p.name for p in (models_dir / "versions").iterdir()) == before


def write_registry(tmp_path: Path) -> Path:
    from tests.conftest import MINI_REGISTRY

    path = tmp_path / "departments.json"
    path.write_text(json.dumps(MINI_REGISTRY, ensure_ascii=False), encoding="utf-8")
    return path


def _worker(client, url: str) -> PgQueue:
    state = client.app.state
    runner = JobRunner(state.sessions, state.models.current, handlers={KIND: state.reindex.run})
    return PgQueue(runner, url)


def test_on_postgresql_a_reindex_job_is_a_procrastinate_task_whose_result_is_served(pg_client, tmp_path):
    client, url = pg_client
    n = import_cases(client, tmp_path)
    before = client.get("/api/v1/models/active", headers=H["drafter"]).json()["version"]
    client.app.state.jobs.stop()  # hold the service's worker: the task waits in procrastinate's queue
    job_id = client.post("/api/v1/reindex/jobs", json={"why": "年度补录"}, headers=H["admin"]).json()["id"]
    assert queue_rows(url) == [(TASK, str(job_id), "todo")]
    worker = _worker(client, url)
    worker.start()
    try:
        job = wait_for(client, job_id)
    finally:
        worker.close()
    assert_served_from_a_new_index(client, job, before, n)
    assert queue_rows(url) == [(TASK, str(job_id), "succeeded")]


def test_on_postgresql_a_reindex_job_cancelled_while_queued_is_not_run(pg_client, tmp_path):
    client, url = pg_client
    import_cases(client, tmp_path)
    client.app.state.jobs.stop()
    listed = versions(client)
    job_id = client.post("/api/v1/reindex/jobs", json={}, headers=H["admin"]).json()["id"]
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=H["admin"]).json()["status"] == "cancelled"
    drain(_worker(client, url), url)
    assert client.app.state.sessions.get_job(job_id)["status"] == "cancelled"
    assert versions(client) == listed and not (client.app.state.reindex.directory(job_id) / "log.txt").exists()


def test_a_cancel_that_comes_after_the_command_finished_says_the_version_exists(tmp_path):
    from api.child_jobs import ChildJobs

    log = tmp_path / "log.txt"
    log.write_text("", encoding="utf-8")
    ChildJobs._note_made_before_cancel(log)  # nothing made: nothing said
    assert log.read_text(encoding="utf-8") == ""
    (tmp_path / "result.json").write_text(json.dumps({"version": "20261202-010203-index"}), encoding="utf-8")
    ChildJobs._note_made_before_cancel(log)
    line = log.read_text(encoding="utf-8")
    assert "新版本 20261202-010203-index 已建好但未上线" in line and "jiaoban promote 20261202-010203-index" in line
