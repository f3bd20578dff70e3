from datetime import date

from fastapi.testclient import TestClient

from api.casework import add_months
from api.main import create_app
from tests.api.conftest import H, make_settings


def case_with(client, title, lead, assigned_on, outcome=None, due_on=None):
    case = client.post("/api/v1/cases", json={"title": title, "year": 2025, "route": False}, headers=H["admin"]).json()
    body = {"lead": lead, "assigned_on": assigned_on}
    if due_on:
        body["due_on"] = due_on
    assert client.post(f"/api/v1/cases/{case['id']}/decision", json=body, headers=H["admin"]).status_code == 201
    if outcome:
        r = client.post(f"/api/v1/cases/{case['id']}/outcome", json=outcome, headers=H["admin"])
        assert r.status_code == 201
    return case["id"]


def test_due_dates_default_to_three_months():
    assert add_months(date(2025, 1, 31), 3) == date(2025, 4, 30)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)


def test_open_and_overdue(client):
    late = case_with(client, "关于加装电梯的建议", "住建局", "2025-01-10")
    soon = case_with(client, "关于学位的建议", "教育局", "2025-03-01")
    case_with(client, "关于老街改造的建议", "东湖区", "2025-01-10", due_on="2025-07-10")
    case_with(client, "关于物业的建议", "住建局", "2025-01-05",
              outcome={"reply": "已办", "category": "A", "closed_on": "2025-03-01"})
    params = {"as_of": "2025-05-01"}
    ledger = client.get("/api/v1/ledger/open", params=params, headers=H["drafter"]).json()
    assert ledger["count"] == 3
    by_dept = {g["department"]["id"]: g for g in ledger["data"]}
    assert by_dept["zjj"]["count"] == 1 and by_dept["zjj"]["overdue_count"] == 1
    zjj_case = by_dept["zjj"]["cases"][0]
    assert zjj_case["id"] == late and zjj_case["due_on"] == "2025-04-10" and zjj_case["days_left"] == -21
    assert by_dept["jyj"]["cases"][0]["id"] == soon and by_dept["jyj"]["cases"][0]["overdue"] is False
    assert by_dept["dhq"]["cases"][0]["due_on"] == "2025-07-10"
    overdue = client.get("/api/v1/ledger/overdue", params=params, headers=H["assigner"]).json()
    assert [c["id"] for c in overdue["data"]] == [late] and overdue["data"][0]["lead"]["id"] == "zjj"
    later = client.get("/api/v1/ledger/overdue", params={"as_of": "2025-06-02"}, headers=H["drafter"]).json()
    assert [c["id"] for c in later["data"]] == [late, soon]
    only = client.get("/api/v1/ledger/open", params={**params, "department": "市教育局"}, headers=H["drafter"])
    assert [g["department"]["id"] for g in only.json()["data"]] == ["jyj"]
    listed = client.get(f"/api/v1/cases/{late}", headers=H["drafter"]).json()
    assert listed["overdue"] is True  # against today


def test_due_period_is_configurable(tmp_path, models_dir):
    with TestClient(create_app(make_settings(tmp_path, models_dir, due_months=6))) as c:
        case_id = case_with(c, "关于加装电梯的建议", "住建局", "2025-01-10")
        assert c.get(f"/api/v1/cases/{case_id}", headers=H["admin"]).json()["due_on"] == "2025-07-10"


def test_yearly_figures(client):
    closed = {"reply": "已办", "closed_on": "2025-03-01"}
    case_with(client, "甲", "住建局", "2025-01-05", outcome={**closed, "category": "A", "feedback": "满意"})
    case_with(client, "乙", "住建局", "2025-01-05",
              outcome={**closed, "category": "B", "feedback": "不满意", "closed_on": "2025-06-01"})
    case_with(client, "丙", "住建局", "2025-01-05")
    case_with(client, "丁", "乡村振兴局", "2025-01-05", outcome={**closed, "category": "A", "feedback": "基本满意"})
    r = client.get("/api/v1/ledger/figures", params={"year": 2025}, headers=H["drafter"])
    assert r.status_code == 200
    figs = {f["department"]["id"]: f for f in r.json()["data"]}
    z = figs["zjj"]
    assert (z["items"], z["closed"], z["on_time"], z["a_count"]) == (3, 2, 1, 1)
    assert z["on_time_rate"] == 0.5 and z["a_rate"] == 0.5 and z["satisfaction_rate"] == 0.5
    assert figs["nync"]["satisfaction_rate"] == 1.0 and figs["nync"]["items"] == 1
    assert client.get("/api/v1/ledger/figures", headers=H["drafter"]).status_code == 422
    assert client.get("/api/v1/ledger/figures", params={"year": 2030}, headers=H["drafter"]).json()["data"] == []
