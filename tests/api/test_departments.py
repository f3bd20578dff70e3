import json

from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import H, make_settings


def test_list_with_aliases_and_lineage(client):
    r = client.get("/api/v1/departments", headers=H["drafter"])
    assert r.status_code == 200
    depts = {d["id"]: d for d in r.json()["data"]}
    assert r.json()["city"] == "江州市"
    assert "农业局" in depts["nync"]["aliases"]
    assert [p["id"] for p in depts["nync"]["predecessors"]] == ["xczxj"]
    assert depts["xczxj"]["active"] is False and depts["xczxj"]["current"]["id"] == "nync"
    active = client.get("/api/v1/departments", params={"include_inactive": False}, headers=H["drafter"]).json()
    assert {d["id"] for d in active["data"]} == {"zjj", "nync", "cgzf", "jyj", "dhq"}


def test_add_and_reorganise_are_persisted_and_the_seed_file_is_untouched(tmp_path, models_dir):
    settings = make_settings(tmp_path, models_dir)
    seed_before = settings.departments.read_bytes()
    with TestClient(create_app(settings)) as c:
        r = c.post("/api/v1/departments", json={"id": "sjj", "name": "江州市数据局", "short_name": "市数据局",
                                                "aliases": ["数据局"]}, headers=H["admin"])
        assert r.status_code == 201 and r.json()["active"] is True
        dup = c.post("/api/v1/departments", json={"id": "sjj", "name": "江州市数据局"}, headers=H["admin"])
        assert dup.status_code == 409 and "已存在" in dup.json()["error"]["message"]
        merge = {"old_ids": ["jyj"], "on": "2025-03-01",
                 "new": {"id": "jyty", "name": "江州市教育和体育局", "short_name": "市教体局", "aliases": ["教体局"]}}
        r = c.post("/api/v1/departments/reorganise", json=merge, headers=H["admin"])
        assert r.status_code == 200 and [p["id"] for p in r.json()["predecessors"]] == ["jyj"]
        r = c.post("/api/v1/departments/reorganise", json={"old_ids": ["sjj"], "on": "2025-06-01", "into_id": "zjj"},
                   headers=H["admin"])
        assert r.status_code == 200 and r.json()["id"] == "zjj"
        bad = c.post("/api/v1/departments/reorganise", json={"old_ids": ["zz"], "on": "2025-06-01",
                                                              "into_id": "zjj"}, headers=H["admin"])
        assert bad.status_code == 409 and "不在名录中" in bad.json()["error"]["message"]
        both = c.post("/api/v1/departments/reorganise", json={"old_ids": ["jyj"], "on": "2025-06-01"},
                      headers=H["admin"])
        assert both.status_code == 422 and "须且只能填写一项" in both.json()["error"]["message"]
    with TestClient(create_app(settings)) as c:  # a restart reads the registry back from the store
        depts = {d["id"]: d for d in c.get("/api/v1/departments", headers=H["admin"]).json()["data"]}
        assert depts["jyj"]["current"]["id"] == "jyty" and depts["sjj"]["successor"] == "zjj"
        case = c.post("/api/v1/cases", json={"title": "关于学位的建议", "route": False}, headers=H["admin"]).json()
        d = c.post(f"/api/v1/cases/{case['id']}/decision", json={"lead": "教育局"}, headers=H["admin"]).json()
        assert d["lead"]["id"] == "jyty"
        exported = c.get("/api/v1/departments/registry.json", headers=H["admin"]).json()
        assert any(x["id"] == "jyty" for x in exported["departments"])
    assert settings.departments.read_bytes() == seed_before
    assert "jyty" not in json.loads(seed_before)


def test_department_input_is_validated(client):
    r = client.post("/api/v1/departments", json={"id": "有空 格", "name": "江州市某局"}, headers=H["admin"])
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "id"
