"""Each role in a real headless browser (Debian's chromium via Playwright): the admin creates a unit-scoped drafter
key; the drafter sees only its views, finds a precedent and opens its full reply, requests reassignment and records a
reply; the assigner approves the reassignment; the supervisor sees the ledger change. Screenshots go to
``$JIAOBAN_SCREENSHOTS`` (default: the test's temporary folder)."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from openpyxl import load_workbook

from models import clock
from tests.api.browser import sign_in
from tests.api.conftest import KEYS
from tests.api.fakedata import closed_rows, write_csv

pytestmark = pytest.mark.slow


def visible_tabs(page) -> list[str]:
    return page.eval_on_selector_all("#nav .tab", "ts => ts.filter(t => !t.hidden).map(t => t.dataset.tab)")


def test_every_role_in_the_browser(served, new_page, shots, tmp_path):
    h = {"assigner": {"X-API-Key": KEYS["assigner"]}, "admin": {"X-API-Key": KEYS["admin"]}}
    api = served + "/api/v1"
    case = httpx.post(api + "/cases", json={"case_no": "JY2026-0777", "title": "关于加快老旧小区加装电梯的建议",
                                            "body": "老旧小区加装电梯进展缓慢，物业服务跟不上。"},
                      headers=h["assigner"]).json()
    httpx.post(f"{api}/cases/{case['id']}/decision", json={"lead": "市住建局"}, headers=h["assigner"])
    sup = httpx.post(api + "/keys", json={"name": "督查室", "role": "supervisor"}, headers=h["admin"]).json()["key"]
    page = new_page()

    # admin: every view; creates a drafter key for 住建局 (the key is shown once)
    sign_in(page, served, KEYS["admin"])
    assert set(visible_tabs(page)) >= {"session", "todo", "search", "ledger", "admin"}
    page.click("button[data-tab=admin]")
    page.wait_for_selector("#models-table tbody tr")
    page.fill("#k-name", "市住建局答复")
    page.select_option("#k-role", "drafter")
    page.fill("#k-unit input", "住建")
    page.press("#k-unit input", "Enter")
    page.click("#key-create-form button[type=submit]")
    page.wait_for_selector("#k-created:not([hidden])")
    drafter_key = page.text_content("#k-created").rsplit("：", 1)[1].strip()
    # a reorganisation: 市城管执法局 renamed from today; its old names now lead to the new unit
    page.fill("#reorg-old input", "城管执法")
    page.press("#reorg-old input", "Enter")
    page.fill("#reorg-on", clock.today().isoformat())
    page.fill("#reorg-name", "江州市城市综合管理局")
    page.fill("#reorg-short", "市城综局")
    page.click("#reorg-form button[type=submit]")
    page.wait_for_selector("#notice:not([hidden]), #message:not([hidden])")
    assert page.is_hidden("#message"), page.text_content("#message")
    assert "江州市城市综合管理局" in page.text_content("#notice")
    # a split: 市农业农村局 in two from today; each part's duties decide where its old cases train
    page.select_option("#reorg-mode", "split")
    page.fill("#reorg-old input", "农业农村")
    page.press("#reorg-old input", "Enter")
    page.fill("#split-name-0", "江州市农业发展局")
    page.fill("#split-duties-0", "种植业、畜牧业、农产品质量安全")
    page.fill("#split-name-1", "江州市乡村建设局")
    page.fill("#split-duties-1", "农村人居环境整治、村庄规划建设")
    page.click("#reorg-form button[type=submit]")
    page.wait_for_function("/已登记拆分/.test(document.querySelector('#notice').textContent) || "
                           "!document.querySelector('#message').hidden")
    assert page.is_hidden("#message"), page.text_content("#message")
    page.click("#dept-count")
    page.wait_for_selector("#depts-table tbody tr:has-text('拆分为')")
    page.screenshot(path=str(shots / "admin.png"), full_page=True)

    # drafter: only its views; finds precedents with full replies, asks for reassignment, records a reply
    sign_in(page, served, drafter_key)
    assert visible_tabs(page) == ["todo", "search", "ledger"]  # its own unit's ledger
    assert "江州市住房和城乡建设局" in page.text_content("#role-label")
    page.wait_for_selector("#todo-table tbody tr.row")
    page.click("#todo-table tbody tr.row")
    page.wait_for_selector(".precedents-box .precedent")
    page.click(".precedents-box .full-reply summary")
    assert page.locator(".precedents-box .full-reply p").first.is_visible()
    page.fill(".reassign-form textarea", "本件涉及学校周边，建议由教育部门主办")
    page.fill(".reassign-form .picker input", "教育局")
    page.press(".reassign-form .picker input", "Enter")
    page.click(".reassign-form button[type=submit]")
    page.wait_for_selector(".reassign-form .ok:not([hidden])")
    page.fill(".reply-form textarea", "我局已会同有关部门研究，正在推进。")
    page.select_option(".reply-form select >> nth=0", "B")
    page.click(".reply-form button[type=submit]")
    page.wait_for_selector(".reply-form .ok:not([hidden])")
    page.screenshot(path=str(shots / "drafter.png"), full_page=True)
    page.click("button[data-tab=search]")
    page.fill("#search-query", "加装电梯")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#search-results .precedent mark")
    assert "匹配段落（正文）" in page.text_content("#search-results .precedent .passage")
    assert page.text_content("#search-results .precedent .terms").startswith("共同词语：")
    page.screenshot(path=str(shots / "search.png"))
    page.select_option("#s-target", "replies")  # replies that answered something like this
    page.click("#search-form button[type=submit]")
    page.wait_for_function("document.querySelector('#search-results').textContent.includes('类似问题的历史答复')")
    assert "匹配段落（答复）" in page.text_content("#search-results .precedent .passage")

    # assigner: approves the request; the item moves to 教育局
    sign_in(page, served, KEYS["assigner"])
    page.click("button[data-tab=requests]")
    page.wait_for_selector(".request .approve")
    assert "本件涉及学校周边" in page.text_content(".request")
    page.screenshot(path=str(shots / "requests.png"))
    page.click(".request .approve")
    page.wait_for_selector("#notice:not([hidden])")
    page.click("#reassign-figures summary")  # the reassignment rate per unit and per model version
    page.wait_for_selector("#reassign-units tbody tr:has-text('江州市住房和城乡建设局')")
    assert "100%" in page.text_content("#reassign-units tbody tr:has-text('江州市住房和城乡建设局')")

    # supervisor: reads the ledger, decides nothing; reminds 住建局 of its overdue item (催办)
    late = httpx.post(api + "/cases", json={"case_no": "JY2026-0100", "title": "关于小区停车位配建的建议",
                                            "body": "新建小区停车位不足。"}, headers=h["assigner"]).json()
    httpx.post(f"{api}/cases/{late['id']}/decision", json={
        "lead": "市住建局", "assigned_on": f"{clock.today().year}-01-05", "due_on": f"{clock.today().year}-04-05"},
        headers=h["assigner"])
    sign_in(page, served, sup)
    assert "session" not in visible_tabs(page) and "ledger" in visible_tabs(page)
    page.click("button[data-tab=ledger]")
    page.wait_for_selector("#ledger-table tbody tr")
    assert "江州市教育局" in page.text_content("#ledger-table")
    page.click("#ledger-table tbody tr:has-text('江州市教育局') a.drill-link")
    page.wait_for_selector("#drill:not([hidden]) #drill-table tbody tr")
    assert "JY2026-0777" in page.text_content("#drill-table")
    page.once("dialog", lambda d: d.accept("已超期八个月，请本周内答复"))
    page.click("#ledger-table tbody tr:has-text('江州市住房和城乡建设局') button.remind-unit")
    page.wait_for_function("/已向.*催办/.test(document.querySelector('#notice').textContent)")
    page.wait_for_selector("#overdue-table td.remind:has-text('已催办 1 次')")
    page.screenshot(path=str(shots / "supervisor.png"), full_page=True)
    with page.expect_download() as got:
        page.click("#rep-xlsx")
    report = tmp_path / "report.xlsx"
    got.value.save_as(report)

    # drafter again: the reminder is on its list; it acknowledges it
    sign_in(page, served, drafter_key)
    page.wait_for_selector("#todo-table tbody tr.row .reminded")
    page.click("#todo-table tbody tr.row:has(.reminded)")
    page.wait_for_selector(".reminders-box button.ack")
    assert "已超期八个月" in page.text_content(".reminders-box")
    page.screenshot(path=str(shots / "drafter-reminder.png"), full_page=True)
    page.click(".reminders-box button.ack")
    page.wait_for_selector("#todo-table tbody tr.row .reminded", state="detached")

    # admin: promotes the other version; the service switches at once
    sign_in(page, served, KEYS["admin"])
    page.click("button[data-tab=admin]")
    page.once("dialog", lambda d: d.accept("浏览器测试：切换版本"))
    page.wait_for_selector("#models-table tbody tr button.promote")
    page.click("#models-table tbody tr button.promote")
    page.wait_for_selector("#notice:not([hidden])")
    assert "已上线模型" in page.text_content("#notice")
    # a retrain from the page runs as a background job over the store's closed cases
    ledger = write_csv(closed_rows(n_per_dept=6), tmp_path / "closed.csv")
    with open(ledger, "rb") as fh:
        imported = httpx.post(api + "/cases/import", files={"file": ("closed.csv", fh)}, headers=h["admin"])
    assert imported.status_code == 200, imported.text
    page.click("#train-start")
    page.wait_for_selector("#train-box:not([hidden]), #message:not([hidden])")
    assert page.is_hidden("#message"), page.text_content("#message")
    page.wait_for_function("/已完成|失败|已取消/.test(document.querySelector('#train-text').textContent)",
                           timeout=120_000)
    assert "已完成" in page.text_content("#train-text"), page.text_content("#train-text")
    assert page.text_content("#train-log")
    # and a rollback, with its reason kept beside the promotion's
    page.once("dialog", lambda d: d.accept("浏览器测试：回退"))
    page.click("#model-rollback")
    page.wait_for_function("/已回退/.test(document.querySelector('#notice').textContent)")
    page.click("#history-count")
    page.wait_for_selector("#history-table tbody tr:has-text('浏览器测试：回退')")
    assert "浏览器测试：切换版本" in page.text_content("#history-table")
    page.screenshot(path=str(shots / "admin-models.png"), full_page=True)
    moved = httpx.get(f"{api}/cases/{case['id']}", headers=h["assigner"]).json()
    assert moved["lead"]["id"] == "jyj" and moved["outcomes"][0]["category"] == "B"
    assert httpx.get(f"{api}/cases/{case['id']}", headers={"X-API-Key": drafter_key}).status_code == 404
    renamed = httpx.post(api + "/route", json={"title": "关于规范占道经营的建议", "body": "占道经营。"},
                         headers=h["assigner"])
    units = httpx.get(api + "/departments", headers=h["admin"]).json()["data"]
    old = next(d for d in units if d["id"] == "cgzf")
    assert old["current"]["name"] == "江州市城市综合管理局" and not old["active"]
    assert renamed.status_code == 200
    book = load_workbook(report)
    summary = book["汇总"]
    header_row = next(r for r in summary.iter_rows(values_only=True) if r and "交办件数" in r)
    col, unit = header_row.index("交办件数"), header_row.index("承办单位")
    counted = {r[unit]: r[col] for r in summary.iter_rows(values_only=True) if r and r[unit] and r[col] is not None}
    with sqlite3.connect(tmp_path / "data" / "jiaoban.db") as db:  # the store, asked directly
        direct = db.execute("SELECT count(*) FROM cases WHERE lead_id = 'jyj' AND assigned_on >= ? AND "
                            "assigned_on <= ?", (f"{clock.today().year}-01-01", clock.today().isoformat())).fetchone()[0]
    assert counted["江州市教育局"] == direct == 1
    active = httpx.get(api + "/models/active", headers=h["admin"]).json()
    assert not active["version"].endswith("-copy")  # promoted, then rolled back
    promoted, rolled_back = httpx.get(api + "/models", headers=h["admin"]).json()["history"][-2:]
    assert promoted["why"] == "浏览器测试：切换版本" and promoted["version"].endswith("-copy") and promoted["by"]
    assert rolled_back["action"] == "rollback" and rolled_back["why"] == "浏览器测试：回退"
    assert rolled_back["version"] == active["version"] and rolled_back["by"] == promoted["by"]
    split = next(d for d in units if d["id"] == "nync")
    assert [p["name"] for p in split["split_into"]] == ["江州市农业发展局", "江州市乡村建设局"]
    reminders = httpx.get(api + "/reminders", params={"case_id": late["id"]}, headers=h["admin"]).json()["data"]
    assert [(r["note"], r["unit"]["id"], bool(r["acknowledged_at"])) for r in reminders] == [
        ("已超期八个月，请本周内答复", "zjj", True)]
