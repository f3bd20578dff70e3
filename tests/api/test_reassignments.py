"""退办/改办: the lead unit asks within the window; an assigner approves (the item moves, its deadline restarts) or
refuses with a reason; every step is kept and counted."""

from __future__ import annotations

from datetime import date

import pytest

from api import reassign
from api.auth import Principal
from api.role_schemas import ReassignmentCreate
from models import clock
from tests.api.conftest import H
from tests.api.test_scoped_keys import make_case


@pytest.fixture()
def zjj_key(client) -> dict:
    r = client.post("/api/v1/keys", json={"name": "住建局", "role": "drafter", "unit": "市住建局"}, headers=H["admin"])
    return {"X-API-Key": r.json()["key"]}


def ask(client, case_id, key, **body):
    return client.post(f"/api/v1/cases/{case_id}/reassignment",
                       json={"reason": "不属于本单位职责，应由教育部门办理", **body}, headers=key)


def test_request_then_approve_moves_the_item_and_restarts_its_deadline(client, zjj_key):
    case_id = make_case(client, "关于课后服务的建议", "市住建局")
    r = ask(client, case_id, zjj_key, suggested_unit="教育局")
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "requested" and req["suggested"]["id"] == "jyj" and req["deadline"]
    assert ask(client, case_id, zjj_key).json()["error"]["code"] == "reassignment_pending"
    pending = client.get("/api/v1/reassignments", params={"status": "requested"}, headers=H["assigner"]).json()
    assert [p["id"] for p in pending["data"]] == [req["id"]]
    done = client.post(f"/api/v1/reassignments/{req['id']}/approve", json={"answer": "同意"}, headers=H["assigner"])
    assert done.status_code == 200 and done.json()["status"] == "approved"
    case = client.get(f"/api/v1/cases/{case_id}", headers=H["assigner"]).json()
    assert case["lead"]["id"] == "jyj" and case["decisions"][-1]["note"].startswith("改办")
    assert case["assigned_on"] == clock.today().isoformat()
    assert client.get(f"/api/v1/cases/{case_id}", headers=zjj_key).status_code == 404  # not theirs any more
    again = client.post(f"/api/v1/reassignments/{req['id']}/refuse", json={"answer": "x"}, headers=H["assigner"])
    assert again.status_code == 409
    figures = client.get("/api/v1/reassignments/figures", headers=H["assigner"]).json()
    assert figures["units"][0]["unit"]["id"] == "zjj" and figures["units"][0]["approved"] == 1


def test_refusal_needs_a_reason_and_keeps_the_item(client, zjj_key):
    case_id = make_case(client, "关于加装电梯的建议", "市住建局")
    req = ask(client, case_id, zjj_key).json()
    r = client.post(f"/api/v1/reassignments/{req['id']}/refuse", json={}, headers=H["assigner"])
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "answer"
    r = client.post(f"/api/v1/reassignments/{req['id']}/refuse", json={"answer": "加装电梯属住建职责"},
                    headers=H["assigner"])
    assert r.json()["status"] == "refused" and r.json()["answer"] == "加装电梯属住建职责"
    assert client.get(f"/api/v1/cases/{case_id}", headers=H["assigner"]).json()["lead"]["id"] == "zjj"
    mine = client.get("/api/v1/reassignments", headers=zjj_key).json()
    assert [m["status"] for m in mine["data"]] == ["refused"]


def test_only_the_lead_unit_within_the_window(client, zjj_key, settings):
    co_case = make_case(client, "关于学校周边道路的建议", "市教育局", ["市住建局"])
    assert ask(client, co_case, zjj_key).json()["error"]["code"] == "not_the_lead"
    case_id = make_case(client, "关于物业服务的建议", "市住建局")
    store, registry = client.app.state.store, client.app.state.registry
    principal = Principal(key_id=0, name="t", role="drafter", unit_id="zjj")
    assigned = date.fromisoformat(store.get_case(case_id)["assigned_on"])
    last = settings.calendar().add(assigned, settings.reassign_days)
    with pytest.raises(Exception) as late:
        reassign.request(store, registry, settings, case_id, ReassignmentCreate(reason="晚了"), principal=principal,
                         today=date.fromordinal(last.toordinal() + 1))
    assert getattr(late.value, "code", "") == "reassign_window_closed"
    ok = reassign.request(store, registry, settings, case_id, ReassignmentCreate(reason="不是我们的"),
                          principal=principal, today=last)
    assert ok["status"] == "requested"
    assert client.post("/api/v1/cases/1/reassignment", json={"reason": "x"}, headers=H["assigner"]).status_code == 403
