import io
from pathlib import Path

from openpyxl import Workbook

from models.bundle import Bundle
from models.classifier import Routing, Suggestion
from models.departments import DepartmentRegistry
from models.service import RoutingService
from tests.api.conftest import H
from tests.api.test_sessions import wait_job
from tests.conftest import MINI_REGISTRY

ITEM = {"title": "关于加快老旧小区加装电梯的建议", "body": "老旧小区加装电梯进展缓慢，物业服务跟不上。", "kind": "建议"}


def test_route_one_item(client):
    r = client.post("/api/v1/route", json=ITEM, headers=H["assigner"])
    assert r.status_code == 200
    out = r.json()
    assert out["lead"][0]["id"] == "zjj" and out["lead"][0]["name"] == "江州市住房和城乡建设局"
    probs = [s["probability"] for s in out["lead"]]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.0001
    assert "历年主办" in out["lead"][0]["reason"] and out["lead"][0]["terms"]
    assert isinstance(out["needs_review"], bool) and 0 < out["threshold"] <= 1
    assert out["model_version"]
    assert len(out["precedents"]) == 5 and out["precedents_available"] is True


def test_route_refuses_empty_text_naming_the_field(client):
    r = client.post("/api/v1/route", json={"title": "  ", "body": ""}, headers=H["assigner"])
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error" and err["details"][0]["field"] == "body"
    assert "标题和正文不能都为空" in err["message"]


def test_review_threshold_override(tmp_path, models_dir):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.api.conftest import make_settings

    with TestClient(create_app(make_settings(tmp_path, models_dir, review_threshold=1.0))) as c:
        out = c.post("/api/v1/route", json={"title": "关于改进工作的建议", "body": "希望加强协调。"},
                     headers=H["assigner"]).json()
    assert out["threshold"] == 1.0 and out["needs_review"] is True and "复核阈值 100%" in out["review_reason"]


def test_route_batch(client):
    items = [{**ITEM, "id": "A-1"}, {"title": "关于增加学位供给的建议", "body": "学前教育学位紧张。", "id": "A-2"},
             {"title": "关于治理占道经营的建议", "body": ""}]
    r = client.post("/api/v1/route/batch", json={"items": items}, headers=H["assigner"])
    assert r.status_code == 200
    data = r.json()
    assert data["count"] == 3 and [d["index"] for d in data["data"]] == [0, 1, 2]
    assert [d["id"] for d in data["data"]] == ["A-1", "A-2", None]
    assert [d["lead"][0]["id"] for d in data["data"]] == ["zjj", "jyj", "cgzf"]
    assert data["needs_review_count"] == sum(d["needs_review"] for d in data["data"])
    assert data["duplicate_groups"] == []


def test_route_batch_limit_is_1000(client):
    r = client.post("/api/v1/route/batch", json={"items": [ITEM] * 1001}, headers=H["assigner"])
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "items" and "最多 1000" in r.json()["error"]["message"]
    r = client.post("/api/v1/route/batch", json={"items": [ITEM, {"title": "", "body": ""}]}, headers=H["assigner"])
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "items[1].body"


SHEET = ("编号,类型,标题,内容,提案人\n"
         "2026-001,建议,关于加快老旧小区加装电梯的建议,老旧小区加装电梯进展缓慢,张三\n"
         "2026-002,提案,,这一行没有标题,李四\n"
         "2026-003,提案,关于增加学位供给的建议,学前教育学位紧张,王五\n")


def upload(client, content: bytes, name: str, role: str = "assigner", **form):
    return client.post("/api/v1/route/upload", files={"file": (name, io.BytesIO(content))},
                       data={k: str(v).lower() for k, v in form.items()}, headers=H[role])


def test_upload_csv_reports_bad_rows_and_routes_the_good_ones(client):
    r = upload(client, SHEET.encode("utf-8"), "session.csv")
    assert r.status_code == 200
    out = r.json()
    assert [d["row"] for d in out["data"]] == [2, 4]
    assert [d["case_no"] for d in out["data"]] == ["2026-001", "2026-003"]
    assert [d["lead"][0]["id"] for d in out["data"]] == ["zjj", "jyj"]
    assert out["errors"] == [{"row": 3, "field": "标题", "message": "标题为空，请补充标题"}]
    assert "created" not in out and all("case_id" not in d for d in out["data"])  # stored by POST /sessions only


