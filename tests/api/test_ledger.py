from datetime import date, datetime, timezone

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.casework import add_months
from api.config import Settings, settings_error_message
from api.main import create_app
from models import clock
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


@pytest.fixture
def one_am_in_beijing(monkeypatch):
    """The clock reads 17:00 UTC on 1 December 2026: already 01:00 on 2 December in the office's zone."""
    instant = datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return instant.astimezone(tz)

    monkeypatch.setattr(clock, "datetime", Frozen)
    yield instant
    clock.set_zone(clock.DEFAULT_ZONE)


@pytest.mark.parametrize(("zone", "overdue"), [("Asia/Shanghai", True), ("UTC", False)])
def test_today_for_deadlines_is_the_offices_day(tmp_path, models_dir, one_am_in_beijing, zone, overdue):
    """An item due on 1 December is overdue at 01:00 on 2 December Beijing time even on a server that runs on UTC
    (where the date is still 1 December); with JIAOBAN_TIMEZONE=UTC it is due today and not yet overdue."""
    with TestClient(create_app(make_settings(tmp_path, models_dir, timezone=zone))) as c:
        assert c.get("/api/v1/keys/me", headers=H["assigner"]).json()["timezone"] == zone
        case_id = case_with(c, "关于加装电梯的建议", "住建局", "2026-09-01", due_on="2026-12-01")
        listed = c.get("/api/v1/ledger/overdue", headers=H["assigner"]).json()
        assert [x["id"] for x in listed["data"]] == ([case_id] if overdue else [])
        assert c.get(f"/api/v1/cases/{case_id}", headers=H["drafter"]).json()["overdue"] is overdue


def test_an_unknown_time_zone_is_named_at_start_up(monkeypatch):
    monkeypatch.setenv("JIAOBAN_TIMEZONE", "Beijing")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    message = settings_error_message(caught.value)
    assert "JIAOBAN_TIMEZONE" in message and "未知时区" in message and "Asia/Shanghai" in message
