"""One rule per field (models/rules.py) as the API applies it: each refusal answers its status with the field named
in the error body and a Chinese message, and changes nothing."""

import io
import re
from typing import get_args

import pytest

from api.fields import FeedbackValue, KindName
from models.records import CASE_KINDS, FEEDBACK_VALUES
from tests.api.conftest import H

ITEM = {"title": "关于加快老旧小区加装电梯的建议", "body": "老旧小区加装电梯进展缓慢。", "kind": "建议", "route": False}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
REPLY = {"reply": "已纳入年度计划。", "category": "A", "feedback": "满意"}


def refused(r, status: int, field: str) -> dict:
    """The error of a refused request: its status, the field named in ``details`` and a Chinese message."""
    assert r.status_code == status, r.json()
    err = r.json()["error"]
    details = err["details"]
    named = details[0]["field"] if isinstance(details, list) else details["field"]
    assert named == field, err
    assert CHINESE.search(err["message"]) and field in err["message"], err
    return err


def new_case(client, **extra) -> int:
    r = client.post("/api/v1/cases", json={**ITEM, **extra}, headers=H["assigner"])
    assert r.status_code == 201, r.json()
    return r.json()["id"]


def case(client, case_id: int) -> dict:
    return client.get(f"/api/v1/cases/{case_id}", headers=H["drafter"]).json()


def decide(client, case_id: int, **body):
    return client.post(f"/api/v1/cases/{case_id}/decision", json={"lead": "住建局", **body}, headers=H["assigner"])


def outcome(client, case_id: int, **body):
    return client.post(f"/api/v1/cases/{case_id}/outcome", json={**REPLY, **body}, headers=H["drafter"])


@pytest.fixture()
def assigned(client) -> int:
    case_id = new_case(client)
    assert decide(client, case_id, assigned_on="2026-01-20").status_code == 201
    return case_id


@pytest.fixture()
def closed(client, assigned) -> int:
    assert outcome(client, assigned, closed_on="2026-03-10").status_code == 201
    return assigned


def cases_count(client) -> int:
    return client.get("/api/v1/cases", headers=H["drafter"]).json()["count"]


# -- dates ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["assigned_on", "due_on"])
@pytest.mark.parametrize("value", [0, 1700000000, True, "2026-01-20T00:00:00", "2026/01/20", "20260120",
                                   "2026-02-30", "1970-01-01", "2101-01-01"])
def test_decision_dates_are_iso_text_and_plausible(client, field, value):
    case_id = new_case(client)
    before = case(client, case_id)
    err = refused(decide(client, case_id, **{field: value}), 422, field)
    assert err["code"] == "validation_error" and "日期" in err["message"]
    assert case(client, case_id) == before  # still open, no decision


def test_due_before_assignment_is_refused_on_due_on(client, assigned):
    before = case(client, assigned)
    err = refused(decide(client, assigned, assigned_on="2026-05-01", due_on="2026-04-30"), 422, "due_on")
    assert "答复期限（2026-04-30）早于交办日期（2026-05-01）" in err["message"]
    assert case(client, assigned) == before


def test_due_before_the_stored_assignment_date_is_refused(client, assigned):
    before = case(client, assigned)
    refused(decide(client, assigned, due_on="2026-01-19"), 422, "due_on")  # assigned on 2026-01-20
    assert case(client, assigned) == before


def test_reassignment_after_closing_is_refused_on_assigned_on(client, closed):
    before = case(client, closed)
    err = refused(decide(client, closed, assigned_on="2026-04-01"), 422, "assigned_on")
    assert "办结日期（2026-03-10）" in err["message"]
    after = case(client, closed)
    assert after == before and after["status"] == "closed" and len(after["decisions"]) == 1


def test_closed_before_assignment_is_refused_on_closed_on(client, assigned):
    before = case(client, assigned)
    err = refused(outcome(client, assigned, closed_on="2026-01-19"), 422, "closed_on")
    assert "办结日期（2026-01-19）早于交办日期（2026-01-20）" in err["message"]
    assert case(client, assigned) == before