def test_upload_gbk_csv_and_xlsx(client):
    assert upload(client, SHEET.encode("gbk"), "session.csv").json()["count"] == 2
    wb = Workbook()
    ws = wb.active
    for line in SHEET.strip().split("\n"):
        ws.append(line.split(","))
    buf = io.BytesIO()
    wb.save(buf)
    out = upload(client, buf.getvalue(), "session.xlsx").json()
    assert out["count"] == 2 and out["errors"][0]["row"] == 3


def test_a_session_registers_the_rows_with_their_suggestion(client):
    r = client.post("/api/v1/sessions", files={"file": ("session.csv", io.BytesIO(SHEET.encode("utf-8")))},
                    data={"kind": "提案"}, headers=H["assigner"])
    assert r.status_code == 202 and r.json()["upload"]["added"] == 2
    wait_job(client, r.json()["job"]["id"])
    row = client.get(f"/api/v1/sessions/{r.json()['id']}/rows", headers=H["assigner"]).json()["data"]
    case = client.get(f"/api/v1/cases/{[x for x in row if x['case_no'] == '2026-001'][0]['case_id']}",
                      headers=H["assigner"]).json()
    assert case["status"] == "open" and case["proposer"] == "张三" and case["source"] == "session"
    assert case["suggestion"]["lead"][0]["id"] == "zjj"


def test_upload_refuses_unreadable_files(client):
    r = upload(client, b"hello", "notes.docx")
    assert r.status_code == 422 and r.json()["error"]["code"] == "unsupported_file"
    r = upload(client, "甲,乙\n1,2\n".encode(), "x.csv")
    assert r.status_code == 422 and "找不到标题或内容列" in r.json()["error"]["message"]
    r = upload(client, b"", "x.csv")
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_file"


class FixedModel:
    """A model that always answers the same ranking (as one trained before a reorganisation would)."""

    def __init__(self, routing):
        self.routing = routing

    def prepare(self, items):
        return list(items)

    def route(self, items=None, top_k=5, *, docs=None, vectors=None):
        assert vectors is None  # no kNN blend: the service never encodes for it
        return [self.routing for _ in docs]


def test_retired_units_in_a_result_become_todays_unit():
    registry = DepartmentRegistry.from_dict(MINI_REGISTRY)
    routing = Routing(lead=[Suggestion("nync", 0.4, ["种粮补贴"]), Suggestion("xczxj", 0.35, ["防止返贫"]),
                            Suggestion("jyj", 0.25, [])],
                      co_handlers=[Suggestion("cgj", 0.6)], needs_review=True, threshold=0.7)
    bundle = Bundle(path=Path("v"), meta={"version": "v"}, model=FixedModel(routing), registry=None)
    out = RoutingService(bundle, registry=registry).route_one("关于种粮补贴的建议", "").to_dict()
    assert [(e["id"], e["probability"]) for e in out["lead"]] == [("nync", 0.75), ("jyj", 0.25)]
    assert out["lead"][0]["name"] == "江州市农业农村局" and out["needs_review"] is False
    assert out["co_handlers"][0]["id"] == "cgzf"


def test_a_model_that_could_not_certify_its_threshold_sends_everything_to_review():
    from models.service import ServiceOptions

    registry = DepartmentRegistry.from_dict(MINI_REGISTRY)
    routing = Routing(lead=[Suggestion("jyj", 0.99, ["课后服务"])], co_handlers=[], needs_review=True, threshold=1.0,
                      certified=False)
    bundle = Bundle(path=Path("v"), meta={"version": "v"}, model=FixedModel(routing), registry=None)
    out = RoutingService(bundle, registry=registry).route_one("关于课后服务的建议", "").to_dict()
    assert out["needs_review"] is True and "不足以保证" in out["review_reason"]
    # an administrator's configured threshold is an explicit decision and replaces the model's
    configured = RoutingService(bundle, registry=registry, options=ServiceOptions(review_threshold=0.9))
    out = configured.route_one("关于课后服务的建议", "").to_dict()
    assert out["needs_review"] is False and out["threshold"] == 0.9
