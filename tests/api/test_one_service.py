"""Every door answers alike: the CLI, the Python service, POST /route and /route/upload; and each item is segmented
and encoded once."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from models.bundle import BundleStore
from models.departments import DepartmentRegistry
from models.service import RoutingService
from nlp.segment import Segmenter
from tests.api.conftest import H, make_settings
from tests.api.fakedata import closed_rows
from tests.conftest import MINI_REGISTRY
from training.cli import app as cli

ELEVATOR = ("关于加快老旧小区加装电梯的建议", "老旧小区加装电梯进展缓慢，物业服务跟不上。")
SHEET = [
    ("S-1", *ELEVATOR),
    ("S-2", "关于增加学位供给的建议", "学位供给紧张，课后服务不足，校园安全需要加强。"),
    ("S-3", *ELEVATOR),  # the same matter again: 并案 with row 2
    ("S-4", "关于改善农村人居环境的建议", "农村人居环境整治和高标准农田建设需要统筹。"),
]


def essentials(r: dict) -> dict:
    """What must agree between doors: leads and probabilities, co-handlers, review, precedents, repeat."""
    return {"lead": [(s["id"], s["probability"], s["reason"]) for s in r["lead"]],
            "co": [(c["id"], c["probability"]) for c in r["co_handlers"]],
            "review": (r["needs_review"], r["threshold"], r["review_reason"]),
            "precedents": [(p["case_id"], p["score"]) for p in r["precedents"]],
            "repeat": (r["repeat_of"] or {}).get("case_id"), "version": r["model_version"]}


@pytest.fixture()
def sheet(tmp_path):
    path = tmp_path / "session.csv"
    lines = ["编号,标题,内容"] + [f"{no},{t},{b}" for no, t, b in SHEET] + ["S-5,,"]  # row 6: no text at all
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_service_and_api_give_the_same_answers(tmp_path, models_dir, sheet):
    settings = make_settings(tmp_path, models_dir, review_threshold=0.5)
    registry = DepartmentRegistry.from_dict(MINI_REGISTRY)
    service = RoutingService.load(BundleStore(models_dir).active_path(), encoder="hashing", registry=registry,
                                  options=settings.service_options())
    batch = service.route([(t, b) for _, t, b in SHEET], rows=[2, 3, 4, 5])
    in_process = [essentials(i.to_dict()) for i in batch.items]
    assert [g.rows for g in batch.duplicate_groups] == [[2, 4]]
    assert all(i["precedents"] and i["review"][1] == 0.5 for i in in_process)

    with TestClient(create_app(settings)) as client:
        with open(sheet, "rb") as fh:
            up = client.post("/api/v1/route/upload", files={"file": ("session.csv", fh, "text/csv")},
                             headers=H["assigner"]).json()
        single = [client.post("/api/v1/route", json={"title": t, "body": b}, headers=H["assigner"]).json()
                  for _, t, b in SHEET]
        listed = client.post("/api/v1/route/batch", json={"items": [{"title": t, "body": b} for _, t, b in SHEET]},
                             headers=H["assigner"]).json()
    assert [r["row"] for r in up["data"]] == [2, 3, 4, 5] and {e["row"] for e in up["errors"]} == {6}
    assert up["duplicate_groups"] == [[2, 4]] and listed["duplicate_groups"] == [[0, 2]]
    assert [essentials(r) for r in up["data"]] == in_process
    assert [essentials(r) for r in single] == in_process
    assert [essentials(r) for r in listed["data"]] == in_process

    env = {"JIAOBAN_REVIEW_THRESHOLD": "0.5"}
    common = ["--models-dir", str(models_dir), "--departments", str(settings.departments)]
    res = CliRunner().invoke(cli, ["route", "--file", str(sheet), "--json", *common], env=env)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [essentials(r) for r in out["data"]] == in_process
    assert out["duplicate_groups"] == [[2, 4]] and {e["row"] for e in out["errors"]} == {6}
    res = CliRunner().invoke(cli, ["route", "--json", *common], input="\n".join(ELEVATOR), env=env)
    assert essentials(json.loads(res.stdout)["data"][0]) == in_process[0]


def test_search_gives_the_same_hits_through_cli_and_api(tmp_path, models_dir):
    settings = make_settings(tmp_path, models_dir)
    with TestClient(create_app(settings)) as client:
        api = client.post("/api/v1/search", json={"query": "加装电梯", "k": 4, "department": "住建局"},
                          headers=H["drafter"]).json()["data"]
    res = CliRunner().invoke(cli, ["search", "加装电梯", "-k", "4", "--department", "住建局", "--json",
                                   "--models-dir", str(models_dir), "--departments", str(settings.departments)])
    assert res.exit_code == 0, res.output
    assert [(h["case_id"], h["score"]) for h in json.loads(res.stdout)] == [(h["case_id"], h["score"]) for h in api]
    assert len(api) == 4 and all(h["lead"]["id"] == "zjj" for h in api)


class Counter:
    def __init__(self, monkeypatch, obj, name):
        self.calls: list[int] = []
        original = getattr(obj, name)

        def counted(*args, **kwargs):
            first = args[1] if isinstance(obj, type) else args[0]
            self.calls.append(len(first) if isinstance(first, list | tuple) else 1)
            return original(*args, **kwargs)

        monkeypatch.setattr(obj, name, counted)


def test_one_segmentation_and_one_encoder_call_per_item_and_per_batch(models_dir, monkeypatch):
    service = RoutingService.load(BundleStore(models_dir).active_path(), encoder="hashing")
    embedder = service.index.embedder
    prepare = Counter(monkeypatch, Segmenter, "prepare")
    cut = Counter(monkeypatch, Segmenter, "cut")
    passages = Counter(monkeypatch, embedder, "encode_passages")
    queries = Counter(monkeypatch, embedder, "encode_queries")

    item = service.route_one(*ELEVATOR)
    assert item.precedents and item.lead[0].unit.id == "zjj"
    assert len(prepare.calls) == 1 and len(cut.calls) == 2  # the title's subject and the body, each once
    assert passages.calls == [1] and queries.calls == []  # one vector: precedents, repeat check and 并案

    prepare.calls.clear(), cut.calls.clear(), passages.calls.clear()
    items = [(t, b) for _, t, b in SHEET] * 5
    batch = service.route(items)
    assert len(batch.items) == 20 and all(i.precedents for i in batch.items)
    assert len(prepare.calls) == 20 and len(cut.calls) == 40
    # the whole batch in one encoder call, of its distinct texts not encoded lately (ELEVATOR was, just above)
    assert passages.calls == [len(set(items) - {ELEVATOR})] == [2] and queries.calls == []
    passages.calls.clear()
    assert len(service.route(items[:3]).items) == 3 and passages.calls == []  # all seen lately: nothing encoded
    assert len(batch.duplicate_groups) >= 1


def test_settings_in_dotenv_reach_train_and_the_service(tmp_path, monkeypatch):
    """Reply categories and the models directory set only in .env: honoured by `jiaoban train` and the service."""
    for var in ("JIAOBAN_MODELS_DIR", "JIAOBAN_REPLY_CATEGORIES", "JIAOBAN_DEPARTMENTS", "JIAOBAN_ENCODER",
                "JIAOBAN_ENV", "JIAOBAN_API_KEYS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "departments.json").write_text(json.dumps(MINI_REGISTRY, ensure_ascii=False), encoding="utf-8")
    rows = closed_rows(n_per_dept=8)
    for i, row in enumerate(rows):
        row["答复类别"] = "甲乙丙"[i % 3]  # a locality's own categories
    from tests.api.fakedata import write_csv

    write_csv(rows, tmp_path / "closed.csv")
    dotenv = ("JIAOBAN_MODELS_DIR=site-models\nJIAOBAN_REPLY_CATEGORIES=甲,乙,丙\n"
              "JIAOBAN_DEPARTMENTS=departments.json\nJIAOBAN_ENCODER=hashing\n"
              "JIAOBAN_DATABASE=data/jiaoban.db\nJIAOBAN_DATA_DIR=data\n"
              "JIAOBAN_API_KEYS=admin:admin-key-0001,assigner:assigner-key-01,drafter:drafter-key-001\n")
    (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    res = CliRunner().invoke(cli, ["train", "closed.csv", "--promote"])
    assert res.exit_code == 0, res.output
    assert "问题行 0 条" in res.stderr and BundleStore(tmp_path / "site-models").active()

    from models.settings import Settings

    with TestClient(create_app(Settings())) as client:
        assert client.get("/api/v1/health/ready").json()["checks"]["search_available"] is True
        case = client.post("/api/v1/cases", json={"title": "关于加快老旧小区加装电梯的建议"},
                           headers=H["assigner"]).json()
        client.post(f"/api/v1/cases/{case['id']}/decision", json={"lead": "住建局"}, headers=H["assigner"])
        ok = client.post(f"/api/v1/cases/{case['id']}/outcome", json={"reply": "已办理。", "category": "乙"},
                         headers=H["drafter"])
        assert ok.status_code == 201, ok.text
        bad = client.post(f"/api/v1/cases/{case['id']}/outcome", json={"reply": "已办理。", "category": "A"},
                          headers=H["drafter"])
        assert bad.status_code == 422

    (tmp_path / ".env").write_text(dotenv.replace("甲,乙,丙", "A,B,C"), encoding="utf-8")
    res = CliRunner().invoke(cli, ["train", "closed.csv"])
    assert res.exit_code != 0 and "答复类别" in res.stderr  # every row's category is rejected, by the row
