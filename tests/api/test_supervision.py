"""The supervision ledger (督办台账) and the periodic report (定期报告): figures per unit equal a direct store query on
a store filled through the API; the XLSX is checked with openpyxl, the HTML for its charts and figures."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.api.conftest import H, sqlite_file
from tests.api.supervision_data import END, FORMULA_TITLE, START, direct_counts, fill, supervisor_key

PERIOD = {"start": START, "end": END}
COLUMNS = {"assigned": "交办件数", "closed": "已办结", "on_time": "按时办结", "closed_late": "逾期办结", "open": "未办结",
           "overdue": "超期未办结", "due_soon": "14天内到期", "a": "A类", "unsatisfied": "不满意件数",
           "reopened": "重新办理"}
NAMES = {"zjj": "江州市住房和城乡建设局", "jyj": "江州市教育局", "nync": "江州市农业农村局"}


@pytest.fixture()
def filled(client):
    ids = fill(client)
    return client, ids, supervisor_key(client)


@sqlite_file
def test_the_ledger_counts_what_the_store_holds(filled, settings):
    client, _, sup = filled
    r = client.get("/api/v1/ledger/supervision", params={**PERIOD, "as_of": END}, headers=sup)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = direct_counts(settings.database)
    assert set(expected) == {"zjj", "jyj", "nync"}  # the cases outside the range are left out
    got = {u["department"]["id"]: u for u in body["data"]}
    assert set(got) == set(expected)
    for unit, want in expected.items():
        u = got[unit]
        for key in ("assigned", "closed", "on_time", "closed_late", "open", "overdue", "due_soon", "unsatisfied",
                    "reopened", "satisfied", "with_feedback"):
            assert u[key] == want[key], (unit, key)
        assert u["categories"]["A"] == want["a"]
    z = got["zjj"]
    # Hand-checked too, so that a wrong query in the test cannot agree with a wrong implementation.
    assert (z["assigned"], z["closed"], z["on_time"], z["open"], z["overdue"], z["due_soon"]) == (5, 1, 1, 4, 3, 1)
    assert (z["unsatisfied"], z["reopened"], z["reopened_open"], z["reopened_closed"]) == (1, 1, 1, 0)
    assert z["closure_rate"] == 0.2 and z["satisfaction_rate"] == 1.0
    j = got["jyj"]
    assert (j["closed"], j["on_time"], j["closed_late"], j["overdue"], j["unsatisfied"]) == (2, 1, 1, 1, 1)
    assert j["categories"] == {"A": 1, "B": 0, "C": 1} and j["satisfaction_rate"] == 0.5 and j["a_rate"] == 0.5
    assert body["total"]["assigned"] == 9 and body["count"] == 9 and body["total"]["overdue"] == 4
    assert [u["department"]["id"] for u in body["data"]] == ["zjj", "jyj", "nync"]  # most overdue first


def test_as_of_an_earlier_date_the_later_closures_are_open(filled):
    client, _, sup = filled
    r = client.get("/api/v1/ledger/supervision", params={**PERIOD, "as_of": "2026-03-15"}, headers=sup).json()
    z = next(u for u in r["data"] if u["department"]["id"] == "zjj")
    # JY-04 (assigned 04-05) is not assigned yet; JY-02 was not closed yet, so it was neither unsatisfied nor reopened
    assert (z["assigned"], z["closed"], z["overdue"], z["unsatisfied"], z["reopened"]) == (4, 1, 0, 0, 0)


def test_drill_down_to_the_items_of_a_unit_and_a_figure(filled):
    client, ids, sup = filled
    params = {**PERIOD, "as_of": END, "department": "市住建局"}
    r = client.get("/api/v1/ledger/supervision/items", params={**params, "figure": "overdue"}, headers=sup)
    assert r.status_code == 200, r.text
    items = r.json()["data"]
    assert [i["id"] for i in items] == [ids["JY-02"], ids["JY-03"], ids["JY-05"]]  # most overdue first, then by id
    assert items[2]["days_left"] == -29 and items[2]["status"] == "超期未办结" and items[2]["closed_on"] is None
    assert items[0]["days_left"] == -81 and items[0]["reopened"] and items[0]["unsatisfied"]
    r = client.get("/api/v1/ledger/supervision/items", params={**params, "figure": "reopened"}, headers=sup).json()
    assert [i["id"] for i in r["data"]] == [ids["JY-02"]]
    r = client.get("/api/v1/ledger/supervision/items", params={**PERIOD, "as_of": END, "figure": "closed",
                                                                "category": "A"}, headers=sup).json()
    assert sorted(i["id"] for i in r["data"]) == sorted([ids["JY-01"], ids["TA-02"], ids["TA-04"]])
    bad = client.get("/api/v1/ledger/supervision/items", params={"figure": "late"}, headers=sup)
    assert bad.status_code == 422


def test_overdue_and_due_soon_lists(filled):
    client, ids, sup = filled
    soon = client.get("/api/v1/ledger/due-soon", params={"as_of": END}, headers=sup).json()
    assert [i["id"] for i in soon["data"]] == [ids["JY-04"]] and soon["data"][0]["days_left"] == 5
    soon = client.get("/api/v1/ledger/due-soon", params={"as_of": "2026-06-10"}, headers=H["drafter"]).json()
    assert [i["id"] for i in soon["data"]] == [ids["TA-03"]]
    overdue = client.get("/api/v1/ledger/overdue", params={"as_of": END}, headers=sup).json()
    assert ids["JY-03"] in [c["id"] for c in overdue["data"]]


def test_a_unit_scoped_key_sees_its_own_unit_only(filled):
    client, ids, _ = filled
    r = client.post("/api/v1/keys", json={"name": "教育局起草", "role": "drafter", "unit": "教育局"}, headers=H["admin"])
    scoped = {"X-API-Key": r.json()["key"]}
    body = client.get("/api/v1/ledger/supervision", params={**PERIOD, "as_of": END}, headers=scoped).json()
    assert [u["department"]["id"] for u in body["data"]] == ["jyj"] and body["total"]["assigned"] == 3
    items = client.get("/api/v1/ledger/supervision/items", params={"as_of": END, "department": "住建局"},
                       headers=scoped).json()
    assert items["data"] == []


def test_a_reversed_range_is_refused(filled):
    client, _, sup = filled
    for path in ("/api/v1/ledger/supervision", "/api/v1/reports/periodic.xlsx", "/api/v1/reports/periodic.html"):
        r = client.get(path, params={"start": END, "end": START, "as_of": END}, headers=sup)
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_period", path
        assert "开始日期" in r.json()["error"]["message"]


def test_only_supervisors_and_admins_get_the_report(filled):
    client, _, sup = filled
    for path in ("/api/v1/reports/periodic.xlsx", "/api/v1/reports/periodic.html"):
        for role in ("drafter", "assigner"):
            r = client.get(path, params=PERIOD, headers=H[role])
            assert r.status_code == 403 and r.json()["error"]["details"]["allowed_roles"] == ["admin", "supervisor"]
        assert client.get(path, params=PERIOD, headers=sup).status_code == 200
        assert client.get(path, params=PERIOD, headers=H["admin"]).status_code == 200


def summary_rows(content: bytes) -> tuple:
    wb = load_workbook(io.BytesIO(content))
    ws = wb["汇总"]
    header = [c.value for c in ws[2]]
    rows = {r[1]: dict(zip(header, r)) for r in ws.iter_rows(min_row=3, values_only=True)}
    return wb, header, rows


@sqlite_file
def test_the_xlsx_report_counts_what_the_store_holds(filled, settings):
    client, _, sup = filled
    r = client.get("/api/v1/reports/periodic.xlsx", params=PERIOD, headers=sup)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    wb, header, rows = summary_rows(r.content)
    assert wb.sheetnames == ["汇总", *(NAMES[u] for u in ("zjj", "jyj", "nync"))]
    assert "江州市人大代表建议和政协提案办理情况通报" in wb["汇总"]["A1"].value and START in wb["汇总"]["A1"].value
    assert header[:3] == ["序号", "承办单位", "交办件数"] and {"办结率", "满意率", "A类比例", "B类", "C类"} <= set(header)
    expected = direct_counts(settings.database)
    for unit, want in expected.items():
        row = rows[NAMES[unit]]
        for key, column in COLUMNS.items():
            assert row[column] == want[key], (unit, column)
        assert row["办结率"] == pytest.approx(want["closed"] / want["assigned"], abs=1e-4)
    total = rows["合计"]
    assert total["交办件数"] == sum(w["assigned"] for w in expected.values()) == 9
    assert total["超期未办结"] == sum(w["overdue"] for w in expected.values())
    for ws in wb.worksheets:
        assert ws.freeze_panes == "C3", ws.title
        assert ws.column_dimensions["B"].width >= 12
    assert wb["汇总"].cell(row=3, column=10).number_format == "0.0%"


def test_the_xlsx_unit_sheets_list_their_items_as_text(filled):
    client, ids, sup = filled
    wb = load_workbook(io.BytesIO(client.get("/api/v1/reports/periodic.xlsx", params=PERIOD, headers=sup).content))
    ws = wb[NAMES["zjj"]]
    header = [c.value for c in ws[2]]
    assert header == ["序号", "编号", "类型", "标题", "交办日期", "答复期限", "办结日期", "办理状态", "距期限天数",
                      "答复类别", "满意度", "不满意", "重新办理", "催办次数"]
    rows = list(ws.iter_rows(min_row=3))
    assert [r[1].value for r in rows] == ["JY-02", "JY-03", "JY-05", "JY-04", "JY-01"]  # urgent first
    formula = next(r[3] for r in rows if r[1].value == "JY-03")
    assert formula.value == "'" + FORMULA_TITLE and formula.data_type == "s"
    reopened = next(r for r in rows if r[1].value == "JY-02")
    assert reopened[7].value == "超期未办结" and reopened[11].value == "是" and reopened[12].value == "重新办理中"
    for row in ws.iter_rows():
        for cell in row:
            assert not (isinstance(cell.value, str) and cell.value.startswith("=")), cell.coordinate


@sqlite_file
def test_the_html_report_has_charts_and_figures(filled, settings):
    client, _, sup = filled
    r = client.get("/api/v1/reports/periodic.html", params=PERIOD, headers=sup)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert page.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in page
    assert len(re.findall(r"<svg\b", page)) == 3 and "Noto Sans CJK SC" in page and "@media print" in page
    for caption in ("各单位办理进度（件）", "各单位办结率与满意率", "答复类别构成（已办结件）"):
        assert f"<figcaption>{caption}</figcaption>" in page
    assert "超期未办结件（4 件）" in page and "14 天内到期的未办结件（1 件）" in page
    assert "不满意及重新办理件（2 件）" in page
    z = direct_counts(settings.database)["zjj"]
    row = re.search(r"<tr><td>1</td><td class=\"text\">江州市住房和城乡建设局</td>(.*?)</tr>", page).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert [int(c) for c in cells[:7]] == [z[k] for k in ("assigned", "closed", "on_time", "closed_late", "open",
                                                          "overdue", "due_soon")]
    assert cells[7] == "20.0%"
    assert "=HYPERLINK(&quot;" in page and "<script" not in page  # the title is escaped, not markup
