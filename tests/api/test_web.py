import re

from api.main import STATIC


def test_staff_page_is_served_in_chinese(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "交办助手" in r.text and 'lang="zh-CN"' in r.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200


def test_page_uses_only_local_assets_and_keeps_the_key_per_session():
    for f in STATIC.iterdir():
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f.name
        assert "cdn" not in text.lower(), f.name
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    assert "sessionStorage" in js and "localStorage" not in js
    assert "innerHTML" not in js  # data goes in through textContent only


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/v1/route", "/api/v1/route/batch", "/api/v1/route/upload", "/api/v1/cases",
              "/api/v1/cases/{case_id}/decision", "/api/v1/cases/{case_id}/outcome", "/api/v1/ledger/overdue",
              "/api/v1/departments", "/api/v1/models/{version}/promote", "/api/v1/cases/export",
              "/api/v1/health/ready", "/api/v1/search"):
        assert p in paths, p
