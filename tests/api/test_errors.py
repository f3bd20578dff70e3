from fastapi.testclient import TestClient

from api.deps import get_registry
from tests.api.conftest import H


def test_every_error_is_the_json_envelope(client):
    r = client.get("/api/v1/nowhere", headers=H["admin"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "http_404"
    assert r.json()["error"]["message"].startswith("找不到该地址") and r.json()["error"]["details"] is None
    r = client.delete("/api/v1/cases", headers=H["admin"])
    assert r.status_code == 405 and r.json()["error"]["message"].startswith("该地址不支持此请求方法")
    r = client.post("/api/v1/route", content=b"{not json", headers={**H["assigner"],
                                                                  "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert "不是合法的 JSON" in r.json()["error"]["message"]


def test_validation_errors_name_the_field(client):
    r = client.post("/api/v1/cases", json={"title": "", "kind": "信件", "year": "前年", "extra": 1},
                    headers=H["assigner"])
    assert r.status_code == 422
    err = r.json()["error"]
    fields = {d["field"]: d["message"] for d in err["details"]}
    assert set(fields) == {"title", "kind", "year", "extra"}
    assert fields["title"] == "不能为空" and fields["year"] == "应为整数" and fields["extra"] == "不认识的字段"
    assert err["message"].startswith("请求参数有误：字段“") and "另有 3 处问题" in err["message"]
    r = client.get("/api/v1/cases/0", headers=H["drafter"])
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "case_id"
    r = client.get("/api/v1/cases/abc", headers=H["drafter"])  # not a case id: no such address
    assert r.status_code == 404 and r.json()["error"]["code"] == "http_404"


def test_unexpected_errors_hide_internals(app):
    def broken():
        raise RuntimeError("secret internals")

    app.dependency_overrides[get_registry] = broken
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/departments", headers=H["drafter"])
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal_error", "message": "服务器内部错误，请稍后重试或联系管理员",
                                  "details": None}}


def test_unexpected_error_log_leaves_out_the_message(app, caplog):
    secret = "".join(["加装", "电梯"])  # built at run time, so the traceback's source lines do not show it

    def broken():
        raise RuntimeError(f"关于{secret}的建议")

    app.dependency_overrides[get_registry] = broken
    with TestClient(app, raise_server_exceptions=False) as c:
        c.get("/api/v1/departments", headers=H["drafter"])
    assert "RuntimeError" in caplog.text and "加装电梯" not in caplog.text
