"""督查室's list of dismissed aid hints in a real headless browser: every dismissal (case, aid, who, when, why),
filtered by lead unit and by aid. Screenshot to ``$JIAOBAN_SCREENSHOTS`` (docs/screenshots/aid-dismissals.png was
made with it set to docs/screenshots)."""

from __future__ import annotations

import httpx
import pytest

from models import clock
from tests.api.browser import sign_in
from tests.api.conftest import KEYS

pytestmark = pytest.mark.slow

CASES = [("JY2026-0101", "关于加快老旧小区加装电梯的建议", "市住建局",
          [("drafter", "coverage", "unanswered", "第三点已与代表电话沟通，无需书面回应"),
           ("drafter", "category", "category", "")]),
         ("JY2026-0102", "关于优化中小学课后服务的建议", "市教育局",
          [("assigner", "admissibility", "multi_matter", "两项均属课后服务，同一事项")])]


def test_the_supervisor_lists_the_dismissals(served, new_page, shots):
    h = {role: {"X-API-Key": KEYS[role]} for role in KEYS}
    api = served + "/api/v1"
    for case_no, title, lead, dismissals in CASES:
        case = httpx.post(api + "/cases", json={"case_no": case_no, "title": title, "body": title + "。建议尽快推进。",
                                                "route": False}, headers=h["assigner"]).json()
        r = httpx.post(f"{api}/cases/{case['id']}/decision", json={"lead": lead}, headers=h["assigner"])
        assert r.status_code == 201, r.text
        for who, aid, code, note in dismissals:
            r = httpx.post(f"{api}/cases/{case['id']}/aid-dismissals", json={"aid": aid, "code": code, "note": note},
                           headers=h[who])
            assert r.status_code == 201, r.text
    sup = httpx.post(api + "/keys", json={"name": "督查室", "role": "supervisor"}, headers=h["admin"]).json()["key"]
    page = new_page(viewport={"width": 1280, "height": 720})
    sign_in(page, served, KEYS["drafter"])
    assert page.locator("button[data-tab=dismissals]").is_hidden()  # the supervision office's tab only

    sign_in(page, served, sup)
    page.click("button[data-tab=dismissals]")
    rows = page.locator("#dismissals-table tbody tr")
    rows.nth(2).wait_for()
    assert rows.count() == 3 and "共 3 条" in page.text_content("#dm-count")
    first = [c.strip() for c in rows.nth(0).locator("td").all_text_contents()]
    assert first[0] == "JY2026-0102" and first[3] == "受理提示" and first[4] == "一事多议"
    assert first[7] == "两项均属课后服务，同一事项" and "教育局" in first[2]
    # Times are the office's (Beijing) wall clock, not UTC as the API sends them, and not the browser's zone.
    listed = httpx.get(api + "/aids/dismissals", headers={"X-API-Key": sup}).json()["data"]
    assert first[6] == clock.local_stamp(listed[0]["dismissed_at"]) != listed[0]["dismissed_at"][:16]
    assert page.evaluate("localStamp('2026-12-01T20:30:00+00:00')") == "2026-12-02 04:30"
    assert page.evaluate("localToday()") == clock.today().isoformat()
    page.select_option("#dm-aid", "category")
    page.click("#dm-refresh")
    page.wait_for_function("document.querySelectorAll('#dismissals-table tbody tr').length === 1")
    assert "（未填理由）" in rows.nth(0).text_content()

    page.select_option("#dm-aid", "")
    page.fill("#dm-unit input", "住建")
    page.click("#dm-unit .picker-list li >> nth=0")
    page.click("#dm-refresh")
    page.wait_for_function("document.querySelectorAll('#dismissals-table tbody tr').length === 2")
    assert all("住房和城乡建设局" in t for t in rows.locator("td:nth-child(3)").all_text_contents())
    assert "第三点已与代表电话沟通" in page.text_content("#dismissals-table")
    page.screenshot(path=str(shots / "aid-dismissals.png"), full_page=True)
