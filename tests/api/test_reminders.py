"""催办: the supervision office reminds a unit about one item or about all its overdue items at once; nothing is sent
twice in a day; the unit's drafters see and acknowledge them; other units see none of it."""

from __future__ import annotations

from models import clock
from tests.api.conftest import H
from tests.api.supervision_data import END, fill, supervisor_key


def test_remind_one_item_once_a_day_and_the_unit_acknowledges(client):
    ids = fill(client)
    sup = supervisor_key(client)
    zjj = {"X-API-Key": client.post("/api/v1/keys", json={"name": "住建局", "role": "drafter", "unit": "住建局"},
                                    headers=H["admin"]).json()["key"]}
    jyj = {"X-API-Key": client.post("/api/v1/keys", json={"name": "教育局", "role": "drafter", "unit": "教育局"},
                                    headers=H["admin"]).json()["key"]}
    r = client.post(f"/api/v1/cases/{ids['JY-03']}/reminders", json={"note": "已超期，请本周内答复"}, headers=sup)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["unit"]["id"] == "zjj" and first["note"] == "已超期，请本周内答复" and not first["unchanged"]
    assert first["sent_by"] == "督查室" and first["acknowledged_at"] is None and first["due_on"]
    again = client.post(f"/api/v1/cases/{ids['JY-03']}/reminders", json={"note": "已超期，请本周内答复"}, headers=sup)
    assert again.json()["id"] == first["id"] and again.json()["unchanged"] is True
    other = client.post(f"/api/v1/cases/{ids['JY-03']}/reminders", json={}, headers=sup).json()
    assert other["id"] != first["id"] and other["note"].startswith("请抓紧办理")
    mine = client.get("/api/v1/reminders", params={"unacknowledged": True}, headers=zjj).json()
    assert [m["id"] for m in mine["data"]] == [other["id"], first["id"]]
    assert client.get("/api/v1/reminders", headers=jyj).json()["count"] == 0  # another unit's: not shown
    assert client.post(f"/api/v1/reminders/{first['id']}/acknowledge", headers=jyj).status_code == 404
    assert client.post(f"/api/v1/reminders/{first['id']}/acknowledge", headers=sup).status_code == 403
    ack = client.post(f"/api/v1/reminders/{first['id']}/acknowledge", headers=zjj)
    assert ack.status_code == 200 and ack.json()["acknowledged_by"] == "住建局" and not ack.json()["unchanged"]
    assert client.post(f"/api/v1/reminders/{first['id']}/acknowledge", headers=zjj).json()["unchanged"] is True
    left = client.get("/api/v1/reminders", params={"unacknowledged": True}, headers=zjj).json()
    assert [m["id"] for m in left["data"]] == [other["id"]]
    by_case = client.get("/api/v1/reminders", params={"case_id": ids["JY-03"]}, headers=H["assigner"]).json()
    assert by_case["count"] == 2


def test_closed_or_unassigned_items_are_not_reminded_and_only_supervisors_remind(client):
    ids = fill(client)
    sup = supervisor_key(client)
    closed = client.post(f"/api/v1/cases/{ids['JY-01']}/reminders", json={}, headers=sup)
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "case_not_assigned"
    assert "已办结" in closed.json()["error"]["message"]
    new = client.post("/api/v1/cases", json={"title": "关于未交办事项的建议", "route": False}, headers=H["assigner"]).json()
    assert client.post(f"/api/v1/cases/{new['id']}/reminders", json={}, headers=sup).status_code == 409
    assert client.post("/api/v1/cases/999999/reminders", json={}, headers=sup).status_code == 404
    for role in ("assigner", "drafter"):
        r = client.post(f"/api/v1/cases/{ids['JY-03']}/reminders", json={}, headers=H[role])
        assert r.status_code == 403 and r.json()["error"]["details"]["allowed_roles"] == ["admin", "supervisor"]


def test_remind_every_overdue_item_of_a_unit_at_once(client):
    ids = fill(client)
    sup = supervisor_key(client)
    overdue = client.get("/api/v1/ledger/supervision/items", params={"as_of": END, "figure": "overdue",
                                                                     "department": "住建局"}, headers=sup).json()
    assert overdue["count"] >= 1
    body = {"department": "住建局", "figure": "overdue", "as_of": END, "note": "请于五个工作日内答复"}
    r = client.post("/api/v1/reminders/batch", json=body, headers=sup)
    assert r.status_code == 201, r.text
    sent = r.json()
    still_open = [x["id"] for x in overdue["data"] if client.get(f"/api/v1/cases/{x['id']}", headers=sup).json()[
        "status"] == "assigned"]
    assert ids["JY-05"] in sent["skipped"]  # overdue as of END, closed since: not pressed
    assert sorted(x["case_id"] for x in sent["data"]) == sorted(still_open) and still_open
    assert sent["new"] == sent["count"] == len(still_open) and sent["department"]["id"] == "zjj"
    twice = client.post("/api/v1/reminders/batch", json=body, headers=sup).json()
    assert twice["count"] == sent["count"] and twice["new"] == 0  # nothing sent twice on one day
    figures = client.get("/api/v1/reminders/figures", headers=sup).json()
    row = {f["department"]["id"]: f for f in figures["data"]}["zjj"]
    assert row["reminders"] == row["items"] == row["unacknowledged"] == row["still_open"] == sent["count"]
    assert figures["reminders"] == sent["count"]
    bad = client.post("/api/v1/reminders/batch", json={**body, "department": "不存在局"}, headers=sup)
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "department"
    assert ids  # the fill made the cases the figures count


ZJJ, JYJ = "江州市住房和城乡建设局", "江州市教育局"


def test_the_periodic_report_counts_reminders_sent_up_to_its_date(client):
    import io

    from openpyxl import load_workbook

    ids = fill(client)
    sup = supervisor_key(client)
    for note in ("已超期，请本周内答复", "请于三日内报送答复"):
        assert client.post(f"/api/v1/cases/{ids['JY-03']}/reminders", json={"note": note}, headers=sup).status_code == 201

    def summary(end: str) -> tuple[dict, dict]:
        r = client.get("/api/v1/reports/periodic.xlsx", params={"start": "2026-01-01", "end": end}, headers=sup)
        assert r.status_code == 200, r.text
        wb = load_workbook(io.BytesIO(r.content))
        ws = wb["汇总"]
        header = [c.value for c in ws[2]]
        rows = {row[1]: dict(zip(header, row)) for row in ws.iter_rows(min_row=3, values_only=True)}
        unit = wb[ZJJ]
        items = {row[1]: dict(zip([c.value for c in unit[2]], row)) for row in unit.iter_rows(min_row=3, values_only=True)}
        return rows, items

    rows, items = summary(clock.today().isoformat())
    assert rows[ZJJ]["催办次数"] == 2 and rows[ZJJ]["被催办件数"] == 1
    assert rows["合计"]["催办次数"] == 2 and rows[JYJ]["催办次数"] == 0
    assert items["JY-03"]["催办次数"] == 2 and not items["JY-01"]["催办次数"]
    rows, items = summary(END)  # as of the end of June nothing had been sent yet
    assert rows[ZJJ]["催办次数"] == 0 and not items["JY-03"]["催办次数"]
