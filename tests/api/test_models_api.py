import json

from models.bundle import META_FILE
from tests.api.conftest import H

ITEM = {"title": "关于加快老旧小区加装电梯的建议", "body": "老旧小区加装电梯。"}


def route_version(client):
    return client.post("/api/v1/route", json=ITEM, headers=H["assigner"]).json()["model_version"]


def test_active_manifest_and_versions(client):
    r = client.get("/api/v1/models/active", headers=H["drafter"])
    assert r.status_code == 200
    m = r.json()
    assert "files" not in m["manifest"] and m["manifest"]["metrics"]["metrics"]["top1"] > 0.5
    assert m["manifest"]["data"]["rows"] == 120
    versions = client.get("/api/v1/models", headers=H["admin"]).json()
    assert versions["count"] == 2 and versions["active"] == m["version"]
    assert [v["active"] for v in versions["data"]] == [True, False]
    assert versions["history"][0]["version"] == m["version"]


def test_promote_and_rollback_hot_reload(client, models_dir):
    original = route_version(client)
    other = f"{original}-copy"
    r = client.post(f"/api/v1/models/{other}/promote", headers=H["admin"])
    assert r.status_code == 200 and r.json()["version"] == other
    assert route_version(client) == other
    assert (models_dir / "ACTIVE").read_text().strip() == other
    r = client.post("/api/v1/models/rollback", params={"why": "新版本误派教育类建议"}, headers=H["admin"])
    assert r.status_code == 200 and r.json()["version"] == original
    assert route_version(client) == original
    last = client.get("/api/v1/models", headers=H["admin"]).json()["history"][-1]
    assert (last["action"], last["version"], last["previous"]) == ("rollback", original, other)
    assert last["why"] == "新版本误派教育类建议" and last["by"] == "env-admin-1"


def test_promote_refuses_unknown_or_tampered_versions(client, models_dir):
    original = route_version(client)
    r = client.post("/api/v1/models/nope/promote", headers=H["admin"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    copy = models_dir / "versions" / f"{original}-copy"
    meta = json.loads((copy / META_FILE).read_text(encoding="utf-8"))
    meta["files"]["routing.joblib"] = "0" * 64
    (copy / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    r = client.post(f"/api/v1/models/{copy.name}/promote", headers=H["admin"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "model_error"
    assert "校验和不符" in r.json()["error"]["details"]["reason"]
    assert route_version(client) == original and (models_dir / "ACTIVE").read_text().strip() == original
    r = client.post("/api/v1/models/rollback", headers=H["admin"])
    assert r.status_code == 409 and "无法回退" in r.json()["error"]["details"]["reason"]
