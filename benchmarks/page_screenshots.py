"""Screenshots of the session workspace for docs/ and the README, from a running service.

Start the service on the sample data (``make run``, or ``make serve`` once the model is trained), then

    .venv/bin/python benchmarks/page_screenshots.py --base http://127.0.0.1:8000 --key dev-assigner-key-01

It uploads ``data/samples/open_batch.csv`` as a new session (as an XLSX, so a fresh database is best: the same sheet
twice is refused as a new session), waits for routing, and saves docs/screenshots/session-{upload,progress,review,
expanded,download,narrow}.png; with ``--admin-key dev-admin-key-0001`` also role-*.png (a unit-scoped drafter's
待办, case and search, the assigner's 退办申请, the supervisor's 台账, the admin page).
Needs Debian's chromium and Playwright for Python (``make browser``; never
``playwright install``).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"


def sheet(path: Path) -> Path:
    with open(ROOT / "data" / "samples" / "open_batch.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="http://127.0.0.1:8000")
    ap.add_argument("--key", default="dev-assigner-key-01")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--admin-key", help="also the other roles' views (keys for them are made with this admin key)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    xlsx = sheet(tmp / "江州市十七届人大四次会议-建议汇总.xlsx")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 860}, accept_downloads=True)
        page.goto(args.base + "/")
        page.fill("#key-input", args.key)
        page.press("#key-input", "Enter")
        page.wait_for_selector("#new-session-form:not([hidden])")
        page.fill("#session-name", "江州市十七届人大四次会议")
        page.fill("#session-date", "2026-01-12")
        page.set_input_files("#session-file", str(xlsx))
        page.screenshot(path=str(args.out / "session-upload.png"))
        page.click("#session-upload")
        page.wait_for_function("document.querySelector('#job-bar').value > 0", timeout=120_000)
        page.screenshot(path=str(args.out / "session-progress.png"))
        page.wait_for_function("document.querySelector('#job-text').textContent.includes('已完成')", timeout=600_000)
        page.check("#f-grouped")
        page.wait_for_selector("#session-table[data-state=ready] .badge.group")
        time.sleep(0.5)
        page.locator("#session-table").scroll_into_view_if_needed()
        page.screenshot(path=str(args.out / "session-review.png"))
        page.uncheck("#f-grouped")
        page.wait_for_selector("#session-table[data-state=ready]")
        page.wait_for_function("document.querySelectorAll('#session-table tr.row').length > 1")
        page.locator("#session-table tr.row").first.click()
        page.wait_for_selector("tr.detail .lead-picker input")
        page.locator("tr.detail .lead-picker input").focus()
        page.keyboard.type("教育")
        time.sleep(0.3)
        page.locator("#session-table tr.row").first.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -10)")
        page.screenshot(path=str(args.out / "session-expanded.png"))
        page.keyboard.press("Escape")
        page.click("#accept-all")
        page.wait_for_selector("#notice:not([hidden])")
        with page.expect_download() as got:
            page.click("#dl-handout")
        got.value.save_as(tmp / "handout.xlsx")
        page.wait_for_selector("#notice:not([hidden])")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(args.out / "session-download.png"))
        page.set_viewport_size({"width": 400, "height": 800})
        page.screenshot(path=str(args.out / "session-narrow.png"))
        if args.admin_key:
            roles(browser, args)
        browser.close()
    print(f"screenshots in {args.out}")


def sign_in(page, base: str, key: str) -> None:
    page.goto(base + "/")
    page.evaluate("sessionStorage.clear()")
    page.goto(base + "/")
    page.fill("#key-input", key)
    page.press("#key-input", "Enter")
    page.wait_for_function("document.querySelector('#role-label').textContent.length > 0")


def roles(browser, args) -> None:
    """The other roles' main views, after the session above was accepted: a 住建局 drafter, the assigner's
    reassignment requests, the supervisor's ledger and the admin page (keys made with ``--admin-key``)."""
    import httpx

    api = args.base + "/api/v1"
    admin = {"X-API-Key": args.admin_key}
    drafter = httpx.post(api + "/keys", json={"name": "市住建局答复", "role": "drafter", "unit": "市住建局"},
                         headers=admin).json()["key"]
    supervisor = httpx.post(api + "/keys", json={"name": "督查室", "role": "supervisor"}, headers=admin).json()["key"]
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    sign_in(page, args.base, drafter)
    page.wait_for_selector("#todo-table tbody tr.row")
    page.screenshot(path=str(args.out / "role-drafter-todo.png"))
    rows = page.locator("#todo-table tbody tr.row")
    unit = "江州市住房和城乡建设局"
    led = [i for i in range(rows.count()) if rows.nth(i).locator("td").nth(2).text_content() == unit]
    rows.nth(led[0] if led else 0).click()
    page.wait_for_selector(".precedents-box .precedent")
    page.locator(".precedents-box .full-reply summary").first.click()
    page.fill(".reassign-form textarea", "本件主要涉及校园周边交通组织，建议由市公安局交警支队主办")
    page.fill(".reassign-form .picker input", "公安")
    page.press(".reassign-form .picker input", "Enter")
    page.click(".reassign-form button[type=submit]")
    page.wait_for_selector(".reassign-form .ok:not([hidden]), #message:not([hidden])")
    page.locator(".precedents-box").scroll_into_view_if_needed()
    page.screenshot(path=str(args.out / "role-drafter-case.png"))
    page.click("button[data-tab=search]")
    page.fill("#search-query", "老旧小区加装电梯 补贴")
    page.select_option("#s-category", "B")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#search-results .precedent")
    page.screenshot(path=str(args.out / "role-drafter-search.png"))
    sign_in(page, args.base, args.key)
    page.click("button[data-tab=requests]")
    page.wait_for_selector(".request")
    page.screenshot(path=str(args.out / "role-assigner-requests.png"))
    # an item assigned early in the year and overdue now, for the supervisor to press (催办)
    year = date.today().year
    late = httpx.post(api + "/cases", json={"case_no": f"JY{year}-9001", "title": "关于增设小区充电桩的建议",
                                            "body": "老旧小区电动自行车充电难，飞线充电隐患大。", "route": False},
                      headers={"X-API-Key": args.key}).json()
    httpx.post(f"{api}/cases/{late['id']}/decision", json={"lead": "市住建局", "assigned_on": f"{year}-01-06",
                                                           "due_on": f"{year}-04-06"}, headers={"X-API-Key": args.key})
    sign_in(page, args.base, supervisor)
    page.click("button[data-tab=ledger]")
    page.wait_for_selector("#ledger-table tbody tr")
    page.once("dialog", lambda d: d.accept("已超过答复期限，请于五个工作日内办结并答复代表。"))
    page.click("#ledger-table tbody tr:has-text('江州市住房和城乡建设局') button.remind-unit")
    page.wait_for_selector("#overdue-table td.remind:has-text('已催办')")
    page.click("#ledger-table tbody tr:has-text('江州市住房和城乡建设局') td:nth-child(7) a.drill-link")
    page.wait_for_selector("#drill:not([hidden]) #drill-table tbody tr")
    page.screenshot(path=str(args.out / "role-supervisor-ledger.png"), full_page=True)
    sign_in(page, args.base, drafter)
    page.click("#todo-table tbody tr.row:has(.reminded)")
    page.wait_for_selector(".reminders-box button.ack")
    page.screenshot(path=str(args.out / "role-drafter-reminder.png"))
    sign_in(page, args.base, args.admin_key)
    page.click("button[data-tab=admin]")
    page.wait_for_selector("#models-table tbody tr")
    page.click("#history-count")
    page.screenshot(path=str(args.out / "role-admin.png"))
    page.select_option("#reorg-mode", "split")
    page.fill("#reorg-old input", "文化广电旅游")
    page.press("#reorg-old input", "Enter")
    page.fill("#reorg-on", f"{year + 1}-01-01")
    page.fill("#split-name-0", "江州市文化广电局")
    page.fill("#split-duties-0", "公共文化服务、文物保护和非物质文化遗产、广播电视管理")
    page.fill("#split-name-1", "江州市旅游发展局")
    page.fill("#split-duties-1", "旅游景区建设和管理、旅游市场监管、全域旅游和文旅融合发展")
    page.locator("#reorg-form").scroll_into_view_if_needed()
    page.screenshot(path=str(args.out / "role-admin-split.png"))


if __name__ == "__main__":
    main()
