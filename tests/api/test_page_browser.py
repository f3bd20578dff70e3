"""The staff page in a real headless browser (Debian's chromium via Playwright): the single-item view (reasons,
precedents, a decision that registers one case however often it is clicked). The session workspace has its own test
(test_session_browser.py)."""

from __future__ import annotations

import httpx

from tests.api.browser import sign_in
from tests.api.conftest import KEYS

ELEVATOR = "关于加快老旧小区加装电梯的建议,老旧小区加装电梯进展缓慢，物业服务跟不上。"


def test_the_single_view_registers_one_case_however_often_staff_click(served, new_page, tmp_path):
    title, body = ELEVATOR.split(",")
    page = new_page()
    sign_in(page, served, KEYS["assigner"])
    page.click("button[data-tab=single]")
    page.fill("#title", title)
    page.fill("#body", body)
    page.click("#route-form button[type=submit]")
    page.wait_for_selector("#lead-list li")
    reason = page.text_content("#lead-list")
    assert "历年主办的案件" in reason
    assert page.locator("#precedents .precedent").count() > 0
    page.dblclick("#accept-btn")  # a double click
    page.wait_for_selector("#decision-result:not([hidden])")
    page.wait_for_function("!document.querySelector('#accept-btn').disabled")
    page.fill("#override-lead input", "教育")
    page.press("#override-lead input", "Enter")
    page.click("#override-btn")
    page.wait_for_function("document.querySelector('#decision-result').textContent.includes('教育局')")
    first = page.text_content("#decision-result")
    page.screenshot(path=str(tmp_path / "single.png"), full_page=True)
    assert "（改派）" in first
    cases = httpx.get(served + "/api/v1/cases", headers={"X-API-Key": KEYS["admin"]}).json()
    assert cases["count"] == 1
    detail = httpx.get(f"{served}/api/v1/cases/{cases['data'][0]['id']}", headers={"X-API-Key": KEYS["admin"]}).json()
    assert [d["lead"]["id"] for d in detail["decisions"]][-1] == "jyj" and len(detail["decisions"]) == 2