@pytest.mark.parametrize("value", [0, "2026-3-10", "1989-12-31"])
def test_closing_date_is_iso_text_and_plausible(client, assigned, value):
    before = case(client, assigned)
    refused(outcome(client, assigned, closed_on=value), 422, "closed_on")
    assert case(client, assigned) == before


def test_ledger_as_of_is_an_iso_date(client, assigned):
    refused(client.get("/api/v1/ledger/overdue", params={"as_of": "0"}, headers=H["drafter"]), 422, "as_of")
    ok = client.get("/api/v1/ledger/overdue", params={"as_of": "2026-06-01"}, headers=H["drafter"])
    assert ok.status_code == 200 and ok.json()["count"] == 1


# -- closed cases --------------------------------------------------------------------------------------------------
def test_a_reply_without_closing_date_does_not_reopen_a_closed_case(client, closed):
    before = case(client, closed)
    err = refused(outcome(client, closed, feedback="基本满意"), 409, "closed_on")
    assert err["code"] == "case_closed" and "2026-03-10" in err["message"] and "reopen" in err["message"]
    after = case(client, closed)
    assert after == before and after["status"] == "closed" and after["closed_on"] == "2026-03-10"


def test_a_further_reply_with_its_closing_date_keeps_the_case_closed(client, closed):
    r = outcome(client, closed, feedback="基本满意", closed_on="2026-03-10")
    assert r.status_code == 201
    after = case(client, closed)
    assert after["status"] == "closed" and after["feedback"] == "基本满意" and len(after["outcomes"]) == 2


def test_reopen_sends_a_closed_case_back_to_handling(client, closed):
    r = outcome(client, closed, reply="代表不满意，重新办理。", category="B", feedback="不满意", reopen=True)
    assert r.status_code == 201 and r.json()["closed_on"] is None
    after = case(client, closed)
    assert after["status"] == "assigned" and after["closed_on"] is None and len(after["outcomes"]) == 2


def test_reopen_with_a_closing_date_is_refused(client, closed):
    before = case(client, closed)
    err = refused(outcome(client, closed, reopen=True, closed_on="2026-04-01"), 422, "reopen")
    assert "不能同时填写" in err["message"]
    assert case(client, closed) == before


def test_reopen_of_a_case_still_in_handling_is_refused(client, assigned):
    before = case(client, assigned)
    err = refused(outcome(client, assigned, reopen=True), 409, "reopen")
    assert err["code"] == "case_not_closed"
    assert case(client, assigned) == before


# -- co-handlers ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("lead", "co", "field", "said"), [
    ("住建局", ["市住建局"], "co_handlers[0]", "主办单位“住建局”"),
    ("住建局", ["教育局", "zjj"], "co_handlers[1]", "主办单位“住建局”"),
    ("住建局", ["城管执法局", "市城管执法局"], "co_handlers[1]", "与“城管执法局”是同一单位"),
    ("住建局", ["城管局", "城管执法局"], "co_handlers[1]", "江州市城市管理和综合执法局"),  # old and new name
    ("乡村振兴局", ["农业农村局"], "co_handlers[0]", "江州市农业农村局"),  # one unit today
])
def test_a_repeated_unit_among_co_handlers_is_refused(client, lead, co, field, said):
    case_id = new_case(client)
    before = case(client, case_id)
    err = refused(decide(client, case_id, lead=lead, co_handlers=co), 422, field)
    assert err["code"] == "repeated_department" and said in err["message"]
    assert case(client, case_id) == before


@pytest.mark.parametrize(("body", "field"), [({"lead": "   "}, "lead"), ({"co_handlers": ["教育局", " "]}, "co_handlers[1]"),
                                             ({"co_handlers": ["教育\n局"]}, "co_handlers[0]")])
def test_blank_or_multiline_unit_names_are_refused(client, body, field):
    case_id = new_case(client)
    before = case(client, case_id)
    refused(decide(client, case_id, **body), 422, field)
    assert case(client, case_id) == before


