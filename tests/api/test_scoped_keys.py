"""Unit-scoped drafter keys see and act on their unit's cases only; other cases answer 404, as if absent."""

from __future__ import annotations

import pytest

from tests.api.conftest import H


def make_case(client, title: str, lead: str, co: list[str] | None = None) -> int:
    case = client.post("/api/v1/cases", json={"title": title, "body": title + "。"}, headers=H["assigner"]).json()
    client.post(f"/api/v1/cases/{case['id']}/decision", json={"lead": lead, "co_handlers": co or []},
                headers=H["assigner"])
    return case["id"]


@pytest.fixture()
def scoped(client) -> dict:
    r = client.post("/api/v1/keys", json={"name": "住建局答复", "role": "drafter", "unit": "住建局"}, headers=H["admin"])
    assert r.status_code == 201, r.text
    assert r.json()["unit"]["id"] == "zjj"
    return {"X-API-Key": r.json()["key"]}


def test_a_scoped_key_sees_its_units_cases_and_nothing_else(client, scoped):
    mine = make_case(client, "关于加装电梯的建议", "市住建局")
    shared = make_case(client, "关于学校周边道路的建议", "市教育局", ["市住建局"])
    other = make_case(client, "关于课后服务的建议", "市教育局")
    listed = client.get("/api/v1/cases", headers=scoped).json()
    assert {c["id"] for c in listed["data"]} == {mine, shared} and listed["count"] == 2
    assert client.get(f"/api/v1/cases/{mine}", headers=scoped).status_code == 200
    hidden = client.get(f"/api/v1/cases/{other}", headers=scoped)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "case_not_found"
    reply = {"reply": "已办理。", "category": "A"}
    assert client.post(f"/api/v1/cases/{other}/outcome", json=reply, headers=scoped).status_code == 404
    assert client.post(f"/api/v1/cases/{mine}/outcome", json=reply, headers=scoped).status_code == 201
    ledger = client.get("/api/v1/ledger/open", headers=scoped).json()
    assert {c["id"] for g in ledger["data"] for c in g["cases"]} == {mine, shared}  # an interim reply: still open
    assert client.get("/api/v1/cases", headers=H["drafter"]).json()["count"] == 3  # an unscoped drafter key


def test_who_am_i_names_the_role_unit_and_actions(client, scoped):
    me = client.get("/api/v1/keys/me", headers=scoped).json()
    assert me["role"] == "drafter" and me["unit"]["id"] == "zjj"
    assert "record_outcome" in me["actions"] and "decide" not in me["actions"]
    assert "decide" in client.get("/api/v1/keys/me", headers=H["assigner"]).json()["actions"]


def test_only_drafter_keys_name_a_unit(client):
    r = client.post("/api/v1/keys", json={"name": "x", "role": "assigner", "unit": "住建局"}, headers=H["admin"])
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "unit"
    r = client.post("/api/v1/keys", json={"name": "x", "role": "drafter", "unit": "不存在局"}, headers=H["admin"])
    assert r.status_code == 422 and "unit" in r.text


def test_a_supervisor_reads_everything_and_decides_nothing(client):
    r = client.post("/api/v1/keys", json={"name": "督查室", "role": "supervisor"}, headers=H["admin"])
    sup = {"X-API-Key": r.json()["key"]}
    case = make_case(client, "关于加装电梯的建议", "市住建局")
    assert client.get(f"/api/v1/cases/{case}", headers=sup).status_code == 200
    assert client.get("/api/v1/ledger/open", headers=sup).status_code == 200
    assert client.post(f"/api/v1/cases/{case}/decision", json={"lead": "市教育局"}, headers=sup).status_code == 403
    assert client.post(f"/api/v1/cases/{case}/outcome", json={"reply": "x", "category": "A"},
                       headers=sup).status_code == 403
