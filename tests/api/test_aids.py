"""The reply aids through the API: the reply check, a stored case's aids, dismissals recorded, publication-ready
replies confirmed and exported (formula-escaped), the admissibility pre-screen, and the ledger's points answered."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.api.conftest import H
from tests.api.supervision_data import FORMULA_TITLE, supervisor_key

BODY = ("老旧小区加装电梯推进缓慢。为此，建议：一是提高财政补贴标准，每台补贴提高至20万元。二是推行联合审批，"
        "压缩审批时限。三是培育专业化服务主体，提供一条龙服务。")
REPLY = ("张明代表：\n您提出的建议收悉，现答复如下：\n一、已将每台电梯的市级补贴提高到15万元。\n"
         "二、已设立加装电梯一站式服务窗口，推行联合审批，审批时限压缩至10个工作日。\n"
         "三、受财政资金限制，其余事项暂不具备条件，留作参考。\n经办人：李秀英，联系电话13812345678。")


def closed_case(client, title="关于加快推进老旧小区加装电梯工作的建议", category="A") -> int:
    r = client.post("/api/v1/cases", json={"title": title, "body": BODY, "route": False}, headers=H["assigner"])
    case_id = r.json()["id"]
    r = client.post(f"/api/v1/cases/{case_id}/decision", json={"lead": "住建局", "assigned_on": "2026-01-10"},
                    headers=H["assigner"])
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/cases/{case_id}/outcome", headers=H["drafter"],
                    json={"reply": REPLY, "category": category, "feedback": "满意", "closed_on": "2026-03-01"})
    assert r.status_code == 201, r.text
    return case_id


def test_the_reply_check_shows_points_category_and_personal_data(client):
    r = client.post("/api/v1/aids/reply-check", json={"body": BODY, "reply": REPLY, "category": "A"},
                    headers=H["drafter"])
    assert r.status_code == 200, r.text
    body = r.json()
    cov = body["coverage"]
    assert cov["total"] == 3 and [p["answered"] for p in cov["points"]][:2] == [True, True]
    assert BODY[cov["points"][0]["start"]:cov["points"][0]["end"]] == cov["points"][0]["text"]
    cat = body["category"]  # few closed cases in the store: the wording cues decide
    assert cat["source"] == "cues" and cat["meanings"]["C"]
    red = body["reply_redaction"]
    assert {f["kind"] for f in red["findings"]} == {"name", "phone"}
    assert "13812345678" not in red["masked"] and "李某某" in red["masked"]


def test_a_contradicting_category_is_flagged_with_its_reason(client):
    reply = "经研究，受财政资金限制，该项目暂不具备条件，留作参考。"
    r = client.post("/api/v1/aids/reply-check", json={"body": BODY, "reply": reply, "category": "A"},
                    headers=H["drafter"]).json()
    assert r["category"]["flagged"] and r["category"]["predicted"] == "C"
    assert "留作参考" in r["category"]["reason"] or "暂不具备条件" in r["category"]["reason"]


def test_a_stored_case_has_its_aids_and_dismissals_are_recorded(client):
    case_id = closed_case(client)
    sup = supervisor_key(client)
    r = client.get(f"/api/v1/cases/{case_id}/aids", headers=sup)
    assert r.status_code == 200, r.text
    assert r.json()["coverage"]["total"] == 3 and r.json()["dismissals"] == []
    d = client.post(f"/api/v1/cases/{case_id}/aid-dismissals", headers=H["drafter"],
                    json={"aid": "coverage", "code": "unanswered", "note": "第三点已电话沟通"})
    assert d.status_code == 201, d.text
    got = client.get(f"/api/v1/cases/{case_id}/aids", headers=sup).json()["dismissals"]
    assert [(x["aid"], x["code"], x["note"]) for x in got] == [("coverage", "unanswered", "第三点已电话沟通")]
    assert client.get("/api/v1/cases/9999/aids", headers=sup).status_code == 404


def test_a_confirmed_publication_is_exported_as_text(client):
    case_id = closed_case(client, title=FORMULA_TITLE)
    masked = client.get(f"/api/v1/cases/{case_id}/aids", headers=H["drafter"]).json()["reply_redaction"]["masked"]
    r = client.post(f"/api/v1/cases/{case_id}/publication", json={"title": FORMULA_TITLE, "reply": masked},
                    headers=H["drafter"])
    assert r.status_code == 201, r.text
    assert r.json()["remaining"] == [] and r.json()["masked"] == 2
    x = client.get("/api/v1/aids/publications.xlsx", headers=H["drafter"])
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][3] == "标题" and len(rows) == 2
    assert rows[1][3] == "'" + FORMULA_TITLE and ws.cell(row=2, column=4).data_type == "s"
    assert "13812345678" not in rows[1][6]
    assert client.post(f"/api/v1/cases/{case_id}/publication", json={"title": "x", "reply": "y"},
                       headers=H["assigner"]).status_code == 403


def test_publication_needs_a_reply(client):
    r = client.post("/api/v1/cases", json={"title": "t", "body": BODY, "route": False}, headers=H["assigner"])
    case_id = r.json()["id"]
    r = client.post(f"/api/v1/cases/{case_id}/publication", json={"title": "t", "reply": "y"}, headers=H["drafter"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_reply"


def test_the_pre_screen_flags_grounds_and_never_rejects(client):
    r = client.post("/api/v1/aids/admissibility", headers=H["assigner"],
                    json={"title": "关于重审我亲属案件的建议", "body": "该案已由市中级人民法院作出判决，请求撤销判决重新审理。"})
    assert r.status_code == 200, r.text
    assert [f["code"] for f in r.json()["data"]] == ["litigation"]
    ok = client.post("/api/v1/aids/admissibility", json={"title": "关于加装电梯的建议", "body": BODY},
                     headers=H["assigner"]).json()
    assert ok == {"data": [], "count": 0}


def test_the_ledger_counts_points_answered(client):
    closed_case(client)
    sup = supervisor_key(client)
    r = client.get("/api/v1/ledger/supervision", params={"as_of": "2026-06-30"}, headers=sup).json()
    unit = r["data"][0]
    assert unit["points"] == 3 and unit["points_answered"] >= 2
    assert r["total"]["points_answered_rate"] == round(unit["points_answered"] / 3, 4)


LITIGATION = ("关于重审我亲属案件的建议", "我亲属的合同纠纷案件已由市中级人民法院作出判决，我们认为判决不公，请求撤销判决重新审理。")


def test_a_routing_result_carries_the_flags_into_the_review_queue(client):
    r = client.post("/api/v1/route", json={"title": LITIGATION[0], "body": LITIGATION[1]}, headers=H["assigner"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert "litigation" in [f["code"] for f in out["admissibility"]]
    assert out["needs_review"] and "不予立案" in out["review_reason"]


def test_the_session_review_filter_shows_the_flagged_rows(client):
    from tests.api.test_sessions import csv_bytes, rows_of, sheet_rows, upload, wait_job

    rows = sheet_rows(4) + [["S900", "建议", *LITIGATION, "某代表"]]
    r = upload(client, csv_bytes(rows), name="会期.csv", held_on="2026-01-10")
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["job"]["id"])["status"] == "done"
    session_id = r.json()["id"]
    flagged = rows_of(client, session_id, admissibility="true")["data"]
    assert [row["case_no"] for row in flagged] == ["S900"]
    assert "litigation" in flagged[0]["admissibility"] and flagged[0]["needs_review"]
    assert len(rows_of(client, session_id, admissibility="false")["data"]) == 4


def test_the_session_export_has_the_admissibility_column(client):
    from tests.api.test_sessions import csv_bytes, sheet_rows, upload, wait_job

    rows = sheet_rows(3) + [["S900", "建议", *LITIGATION, "某代表"]]
    r = upload(client, csv_bytes(rows), name="会期.csv", held_on="2026-01-10")
    assert wait_job(client, r.json()["job"]["id"])["status"] == "done"
    resp = client.get(f"/api/v1/sessions/{r.json()['id']}/export.xlsx", headers=H["assigner"])
    ws = load_workbook(io.BytesIO(resp.content))["交办建议与决定"]
    header = [c.value for c in ws[1]]
    col = header.index("受理提示")
    hints = {row[header.index("编号")]: row[col] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert "litigation 已进入诉讼、仲裁或司法程序" in hints["S900"].split("；")
    assert [hints[f"S00{i}"] for i in (1, 2, 3)] == [None, None, None]  # blank, not "无"


def test_the_supervisor_lists_every_dismissal_by_unit_and_aid(client):
    first = closed_case(client)
    r = client.post("/api/v1/cases", json={"title": "关于增设公交线路的建议", "body": "建议增设公交线路。", "route": False},
                    headers=H["assigner"])
    second = r.json()["id"]
    client.post(f"/api/v1/cases/{second}/decision", json={"lead": "市交通运输局"}, headers=H["assigner"])
    for case_id, aid, code, who in [(first, "coverage", "unanswered", "drafter"),
                                    (first, "category", "category", "drafter"),
                                    (second, "admissibility", "multi_matter", "assigner")]:
        r = client.post(f"/api/v1/cases/{case_id}/aid-dismissals", json={"aid": aid, "code": code, "note": "已电话沟通"},
                        headers=H[who])
        assert r.status_code == 201, r.text
    sup = supervisor_key(client)
    url = "/api/v1/aids/dismissals"
    every = client.get(url, headers=sup).json()
    assert every["count"] == 3 and [d["aid"] for d in every["data"]] == ["admissibility", "category", "coverage"]
    row = every["data"][-1]
    assert (row["case_id"], row["code"], row["note"], row["title"]) == (first, "unanswered", "已电话沟通",
                                                                         "关于加快推进老旧小区加装电梯工作的建议")
    assert row["lead"]["name"] == "江州市住房和城乡建设局" and row["dismissed_by"] and row["dismissed_at"]
    by_unit = client.get(url, params={"unit": "住建局"}, headers=sup).json()
    assert sorted(d["aid"] for d in by_unit["data"]) == ["category", "coverage"]
    both = client.get(url, params={"unit": "住建局", "aid": "coverage"}, headers=sup).json()
    assert [d["case_id"] for d in both["data"]] == [first]
    assert client.get(url, params={"aid": "admissibility"}, headers=sup).json()["data"][0]["case_id"] == second
    assert client.get(url, params={"unit": "不存在的局"}, headers=sup).status_code == 422
    assert client.get(url, params={"aid": "nonsense"}, headers=sup).status_code == 422
    for role in ("assigner", "drafter"):  # the supervision office's page: other roles are refused
        assert client.get(url, headers=H[role]).status_code == 403
