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


def test_split_through_the_api_names_the_request_field_at_fault(tmp_path, models_dir):
    settings = make_settings(tmp_path, models_dir)
    new = [{"id": "srylj", "name": "江州市市容和园林管理局", "duties": "市容环境卫生、生活垃圾分类、园林绿化"},
           {"id": "zhzfj", "name": "江州市综合行政执法局", "duties": "查处违法建设、占道经营、噪声扰民"}]
    with TestClient(create_app(settings)) as c:
        def split(**body):
            return c.post("/api/v1/departments/split", json={"on": "2026-01-01", **body}, headers=H["admin"])

        one = split(old_id="cgzf", new=new[:1], main_id="srylj")
        assert one.status_code == 409 and one.json()["error"]["details"]["field"] == "new"
        clash = split(old_id="cgzf", into_ids=["jyj"], new=[{"id": "x", "name": "江州市教育局"}], main_id="jyj")
        assert clash.status_code == 409 and clash.json()["error"]["details"]["field"] == "new[0].name"
        gone = split(old_id="cgzf", into_ids=["xczxj"], new=new[:1], main_id="srylj")
        assert gone.status_code == 409 and gone.json()["error"]["details"]["field"] == "into_ids[0]"
        unknown = split(old_id="cgzf", into_ids=["zz"], new=new[:1], main_id="srylj")
        assert unknown.status_code == 409 and unknown.json()["error"]["details"]["field"] == "into_ids[0]"
        outside = split(old_id="cgzf", new=new, main_id="jyj")
        assert outside.status_code == 409 and outside.json()["error"]["details"]["field"] == "main_id"
        assert c.post("/api/v1/departments/split", json={"old_id": "cgzf", "on": "2026-01-01", "main_id": "srylj",
                                                          "new": new}, headers=H["drafter"]).status_code == 403
        r = split(old_id="cgzf", new=new, main_id="srylj")
        assert r.status_code == 200 and r.json()["id"] == "srylj"
        assert [p["id"] for p in r.json()["predecessors"]] == ["cgj", "cgzf"]
    with TestClient(create_app(settings)) as c:  # kept in the store
        depts = {d["id"]: d for d in c.get("/api/v1/departments", headers=H["admin"]).json()["data"]}
        assert [p["id"] for p in depts["cgzf"]["split_into"]] == ["srylj", "zhzfj"]
        assert depts["cgzf"]["current"]["id"] == "srylj" and depts["zhzfj"]["active"] is True
        case = c.post("/api/v1/cases", json={"title": "关于违法建设的建议", "route": False}, headers=H["admin"]).json()
        d = c.post(f"/api/v1/cases/{case['id']}/decision", json={"lead": "城管执法局"}, headers=H["admin"]).json()
        assert d["lead"]["id"] == "srylj"  # a name of the split unit means its main successor; staff choose otherwise