# -- case fields ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "意见"}, "kind"), ({"kind": None}, "kind"), ({"title": "   "}, "title"),
    ({"case_no": "JY2026\n0001"}, "case_no"), ({"case_no": "JY2026\t0001"}, "case_no"),
    ({"case_no": "JY2026\x000001"}, "case_no"), ({"case_no": "JY2026\u200b0001"}, "case_no"),
    ({"year": 24}, "year"),
])
def test_bad_case_fields_are_refused_and_nothing_is_created(client, body, field):
    r = client.post("/api/v1/cases", json={**ITEM, **body}, headers=H["assigner"])
    refused(r, 422, field)
    assert cases_count(client) == 0


def test_case_numbers_are_stripped(client):
    case_id = new_case(client, case_no="  JY2026-0001 ")
    assert case(client, case_id)["case_no"] == "JY2026-0001"


def test_the_kind_and_feedback_lists_are_the_models_lists():
    assert get_args(KindName) == CASE_KINDS and get_args(FeedbackValue) == FEEDBACK_VALUES


# -- replies -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "field", "status"), [
    ({"feedback": "还行"}, "feedback", 422), ({"category": "D"}, "category", 422), ({"category": "类"}, "category", 422),
    ({"reply": "   "}, "reply", 422),
])
def test_bad_reply_fields_are_refused(client, assigned, body, field, status):
    before = case(client, assigned)
    refused(outcome(client, assigned, **body), status, field)
    assert case(client, assigned) == before


def test_categories_are_normalised_and_feedback_stripped(client, assigned):
    r = outcome(client, assigned, category=" ｂ类 ", feedback=" 基本满意 ", closed_on="2026-03-01")
    assert r.status_code == 201 and r.json()["category"] == "B" and r.json()["feedback"] == "基本满意"


# -- departments ---------------------------------------------------------------------------------------------------
def departments(client) -> dict:
    return client.get("/api/v1/departments", headers=H["admin"]).json()


@pytest.mark.parametrize(("body", "field", "unit"), [
    ({"aliases": ["数据局", "建设局"]}, "aliases[1]", "江州市住房和城乡建设局"),
    ({"short_name": "市住建局"}, "short_name", "江州市住房和城乡建设局"),
    ({"aliases": ["乡村振兴局"]}, "aliases[0]", "江州市乡村振兴局"),  # a merged unit's name still denotes it
    ({"aliases": ["cgzf"]}, "aliases[0]", "江州市城市管理和综合执法局"),  # another unit's id
])
def test_a_name_of_another_unit_is_refused_when_adding(client, body, field, unit):
    before = departments(client)
    r = client.post("/api/v1/departments", json={"id": "sjj", "name": "江州市数据局", **body}, headers=H["admin"])
    err = refused(r, 409, field)
    assert err["code"] == "registry_error" and unit in err["message"]
    assert departments(client) == before


def test_a_multiline_alias_is_refused(client):
    before = departments(client)
    r = client.post("/api/v1/departments", json={"id": "sjj", "name": "江州市数据局", "aliases": ["数据\n局"]},
                    headers=H["admin"])
    refused(r, 422, "aliases[0]")
    assert departments(client) == before


@pytest.mark.parametrize(("body", "field", "said"), [
    ({"old_ids": ["zjj"], "into_id": "zjj"}, "old_ids[0]", "并入它自身"),
    ({"old_ids": ["jyj"], "into_id": "教育局"}, "old_ids[0]", "并入它自身"),  # into_id by name
    ({"old_ids": ["jyj", "zjj"], "into_id": "zjj"}, "old_ids[1]", "并入它自身"),
    ({"old_ids": ["xczxj"], "into_id": "zjj"}, "old_ids[0]", "已撤并"),
    ({"old_ids": ["jyj"], "into_id": "cgj"}, "into_id", "江州市城市管理和综合执法局"),
    ({"old_ids": ["jyj"], "new": {"id": "zjj", "name": "江州市某局"}}, "new.id", "into_id"),
    ({"old_ids": ["jyj"], "new": {"id": "jyty", "name": "江州市教育和体育局", "aliases": ["住建局"]}},
     "new.aliases[0]", "江州市住房和城乡建设局"),
])
def test_a_bad_reorganisation_is_refused(client, body, field, said):
    before = departments(client)
    r = client.post("/api/v1/departments/reorganise", json={"on": "2025-06-01", **body}, headers=H["admin"])
    err = refused(r, 409, field)
    assert said in err["message"]
    assert departments(client) == before


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/departments", {"id": "sjj", "name": "江州市数据局", "since": 0}, "since"),
    ("/api/v1/departments/reorganise", {"old_ids": ["jyj"], "into_id": "zjj", "on": "2025/06/01"}, "on"),
    ("/api/v1/departments/reorganise", {"old_ids": [""], "into_id": "zjj", "on": "2025-06-01"}, "old_ids[0]"),
])
def test_registry_dates_and_ids_are_checked(client, path, body, field):
    before = departments(client)
    refused(client.post(path, json=body, headers=H["admin"]), 422, field)
    assert departments(client) == before


