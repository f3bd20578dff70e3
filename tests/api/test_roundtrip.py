"""Staff overrides flow into the next model: decide -> record outcome -> export -> retrain -> ranking moves."""

import random

from models.bundle import BundleStore, load_bundle
from models.departments import DepartmentRegistry
from models.service import RoutingService
from tests.api.conftest import H
from tests.api.fakedata import TOPICS, closed_rows, write_csv
from training.dataset import load_training_set
from training.train import train

# Night markets: the model learnt them as city-management matters (占道经营); from 2025 the city hands them to the
# district, and staff override the suggestion case after case.
MARKETS = ["夜市摊点", "夜市经营", "夜市管理", "夜市街区"]


def night_market_item(rng: random.Random) -> dict:
    market = rng.choice(MARKETS)
    return {"title": f"关于规范{market}占道经营的建议",
            "body": f"{market}占道经营问题突出，{rng.choice(TOPICS['cgzf'])}有待加强，"
                    f"{rng.choice(TOPICS['cgzf'])}需要改进。",
            "kind": "建议", "year": 2025, "route": True}


def p_of(result: dict, dept_id: str) -> float:
    return next((s["probability"] for s in result["lead"] if s["id"] == dept_id), 0.0)


def test_overrides_change_what_the_next_model_learns(client, tmp_path):
    # Last years' closed cases, brought in as a ledger import.
    with open(write_csv(closed_rows(), tmp_path / "closed.csv"), "rb") as fh:
        assert client.post("/api/v1/cases/import", files={"file": ("c.csv", fh)}, headers=H["admin"]).json()["created"]
    rng = random.Random(3)
    probe = {"title": "关于加强夜市摊点占道经营治理的建议", "body": "夜市摊点占道经营影响通行，市容环境有待改善。"}
    before = client.post("/api/v1/route", json=probe, headers=H["assigner"]).json()
    assert before["lead"][0]["id"] == "cgzf"

    overridden = 0
    for _ in range(30):
        case = client.post("/api/v1/cases", json=night_market_item(rng), headers=H["assigner"]).json()
        d = client.post(f"/api/v1/cases/{case['id']}/decision",
                        json={"lead": "东湖区人民政府", "assigned_on": "2025-03-01"}, headers=H["assigner"]).json()
        overridden += d["accepted"] is False
        r = client.post(f"/api/v1/cases/{case['id']}/outcome",
                        json={"reply": "区政府已组织整治。", "category": "A", "feedback": "满意",
                              "closed_on": "2025-05-20"},
                        headers=H["drafter"])
        assert r.status_code == 201
    assert overridden == 30  # every one went against the suggestion

    export = client.get("/api/v1/cases/export", headers=H["admin"])
    assert export.status_code == 200
    snapshot = tmp_path / "snapshot.csv"
    snapshot.write_bytes(export.content)
    registry = DepartmentRegistry.from_dict(client.get("/api/v1/departments/registry.json", headers=H["admin"]).json())
    ts = load_training_set(snapshot, registry)
    assert ts.errors == [] and sum(c.lead_id == "dhq" and c.year == 2025 for c in ts.cases) == 30
    result = train(ts, registry, store=BundleStore(tmp_path / "retrained"), promote=False)

    after = RoutingService(load_bundle(result.path)).route_one(probe["title"], probe["body"]).to_dict()
    assert p_of(after, "dhq") > p_of(before, "dhq") + 0.3
    assert after["lead"][0]["id"] == "dhq"
