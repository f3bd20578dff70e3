"""A whole session in a real headless browser (Debian's chromium via Playwright): sign in as assigner, upload a
2,000-row XLSX made from the sample open batch (a damaged row, planted duplicates, a formula title), watch the
progress bar finish, change one lead and its co-handlers, accept all confident rows, download both workbooks and check
them with openpyxl, then upload the same sheet again (and its GBK CSV variant) and check no case was duplicated.
Screenshots of each step go to ``$JIAOBAN_SCREENSHOTS`` (default: the test's temporary folder)."""

from __future__ import annotations

import re

import httpx
import pytest
from openpyxl import load_workbook

from tests.api.browser import sign_in
from tests.api.conftest import KEYS
from tests.api.session_sheet import FORMULA, session_sheet

ROWS = 2000
pytestmark = pytest.mark.slow


def cases_in_store(base: str) -> int:
    r = httpx.get(base + "/api/v1/cases", params={"limit": 1}, headers={"X-API-Key": KEYS["admin"]})
    return r.json()["count"]


def test_a_whole_session_from_upload_to_handout(served, new_page, shots, tmp_path):
    sheet = session_sheet(ROWS)
    xlsx = sheet.xlsx(tmp_path / "会期建议.xlsx")
    gbk = sheet.csv(tmp_path / "会期建议-GBK.csv", encoding="gbk")
    page = new_page(accept_downloads=True)
    sign_in(page, served, KEYS["assigner"])
    page.wait_for_selector("#new-session-form")

    # 1. upload: the button is disabled while the job runs; the bar fills and says what is left
    page.fill("#session-name", "江州市十七届人大四次会议")
    page.fill("#session-date", "2026-01-12")
    page.set_input_files("#session-file", str(xlsx))
    page.screenshot(path=str(shots / "1-upload.png"))
    page.click("#session-upload")
    page.wait_for_selector("#job-box:not([hidden])")
    assert page.is_disabled("#reupload-btn") or page.is_visible("#job-cancel")
    page.screenshot(path=str(shots / "2-progress.png"))
    page.wait_for_function("document.querySelector('#job-text').textContent.includes('已完成')",
                           timeout=240_000)
    assert page.eval_on_selector("#job-bar", "b => b.value === b.max")
    assert page.is_enabled("#reupload-btn")
    summary = page.text_content("#session-summary")
    assert f"共 {sheet.good} 条" in summary and f"已分析 {sheet.good}" in summary
    assert "第 10 行" in page.text_content("#row-errors")

    # 2. the grouped review table: the planted duplicates are one group
    page.check("#f-grouped")
    page.wait_for_selector("#session-table[data-state=ready] .badge.group")
    page.screenshot(path=str(shots / "3-grouped-table.png"))
    page.fill("#f-text", "HY2026-00005")
    page.wait_for_function("document.querySelectorAll('#session-table tr.row').length === 1")
    badge = page.text_content("#session-table .badge.group")
    assert {str(r) for r in sheet.duplicate_rows} <= set(re.split(r"[（）、行 ]+", badge)), badge
    page.fill("#f-text", "")
    page.uncheck("#f-grouped")
    page.wait_for_selector("#session-table[data-state=ready]")
    page.wait_for_function("document.querySelectorAll('#session-table tr.row').length > 1")

    # 3. change one lead and its co-handlers in place, with the unit picker (short names and aliases)
    first = page.locator("#session-table tr.row").first
    changed_no = first.locator("td").nth(1).text_content()
    first.locator("button.change").click()
    page.wait_for_selector("tr.detail .lead-picker input")
    page.fill("tr.detail .lead-picker input", "教育局")
    page.press("tr.detail .lead-picker input", "Enter")
    page.fill("tr.detail .co-picker input", "住建")
    page.press("tr.detail .co-picker input", "Enter")
    page.fill("tr.detail .co-picker input", "东湖区")
    page.press("tr.detail .co-picker input", "Enter")
    page.click("tr.detail .save-decision")
    page.wait_for_selector("#session-table tr.row.decided")
    done = page.text_content("#session-table tr.row.decided .done")
    assert "江州市教育局" in done and "江州市住房和城乡建设局" in done and "东湖区人民政府" in done
    page.wait_for_selector("tr.detail .history li")
    page.locator("tr.detail").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "4-expanded-row.png"))

    # 4. accept all confident rows in one action
    page.click("#accept-all")
    page.wait_for_selector("#notice:not([hidden])")
    accepted = int(re.search(r"已按建议交办 (\d+) 条", page.text_content("#notice")).group(1))

    # 5. both workbooks
    with page.expect_download() as d1:
        page.click("#dl-session")
    book_path = tmp_path / "session.xlsx"
    d1.value.save_as(book_path)
    with page.expect_download() as d2:
        page.click("#dl-handout")
    hand_path = tmp_path / "handout.xlsx"
    d2.value.save_as(hand_path)
    page.wait_for_selector("#notice:not([hidden])")
    page.screenshot(path=str(shots / "5-download.png"))

    # 6. the same sheet again, then its GBK CSV variant: nothing is duplicated
    before = cases_in_store(served)
    assert before == sheet.good
    for again in (xlsx, gbk):
        page.set_input_files("#reupload-file", str(again))
        page.click("#reupload-btn")
        page.wait_for_function(
            f"document.querySelector('#upload-summary').textContent.includes('与已有相同 {sheet.good - 1}')"
            f" || document.querySelector('#upload-summary').textContent.includes('与已有相同 {sheet.good}')",
            timeout=60_000)
        assert "新增 0 条" in page.text_content("#upload-summary")
    assert cases_in_store(served) == before
    page.set_viewport_size({"width": 400, "height": 800})
    page.screenshot(path=str(shots / "6-narrow.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # only the table scrolls

    book = load_workbook(book_path)
    ws = book["交办建议与决定"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) for name in header}
    body = {r[col["编号"]]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert len(body) == sheet.good and ws.freeze_panes == "A2"
    mine = body[changed_no]
    assert mine[col["主办"]] == "江州市教育局" and mine[col["协办"]] == "江州市住房和城乡建设局、东湖区人民政府"
    assert mine[col["决定人"]] and mine[col["交办日期"]] and mine[col["答复期限"]]
    decided = [r for r in body.values() if r[col["主办"]]]
    assert len(decided) == accepted + 1
    assert all(r[col["主办"]] == r[col["建议主办"]] for r in decided if r[col["编号"]] != changed_no)
    assert all(r[col["需复核"]] != "是" for r in decided if r[col["编号"]] != changed_no)
    groups = {body[f"HY2026-{n - 1:05d}"][col["并案组"]] for n in sheet.duplicate_rows}
    assert len(groups) == 1 and groups != {""} and groups != {None}
    assert body["HY2026-00002"][col["标题"]] == "'" + FORMULA
    assert all(c.data_type == "s" for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str))
    bad = list(book["未能读取的行"].iter_rows(min_row=2, values_only=True))
    assert {b[0] for b in bad} == {sheet.damaged_row}

    hand = load_workbook(hand_path)
    edu = list(hand["江州市教育局"].iter_rows(min_row=2, values_only=True))
    assert any(r[1] == changed_no and r[6] == "江州市住房和城乡建设局、东湖区人民政府" and r[8] for r in edu)
    listed = sum(hand[name].max_row - 1 for name in hand.sheetnames if name not in ("说明", "尚未交办"))
    assert listed == accepted + 1
    assert hand["尚未交办"].max_row - 1 == sheet.good - accepted - 1
