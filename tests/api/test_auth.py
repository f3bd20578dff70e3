import sqlite3

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.config import Settings
from api.main import create_app
from tests.api.conftest import KEYS, H, make_settings, sqlite_file

ITEM = {"title": "关于加快老旧小区加装电梯的建议", "body": "老旧小区居民上下楼困难。"}


def test_no_key_or_a_wrong_key_is_401(client):
    for method, path in [("post", "/api/v1/route"), ("get", "/api/v1/cases"), ("get", "/api/v1/ledger/overdue"),
                         ("get", "/api/v1/departments"), ("get", "/api/v1/models")]:
        r = getattr(client, method)(path, json=ITEM) if method == "post" else client.get(path)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "missing_api_key"
        assert "X-API-Key" in r.json()["error"]["message"]
    r = client.get("/api/v1/cases", headers={"X-API-Key": "not-a-real-key-123"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_bearer_header_is_accepted(client):
    r = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {KEYS['drafter']}"})
    assert r.status_code == 200


# (method, path, body, roles allowed besides admin)
BOUNDARIES = [
    ("post", "/api/v1/route", ITEM, {"assigner"}),
    ("post", "/api/v1/route/batch", {"items": [ITEM]}, {"assigner"}),
    ("post", "/api/v1/cases", ITEM, {"assigner"}),
    ("post", "/api/v1/cases/{case}/decision", {"lead": "住建局"}, {"assigner"}),
    ("post", "/api/v1/cases/{case}/outcome", {"reply": "已办理", "category": "A"}, {"drafter"}),
    ("get", "/api/v1/cases/{case}", None, {"assigner", "drafter"}),
    ("get", "/api/v1/cases", None, {"assigner", "drafter"}),
    ("get", "/api/v1/ledger/open", None, {"assigner", "drafter"}),
    ("post", "/api/v1/search", {"query": "电梯"}, {"assigner", "drafter"}),
    ("get", "/api/v1/cases/export", None, set()),
    ("get", "/api/v1/models", None, set()),
    ("post", "/api/v1/models/rollback", None, set()),
    ("post", "/api/v1/departments", {"id": "x1", "name": "江州市新设局"}, set()),
    ("post", "/api/v1/keys", {"name": "甲", "role": "drafter"}, set()),
    ("get", "/api/v1/keys", None, set()),
]


@pytest.mark.parametrize("method,path,body,allowed", BOUNDARIES, ids=[f"{m} {p}" for m, p, _, _ in BOUNDARIES])
def test_role_boundaries(client, method, path, body, allowed):
    case = client.post("/api/v1/cases", json=ITEM, headers=H["admin"]).json()["id"]
    client.post(f"/api/v1/cases/{case}/decision", json={"lead": "住建局"}, headers=H["admin"])
    path = path.format(case=case)
    for role in ("assigner", "drafter"):
        r = client.request(method.upper(), path, json=body, headers=H[role])
        if role in allowed:
            assert r.status_code < 400, (role, r.json())
        else:
            assert r.status_code == 403, (role, r.status_code)
            err = r.json()["error"]
            assert err["code"] == "forbidden" and "无权" in err["message"]
            assert err["details"]["role"] == role


def test_assigner_cannot_import_or_promote(client, tmp_path, closed_csv):
    with open(closed_csv, "rb") as fh:
        r = client.post("/api/v1/cases/import", files={"file": ("a.csv", fh, "text/csv")}, headers=H["assigner"])
    assert r.status_code == 403
    version = client.get("/api/v1/models", headers=H["admin"]).json()["data"][0]["version"]
    assert client.post(f"/api/v1/models/{version}/promote", headers=H["assigner"]).status_code == 403
    assert client.post(f"/api/v1/models/{version}/promote", headers=H["drafter"]).status_code == 403


@sqlite_file
def test_admin_creates_lists_and_revokes_keys(client, settings):
    created = client.post("/api/v1/keys", json={"name": "区政府督查科", "role": "drafter"}, headers=H["admin"])
    assert created.status_code == 201
    key = created.json()["key"]
    assert created.json()["prefix"] == key[:6]
    assert client.get("/api/v1/cases", headers={"X-API-Key": key}).status_code == 200
    listed = client.get("/api/v1/keys", headers=H["admin"]).json()
    assert all("key" not in k and "hash" not in k for k in listed["data"])
    assert client.delete(f"/api/v1/keys/{created.json()['id']}", headers=H["admin"]).status_code == 204
    assert client.get("/api/v1/cases", headers={"X-API-Key": key}).status_code == 401
    # Keys are stored hashed: no clear key anywhere in the database.
    raw = open(settings.database, "rb").read()
    assert key.encode() not in raw and KEYS["admin"].encode() not in raw


def test_keys_removed_from_settings_are_revoked_at_restart(tmp_path, models_dir):
    with TestClient(create_app(make_settings(tmp_path, models_dir))) as c:
        assert c.get("/api/v1/cases", headers=H["drafter"]).status_code == 200
    only_admin = make_settings(tmp_path, models_dir, api_keys=f"admin:{KEYS['admin']}")
    with TestClient(create_app(only_admin)) as c:
        assert c.get("/api/v1/cases", headers=H["drafter"]).status_code == 401
        assert c.get("/api/v1/cases", headers=H["admin"]).status_code == 200


def test_development_without_keys_prints_one_admin_key(tmp_path, models_dir, capsys, caplog):
    with TestClient(create_app(make_settings(tmp_path, models_dir, api_keys=""))) as c:
        out = capsys.readouterr().out
        key = next(line.strip() for line in out.splitlines() if line.strip().startswith("jb_"))
        assert c.get("/api/v1/keys", headers={"X-API-Key": key}).status_code == 200
    assert key not in caplog.text
    # A later start prints a new key; the old one stops working.
    with TestClient(create_app(make_settings(tmp_path, models_dir, api_keys=""))) as c:
        assert c.get("/api/v1/keys", headers={"X-API-Key": key}).status_code == 401


def test_production_refuses_to_start_without_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("JIAOBAN_API_KEYS", raising=False)
    with pytest.raises(ValidationError, match="JIAOBAN_ENV=production 时必须设置 JIAOBAN_API_KEYS"):
        Settings(_env_file=None, env="production")
    with pytest.raises(ValidationError, match="角色:密钥"):
        Settings(_env_file=None, api_keys="boss:abcdefghijklmnop")
    with pytest.raises(ValidationError, match="不足 12 个字符"):
        Settings(_env_file=None, env="production", api_keys="admin:short")
    monkeypatch.setenv("JIAOBAN_ENV", "production")
    monkeypatch.setenv("JIAOBAN_API_KEYS", "admin:a-long-enough-key")
    monkeypatch.setenv("JIAOBAN_REPLY_CATEGORIES", "A,B,C,D")
    s = Settings(_env_file=None)
    assert s.parsed_api_keys == [("admin", "a-long-enough-key")] and s.reply_categories == ["A", "B", "C", "D"]


@sqlite_file
def test_key_table_holds_salted_hashes(client, settings):
    with sqlite3.connect(settings.database) as conn:
        rows = conn.execute("SELECT salt, hash FROM api_keys").fetchall()
    assert len({salt for salt, _ in rows}) == len(rows) and all(len(h) == 64 for _, h in rows)
