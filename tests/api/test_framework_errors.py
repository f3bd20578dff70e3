"""FastAPI's and Starlette's own errors reach staff in Chinese, in the error envelope, with stable codes."""

import json
import re

from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import H, make_settings

ENGLISH = re.compile(r"There was an error|Expecting|Input should|Not Found|Method Not Allowed|Field required|"
                     r"JSON decode|boundary")
JSON_HEADERS = {**H["assigner"], "Content-Type": "application/json"}


def error(r) -> dict:
    err = r.json()["error"]
    assert set(err) == {"code", "message", "details"}
    assert not ENGLISH.search(json.dumps(err, ensure_ascii=False)), err
    return err


def test_malformed_json_names_the_line_and_column(client):
    r = client.post("/api/v1/cases", content='{"case_no": "A1",\n "title" "关于……的建议"}'.encode(),
                    headers=JSON_HEADERS)
    assert r.status_code == 422
    err = error(r)
    assert err["code"] == "validation_error"
    assert err["message"].startswith("请求参数有误：请求体不是合法的 JSON（第 2 行第 10 列：此处缺少英文冒号）")
    assert err["details"] == [{"field": "请求体", "message": err["message"].removeprefix("请求参数有误：请求体"),
                               "type": "json_invalid"}]


def test_a_trailing_comma_is_explained(client):
    r = client.post("/api/v1/route", content=b'{"title": "x", "body": "y",}', headers=JSON_HEADERS)
    assert r.status_code == 422 and "最后一项后不能有逗号" in error(r)["message"]


def test_a_body_that_is_not_utf8_is_a_400_in_chinese(client):
    r = client.post("/api/v1/route", content='{"title": "加装电梯"}'.encode("gbk"), headers=JSON_HEADERS)
    assert r.status_code == 400
    err = error(r)
    assert err["code"] == "http_400" and "UTF-8" in err["message"] and "Content-Type" in err["message"]


def test_a_wrong_content_type_says_which_to_send(client):
    for headers in ({**H["assigner"], "Content-Type": "text/plain"}, H["assigner"]):
        r = client.post("/api/v1/route", content=b'{"title": "x", "body": "y"}', headers=headers)
        assert r.status_code == 422
        err = error(r)
        assert err["code"] == "validation_error"
        assert err["message"] == "请求参数有误：请求体应为 JSON：请设置请求头 Content-Type: application/json"


def test_a_broken_upload_says_multipart(client):
    r = client.post("/api/v1/route/upload", content=b"not multipart",
                    headers={**H["assigner"], "Content-Type": "multipart/form-data"})
    assert r.status_code == 400
    err = error(r)
    assert err["code"] == "http_400" and "multipart/form-data" in err["message"] and "file" in err["message"]


def test_unknown_paths_are_404_in_chinese_everywhere(client):
    for path in ("/api/v1/nowhere", "/nowhere", "/static/missing.js"):
        r = client.get(path, headers=H["admin"])
        assert r.status_code == 404
        err = error(r)
        assert err["code"] == "http_404" and err["message"].startswith("找不到该地址") and "/api/v1" in err["message"]


def test_405_keeps_its_allow_header_and_names_the_methods(client):
    r = client.delete("/api/v1/route", headers=H["admin"])
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    err = error(r)
    assert err["code"] == "http_405" and err["message"] == "该地址不支持此请求方法；可用的方法：POST"
    r = client.put("/api/v1/keys", headers=H["admin"])
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "POST"}


def test_validation_messages_name_the_field_in_chinese(client):
    r = client.post("/api/v1/cases", json={"case_no": "A1", "kind": "信件", "title": "t", "body": "b",
                                           "year": 2026.5}, headers=H["assigner"])
    assert r.status_code == 422
    fields = {d["field"]: d["message"] for d in error(r)["details"]}
    assert fields == {"kind": "取值无效，应为 “建议”、“提案”、“议案” 之一", "year": "应为整数（不能有小数部分）"}
    r = client.get("/api/v1/cases?status=bogus&limit=0", headers=H["drafter"])
    fields = {d["field"]: d["message"] for d in error(r)["details"]}
    assert fields["status"].startswith("取值无效，应为 “open”") and fields["limit"].startswith("应不小于")
    r = client.post("/api/v1/route/batch", json={"items": [{"title": "a", "body": "b"}, {"title": 5}]},
                    headers=H["assigner"])
    assert r.status_code == 422 and error(r)["details"][0]["field"] == "items[1].title"


def test_model_errors_say_which_version_and_what_to_do(client, models_dir):
    version = (models_dir / "ACTIVE").read_text().strip()
    copy = models_dir / "versions" / f"{version}-copy"
    (copy / "routing.joblib").write_bytes(b"changed")
    r = client.post(f"/api/v1/models/{copy.name}/promote", headers=H["admin"])
    assert r.status_code == 409
    err = error(r)
    assert err["code"] == "model_error" and err["message"].startswith("模型版本无法使用：")
    assert str(copy) in err["message"] and "routing.joblib 校验和不符" in err["message"]
    assert "重新训练" in err["message"]
    r = client.post("/api/v1/models/rollback", headers=H["admin"])
    assert r.status_code == 409 and "无法回退" in error(r)["message"] and "jiaoban promote" in error(r)["message"]


def test_without_a_model_the_reason_is_chinese(tmp_path):
    with TestClient(create_app(make_settings(tmp_path, None))) as c:
        r = c.post("/api/v1/route", json={"title": "关于加装电梯的建议", "body": ""}, headers=H["assigner"])
        ready = c.get("/api/v1/health/ready")
    assert r.status_code == 503
    err = error(r)
    assert err["code"] == "model_unavailable" and "没有在用模型" in err["details"]["reason"]
    assert "jiaoban train" in err["details"]["reason"]
    assert ready.status_code == 503 and error(ready)["code"] == "not_ready"
