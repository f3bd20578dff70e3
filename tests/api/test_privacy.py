"""Logs never carry a proposal's text or a proposer's details: routing, upload, import, search and case writes."""

from __future__ import annotations

import logging

from tests.api.conftest import H
from tests.api.test_sessions import wait_job

SECRET_TITLE = "关于紫藤巷十七号违建扰民的建议"
SECRET_BODY = "紫藤巷十七号加盖三层，联系人张秀兰，电话13912345678，身份证号320102198001011234。"
PROPOSER = "张秀兰代表"
MARKERS = ("紫藤巷", "张秀兰", "13912345678", "320102198001011234")


def test_no_proposal_text_or_personal_details_in_the_logs(client, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    item = {"title": SECRET_TITLE, "body": SECRET_BODY}
    assert client.post("/api/v1/route", json=item, headers=H["assigner"]).status_code == 200
    assert client.post("/api/v1/route/batch", json={"items": [item, item]}, headers=H["assigner"]).status_code == 200
    sheet = tmp_path / "会期.csv"
    sheet.write_text(f"编号,标题,内容,提案人\nZ1,{SECRET_TITLE},{SECRET_BODY},{PROPOSER}\nZ2,,,{PROPOSER}\n",
                     encoding="utf-8")
    with open(sheet, "rb") as fh:
        content = fh.read()
    up = client.post("/api/v1/route/upload", files={"file": ("会期.csv", content, "text/csv")}, headers=H["assigner"])
    assert up.status_code == 200 and up.json()["errors"]
    session = client.post("/api/v1/sessions", files={"file": ("会期.csv", content, "text/csv")}, headers=H["assigner"])
    assert session.status_code == 202 and session.json()["upload"]["errors"]
    wait_job(client, session.json()["job"]["id"])
    rows = client.get(f"/api/v1/sessions/{session.json()['id']}/rows", headers=H["assigner"]).json()["data"]
    client.get(f"/api/v1/sessions/{session.json()['id']}/rows/{rows[0]['row_id']}", headers=H["assigner"])
    client.post(f"/api/v1/sessions/{session.json()['id']}/accept-confident", headers=H["assigner"])
    client.get(f"/api/v1/sessions/{session.json()['id']}/export.xlsx", headers=H["assigner"])
    case = client.post("/api/v1/cases", json={**item, "proposer": PROPOSER}, headers=H["assigner"]).json()
    client.post(f"/api/v1/cases/{case['id']}/decision", json={"lead": "住建局"}, headers=H["assigner"])
    client.post(f"/api/v1/cases/{case['id']}/outcome", json={"reply": f"已约谈{PROPOSER}，拆除紫藤巷违建。",
                                                             "category": "A"}, headers=H["drafter"])
    assert client.post("/api/v1/search", json={"query": SECRET_TITLE}, headers=H["drafter"]).status_code == 200
    client.post("/api/v1/search", json={"query": SECRET_TITLE, "department": "紫藤巷局"}, headers=H["drafter"])
    assert caplog.records  # the service did log, just not these
    leaked = [m for m in MARKERS if m in caplog.text]
    assert leaked == [], caplog.text