def test_a_unit_founded_before_any_case_may_be_added(client):
    r = client.post("/api/v1/departments", json={"id": "sjj", "name": "江州市数据局", "since": "1983-05-01"},
                    headers=H["admin"])
    assert r.status_code == 201 and r.json()["since"] == "1983-05-01"


# -- the ledger import applies the same rules, row by row ----------------------------------------------------------
LEDGER = "编号,标题,内容,主办单位,协办单位,交办日期,答复内容,答复类别,满意度,办结日期\n"
GOOD_ROW = "L-1,关于加装电梯的建议,电梯,住建局,城管执法局,2025-02-01,已办理,A,满意,2025-04-01\n"


def import_ledger(client, *rows: str) -> dict:
    content = (LEDGER + GOOD_ROW + "".join(rows)).encode("utf-8")
    r = client.post("/api/v1/cases/import", files={"file": ("ledger.csv", io.BytesIO(content))}, headers=H["admin"])
    assert r.status_code == 200, r.json()
    return r.json()


@pytest.mark.parametrize(("row", "field", "said"), [
    ("L-2,关于学位的建议,学位,教育局,,2025-03-01,已办理,A,满意,2025-02-01\n", "办结日期", "早于交办日期"),
    ("L-2,关于学位的建议,学位,教育局,市教育局,2025-03-01,,,,\n", "协办单位", "主办单位“教育局”"),
    ("L-2,关于学位的建议,学位,教育局,城管执法局、市城管执法局,2025-03-01,,,,\n", "协办单位", "同一单位"),
    ("L-2,关于学位的建议,学位,,,2025-03-01,,,,\n", "主办单位", "交办日期"),
    ("L-2,关于学位的建议,学位,,市教育局,,,,,\n", "主办单位", "协办单位"),
    ("L-2,关于学位的建议,学位,教育局,,2025-03-01,,,满意,\n", "满意度", "答复"),
    ("\"L\t2\",关于学位的建议,学位,教育局,,2025-03-01,,,,\n", "编号", "控制字符"),
    ("L-2,关于学位的建议,学位,教育局,,1970-01-01,,,,\n", "交办日期", "1990–2100"),
])
def test_the_import_reports_the_row_and_imports_the_others(client, row, field, said):
    out = import_ledger(client, row)
    assert out["created"] == 1 and out["count"] == 2
    assert [(e["row"], e["field"]) for e in out["errors"]] == [(3, field)], out["errors"]
    assert said in out["errors"][0]["message"] and CHINESE.search(out["errors"][0]["message"])
    good = case(client, out["case_ids"][0])
    assert good["case_no"] == "L-1" and good["status"] == "closed" and cases_count(client) == 1
    assert [c["id"] for c in good["co_handlers"]] == ["cgzf"] and good["closed_on"] == "2025-04-01"


def test_units_merged_since_the_case_are_imported_once(client):
    out = import_ledger(client, "L-2,关于高标准农田的建议,农田,乡村振兴局,农业农村局、城管局,2023-03-01,,,,\n")
    assert out["errors"] == [] and out["created"] == 2
    got = case(client, out["case_ids"][1])
    assert got["lead"]["id"] == "nync" and [c["id"] for c in got["co_handlers"]] == ["cgzf"]
