"""Bad input of every kind the reliability issue lists answers 4xx with a Chinese message, never 5xx; good input
with odd characters goes through whole."""

from __future__ import annotations

import pytest

from tests.api.conftest import H

ITEM = {"title": "关于加快老旧小区加装电梯的建议", "body": "老旧小区加装电梯进展缓慢。"}
CJK = r"[\u4e00-\u9fff]"

BAD = [
    ("POST", "/api/v1/route", {"title": "", "body": "   "}, 422),  # empty / whitespace only
    ("POST", "/api/v1/route", {"title": "甲", "body": "长" * 1_000_000}, 422),  # 1 MB of text
    ("POST", "/api/v1/route", {"title": 12345, "body": "正文"}, 422),  # wrong JSON type
    ("POST", "/api/v1/route", {"title": ["列表"], "body": "正文"}, 422),
    ("POST", "/api/v1/route", {"title": "标题", "body": "正文", "extra": 1}, 422),  # unknown field
    ("POST", "/api/v1/route", {"title": "标题", "kind": "请愿"}, 422),  # unknown kind
    ("POST", "/api/v1/route/batch", {"items": []}, 422),
    ("POST", "/api/v1/route/batch", {"items": [ITEM] * 1001}, 422),  # huge array
    ("POST", "/api/v1/route/batch", {"items": "不是列表"}, 422),
    ("POST", "/api/v1/search", {"query": ""}, 422),
    ("POST", "/api/v1/search", {"query": "电梯", "k": 10**9}, 422),  # absurd page size
    ("POST", "/api/v1/search", {"query": "电梯", "year": "去年"}, 422),
    ("POST", "/api/v1/search", {"query": "电梯", "department": "宇宙局"}, 422),  # unknown unit
    ("GET", "/api/v1/cases?limit=1000000000", None, 422),
    ("GET", "/api/v1/cases?offset=-1", None, 422),
    ("GET", "/api/v1/cases?year=99999", None, 422),
    ("GET", "/api/v1/cases/abc", None, 404),  # not a case id: no such resource
    ("GET", "/api/v1/cases/0", None, 422),
    ("GET", "/api/v1/cases/999999999", None, 404),
    ("GET", "/api/v1/ledger/overdue?as_of=2026-02-30", None, 422),  # impossible date
    ("POST", "/api/v1/cases", {"title": "标题", "year": 1066}, 422),
    ("POST", "/api/v1/cases", {"title": "标题", "case_no": "A\n1"}, 422),  # control character in a number
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD)
def test_bad_requests_answer_4xx_in_chinese(client, method, path, body, status):
    import re

    r = client.request(method, path, json=body, headers=H["admin"])
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] and re.search(CJK, err["message"])


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401), ({"X-API-Key": "x"}, 401), ({"X-API-Key": "admin-key-0001 "}, 401), ({"Authorization": "Bearer "}, 401),
    ({"X-API-Key": "a" * 5000}, 401)])
def test_bad_keys_are_refused(client, headers, status):
    assert client.post("/api/v1/route", json=ITEM, headers=headers).status_code == status


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_wrong_content_type_is_4xx(client, content_type):
    r = client.post("/api/v1/route", content='{"title": "标题"}', headers={**H["assigner"],
                                                                        "Content-Type": content_type})
    assert 400 <= r.status_code < 500


def test_malformed_json_is_4xx(client):
    r = client.post("/api/v1/route", content='{"title": "标题",', headers={**H["assigner"],
                                                                        "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["message"]


@pytest.mark.parametrize("title", ["关于🚲共享单车乱停放的建议", "Proposal on bike lanes", "关于\u200b加装电梯的建议",
                                   "关于“加装电梯”的建议（第二次）"])
def test_odd_but_valid_text_goes_through_whole(client, title):
    created = client.post("/api/v1/cases", json={"title": title, "body": "请研究。"}, headers=H["assigner"])
    assert created.status_code == 201
    assert client.get(f"/api/v1/cases/{created.json()['id']}", headers=H["assigner"]).json()["title"] == title
    assert client.post("/api/v1/route", json={"title": title}, headers=H["assigner"]).status_code == 200
