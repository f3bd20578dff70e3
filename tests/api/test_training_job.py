"""Training from the admin API: a background job exports the store's closed cases, runs `jiaoban train` as a child
process (the API never imports the training package), shows its timestamped steps, switches the service to the new
version when the comparison allows it, and each version's report is served."""

import io
import re
import time

from tests.api.conftest import H
from tests.api.fakedata import closed_rows, write_csv


def wait_for(client, job_id, limit_s=240, path="training"):
    """The job of ``/api/v1/{path}/jobs/{job_id}`` once finished."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/{path}/jobs/{job_id}", headers=H["admin"]).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"{path} job {job_id} did not finish within {limit_s} s: {job}")


def test_a_training_job_trains_compares_promotes_and_serves_its_report(client, tmp_path):
    content = write_csv(closed_rows(), tmp_path / "closed.csv").read_bytes()
    r = client.post("/api/v1/cases/import", files={"file": ("closed.csv", io.BytesIO(content))}, headers=H["admin"])
    assert r.status_code == 200, r.text
    before = client.get("/api/v1/models/active", headers=H["drafter"]).json()["version"]
    assert client.post("/api/v1/training/jobs", json={"promote": True}, headers=H["assigner"]).status_code == 403

    r = client.post("/api/v1/training/jobs", json={"promote": True, "min_test": 5, "why": "年度重训"},
                    headers=H["admin"])
    assert r.status_code == 202, r.text
    job = wait_for(client, r.json()["id"])
    assert job["status"] == "done", job
    assert job["done"] == job["total"] and job["total"] >= 4
    steps = [line for line in job["log"] if re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[\d/\d\] ", line)]
    assert any("与在用模型比较" in s for s in steps) and any("检索索引" in s for s in steps)
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=H["admin"]).json()["status"] == "done"

    result = job["result"]
    version = result["version"]
    assert result["evaluation"]["mode"] in ("unseen", "backtest") and result["decision"]["allowed"]
    active = client.get("/api/v1/models/active", headers=H["drafter"]).json()["version"]
    assert active == version != before  # switched in place, no restart
    routed = client.post("/api/v1/route", json={"title": "关于加装电梯的建议", "body": "加装电梯。"},
                         headers=H["assigner"]).json()
    assert routed["model_version"] == version
    history = client.get("/api/v1/models", headers=H["admin"]).json()["history"]
    assert history[-1]["version"] == version and history[-1]["by"] == job["created_by"] != "" and "年度重训" in history[-1]["why"]

    page = client.get(f"/api/v1/models/{version}/report", headers=H["admin"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 4
    figures = client.get(f"/api/v1/models/{version}/report.json", headers=H["admin"]).json()
    assert figures["version"] == version and figures["threshold"]["in_service"] == result["threshold"]["in_service"]
    assert client.get(f"/api/v1/models/{version}/report", headers=H["drafter"]).status_code == 403
    assert client.get("/api/v1/models/nope/report", headers=H["admin"]).json()["error"]["code"] == "report_not_found"


def test_training_needs_closed_cases(client):
    r = client.post("/api/v1/training/jobs", json={}, headers=H["admin"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_few_cases"


def test_a_training_job_can_blend_the_vote_of_similar_cases(client, tmp_path):
    content = write_csv(closed_rows(), tmp_path / "closed.csv").read_bytes()
    assert client.post("/api/v1/cases/import", files={"file": ("closed.csv", io.BytesIO(content))},
                       headers=H["admin"]).status_code == 200
    r = client.post("/api/v1/training/jobs", json={"knn_blend": "yes"}, headers=H["admin"])
    assert r.status_code == 422  # strict: a boolean
    r = client.post("/api/v1/training/jobs", json={"knn_blend": True, "min_test": 5}, headers=H["admin"])
    assert r.status_code == 202, r.text
    job = wait_for(client, r.json()["id"])
    assert job["status"] == "done", job
    assert any("近邻投票与类案检索共用" in line for line in job["log"])
    threshold = job["result"]["threshold"]
    assert "knn_blend" in threshold and ("text_only" in threshold) is threshold["knn_blend"]
