from nlp.normalize import normalize
from tests.api.conftest import H

ITEM = {"title": "关于加快老旧小区加装电梯的建议", "body": "老旧小区加装电梯。"}


def _promote_copy(c, models_dir):
    from models.bundle import BundleStore

    active = BundleStore(models_dir).active()
    assert c.post(f"/api/v1/models/{active}-copy/promote", headers=H["admin"]).status_code == 200


def test_search_without_an_index_is_503(client, models_dir):
    _promote_copy(client, models_dir)
    r = client.post("/api/v1/search", json={"query": "加装电梯"}, headers=H["drafter"])
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "search_unavailable" and "类案检索" in r.json()["error"]["message"]
    r = client.post("/api/v1/search/duplicates", json={"texts": ["甲", "甲"]}, headers=H["assigner"])
    assert r.status_code == 503
    # Routing goes on without precedents.
    out = client.post("/api/v1/route", json=ITEM, headers=H["assigner"]).json()
    assert out["lead"][0]["id"] == "zjj" and out["precedents_available"] is False


def test_search_filters_with_a_resolved_department(client):
    r = client.post("/api/v1/search", json={"query": "加装电梯", "k": 3, "year": 2023, "department": "住建局",
                                            "kind": "建议"}, headers=H["drafter"])
    assert r.status_code == 200 and 1 <= r.json()["count"] <= 3
    assert all(h["lead"]["id"] == "zjj" and h["year"] == 2023 and h["kind"] == "建议" for h in r.json()["data"])
    r = client.post("/api/v1/search", json={"query": "加装电梯", "department": "住建委"}, headers=H["drafter"])
    assert r.status_code == 422 and r.json()["error"]["details"]["suggestions"]


def test_route_includes_precedents_and_batch_groups_duplicates(client):
    out = client.post("/api/v1/route", json=ITEM, headers=H["assigner"]).json()
    assert out["precedents_available"] is True and len(out["precedents"]) == 5
    other = {"title": "关于增加学位供给的建议", "body": "学位供给紧张，课后服务不足。"}
    batch = client.post("/api/v1/route/batch", json={"items": [ITEM, other, ITEM]}, headers=H["assigner"]).json()
    assert batch["duplicate_groups"] == [[0, 2]] and batch["precedents_available"] is True
    assert all(r["precedents"] and r["lead"][0]["reason"] for r in batch["data"])
    dup = client.post("/api/v1/search/duplicates", json={"texts": ["加装电梯", "学位供给", "加装电梯"]},
                      headers=H["drafter"]).json()
    assert dup["groups"] == [[0, 2]]


def test_a_failing_index_does_not_break_routing(client, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("index offline")

    index = client.app.state.models.current().index
    monkeypatch.setattr(index, "search", boom)
    out = client.post("/api/v1/route", json=ITEM, headers=H["assigner"]).json()
    assert out["lead"][0]["id"] == "zjj" and out["precedents"] == [] and out["precedents_available"] is False


def test_the_bundles_own_index_is_served_and_follows_promote(client, models_dir):
    c = client
    assert c.get("/api/v1/health/ready").json()["checks"]["search_available"] is True
    hits = c.post("/api/v1/search", json={"query": "老旧小区加装电梯", "k": 3, "department": "住建局"},
                  headers=H["drafter"]).json()
    assert hits["count"] == 3 and all(h["lead"]["id"] == "zjj" for h in hits["data"])
    assert "proposer" not in hits["data"][0] and hits["data"][0]["reply_excerpt"]
    assert isinstance(hits["data"][0]["case_id"], str)  # 63-bit ids would lose digits in JavaScript
    from tests.api.fakedata import closed_rows

    old = closed_rows()[0]
    again = c.post("/api/v1/route", json={"title": old["标题"], "body": old["内容"]}, headers=H["assigner"]).json()
    assert again["repeat_of"]["case_no"] == old["编号"] and again["repeat_of"]["similarity"] > 0.99
    _promote_copy(c, models_dir)
    assert c.post("/api/v1/search", json={"query": "电梯"}, headers=H["drafter"]).status_code == 503
    assert "检索索引" in c.get("/api/v1/health/ready").json()["checks"]["search_note"]
    c.post("/api/v1/models/rollback", headers=H["admin"])
    assert c.post("/api/v1/search", json={"query": "电梯"}, headers=H["drafter"]).status_code == 200


def test_full_replies_and_the_feedback_filter(client):
    body = {"query": "老旧小区加装电梯", "k": 5}
    short = client.post("/api/v1/search", json=body, headers=H["drafter"]).json()["data"]
    full = client.post("/api/v1/search", json={**body, "full_reply": True}, headers=H["drafter"]).json()["data"]
    assert short and "reply" not in short[0] and full[0]["reply"].startswith(full[0]["reply_excerpt"].rstrip("…"))
    assert full[0]["body"]
    unhappy = client.post("/api/v1/search", json={**body, "feedback": "不满意"}, headers=H["drafter"]).json()["data"]
    assert unhappy and all(h["feedback"] == "不满意" for h in unhappy)


def test_replies_target_the_matching_passage_and_shared_words(client):
    items = client.post("/api/v1/search", json={"query": "老旧小区加装电梯", "k": 3}, headers=H["drafter"]).json()
    hit = items["data"][0]
    assert hit["target"] == "items" and hit["passage"]["field"] == "items" and hit["matched_terms"]
    passage = hit["passage"]
    assert 0 <= passage["start"] < passage["end"] <= passage["length"] and passage["text"]
    assert any(t in passage["text"] for t in hit["matched_terms"])
    replies = client.post("/api/v1/search", json={"query": "老旧小区加装电梯", "k": 3, "target": "replies"},
                          headers=H["drafter"]).json()["data"]
    assert replies and all(h["target"] == "replies" and h["passage"]["field"] == "replies" for h in replies)
    full = client.post("/api/v1/search", json={"query": "老旧小区加装电梯", "k": 3, "target": "replies",
                                               "full_reply": True}, headers=H["drafter"]).json()["data"]
    p = full[0]["passage"]
    assert normalize(full[0]["reply"])[p["start"] : p["end"]] == p["text"]  # a span of the (normalised) reply
    bad = client.post("/api/v1/search", json={"query": "电梯", "target": "answers"}, headers=H["drafter"])
    assert bad.status_code == 422 and "target" in bad.text
