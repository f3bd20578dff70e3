from tests.api.conftest import H

ITEM = {"title": "关于加快老旧小区加装电梯的建议", "body": "老旧小区加装电梯。"}


def test_search_without_an_index_is_503(client):
    r = client.post("/api/v1/search", json={"query": "加装电梯"}, headers=H["drafter"])
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "search_unavailable" and "类案检索" in r.json()["error"]["message"]
    r = client.post("/api/v1/search/duplicates", json={"texts": ["甲", "甲"]}, headers=H["assigner"])
    assert r.status_code == 503


def test_search_passes_filters_with_resolved_department(client, searcher):
    r = client.post("/api/v1/search", json={"query": "加装电梯", "k": 3, "year": 2023, "department": "住建局",
                                            "kind": "建议", "category": "A"}, headers=H["drafter"])
    assert r.status_code == 200 and r.json()["count"] == 1
    assert searcher.calls[-1] == {"query": "加装电梯", "k": 3, "year": 2023, "department": "zjj", "kind": "建议",
                                  "category": "A"}
    r = client.post("/api/v1/search", json={"query": "加装电梯", "department": "住建委"}, headers=H["drafter"])
    assert r.status_code == 422 and r.json()["error"]["details"]["suggestions"]


def test_route_includes_precedents_and_batch_groups_duplicates(client, searcher):
    out = client.post("/api/v1/route", json=ITEM, headers=H["assigner"]).json()
    assert out["precedents_available"] is True and out["precedents"][0]["case_no"] == "2023-0007"
    batch = client.post("/api/v1/route/batch", json={"items": [ITEM, {"title": "关于学位的建议"}, ITEM]},
                        headers=H["assigner"]).json()
    assert batch["duplicate_groups"] == [[0, 2]] and batch["precedents_available"] is True
    dup = client.post("/api/v1/search/duplicates", json={"texts": ["甲", "乙", "甲"]}, headers=H["drafter"]).json()
    assert dup["groups"] == [[0, 2], [1]]


def test_a_failing_searcher_does_not_break_routing(client, searcher, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("index offline")

    monkeypatch.setattr(searcher, "search", boom)
    out = client.post("/api/v1/route", json=ITEM, headers=H["assigner"]).json()
    assert out["lead"][0]["id"] == "zjj" and out["precedents"] == [] and out["precedents_available"] is False


def test_the_fake_and_the_index_adapter_satisfy_the_protocol(searcher):
    from api.deps import Searcher
    from api.precedents import IndexSearcher

    assert isinstance(searcher, Searcher) and isinstance(IndexSearcher(index=None), Searcher)


def test_the_bundles_own_index_is_served_and_follows_promote(tmp_path, models_dir):
    """A real precedent index (hashing encoder) built into the active bundle; the copy has none."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from models.bundle import BundleStore
    from models.departments import DepartmentRegistry
    from models.embeddings import HashingEmbedder
    from tests.api.conftest import make_settings
    from tests.api.fakedata import closed_rows, write_csv
    from tests.conftest import MINI_REGISTRY
    from training.dataset import load_training_set
    from training.train import build_search_index

    registry = DepartmentRegistry.from_dict(MINI_REGISTRY)
    ts = load_training_set(write_csv(closed_rows(), tmp_path / "closed.csv"), registry)
    store = BundleStore(models_dir)
    active = store.active()
    build_search_index(store.active_path(), ts.cases, registry, HashingEmbedder(256))

    with TestClient(create_app(make_settings(tmp_path, models_dir, encoder="hashing"))) as c:
        assert c.get("/api/v1/health/ready").json()["checks"]["search_available"] is True
        hits = c.post("/api/v1/search", json={"query": "老旧小区加装电梯", "k": 3, "department": "住建局"},
                      headers=H["drafter"]).json()
        assert hits["count"] == 3 and all(h["lead"]["id"] == "zjj" for h in hits["data"])
        assert "proposer" not in hits["data"][0] and hits["data"][0]["reply_excerpt"]
        assert isinstance(hits["data"][0]["case_id"], str)  # 63-bit ids would lose digits in JavaScript
        routed = c.post("/api/v1/route", json=ITEM, headers=H["assigner"]).json()
        assert routed["precedents_available"] is True and len(routed["precedents"]) == 5
        old = ts.cases[0]
        again = c.post("/api/v1/route", json={"title": old.title, "body": old.body}, headers=H["assigner"]).json()
        assert again["repeat_of"]["case_no"] == old.case_no and again["repeat_of"]["similarity"] > 0.99
        c.post(f"/api/v1/models/{active}-copy/promote", headers=H["admin"])
        assert c.post("/api/v1/search", json={"query": "电梯"}, headers=H["drafter"]).status_code == 503
        note = c.get("/api/v1/health/ready").json()["checks"]["search_note"]
        assert "no precedent index" in note
        c.post("/api/v1/models/rollback", headers=H["admin"])
        assert c.post("/api/v1/search", json={"query": "电梯"}, headers=H["drafter"]).status_code == 200
