"""The reply aids in a real headless browser: the drafter checks a draft reply (points answered and not, a category
that contradicts the reply, personal data masked beside the original), dismisses a hint, confirms the publication
version; the supervisor reviews the closed case from the ledger. Screenshots go to ``$JIAOBAN_SCREENSHOTS``
(default: the test's temporary folder; docs/screenshots/reply-aids-*.png were made with it set to docs/screenshots)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.browser import sign_in
from tests.api.conftest import KEYS

pytestmark = pytest.mark.slow

BODY = ("我市2000年以前建成的多层住宅大多未配建电梯，老年人上下楼难。为此，建议：\n一是提高财政补贴标准，每台补贴提高至20万元。\n"
        "二是推行联合审批，压缩审批时限。\n三是培育专业化服务主体，提供设计、施工、维保一条龙服务。")
REPLY = ("张明代表：\n您提出的建议收悉，现答复如下：\n一、已将每台电梯的市级补贴提高到15万元。\n"
         "二、已设立加装电梯一站式服务窗口，推行联合审批，审批时限压缩至10个工作日。\n"
         "对其余事项，受财政资金限制，暂不具备条件，留作参考。\n经办人：李秀英，联系电话13812345678。")


def test_the_reply_aids_in_the_browser(served, new_page, shots):
    h = {role: {"X-API-Key": KEYS[role]} for role in KEYS}
    api = served + "/api/v1"
    case = httpx.post(api + "/cases", json={"case_no": "JY2026-0888", "title": "关于加快老旧小区加装电梯的建议",
                                            "body": BODY, "route": False}, headers=h["assigner"]).json()
    r = httpx.post(f"{api}/cases/{case['id']}/decision", json={"lead": "市住建局", "assigned_on": "2026-01-20"},
                   headers=h["assigner"])
    assert r.status_code == 201, r.text
    sup = httpx.post(api + "/keys", json={"name": "督查室", "role": "supervisor"}, headers=h["admin"]).json()["key"]
    page = new_page(viewport={"width": 1280, "height": 1000})
    page.on("dialog", lambda d: d.accept("第三点已与代表电话沟通"))

    sign_in(page, served, KEYS["drafter"])
    page.wait_for_selector("#todo-table tbody tr.row")
    page.click("#todo-table tbody tr.row")
    page.wait_for_selector(".reply-form textarea")
    page.fill(".reply-form textarea", REPLY)
    page.select_option(".reply-form select >> nth=0", "A")
    page.click(".reply-form button[type=submit]")  # saved, not closed: the publication needs a reply
    page.wait_for_selector(".reply-form .ok:not([hidden])")
    page.click(".reply-form .check-reply")
    page.wait_for_selector(".reply-aids .publication-aid")
    assert page.locator(".coverage-aid .point.answered").count() == 2
    unanswered = page.locator(".coverage-aid .point.unanswered")
    assert unanswered.count() == 1 and "专业化服务主体" in unanswered.text_content()
    assert "C 类" in page.text_content(".category-aid .category-reason")
    masked = page.input_value(".publication-aid textarea")
    assert "13812345678" not in masked and "李某某" in masked
    assert page.locator(".publication-aid mark.pii").count() == 2
    page.screenshot(path=str(shots / "reply-aids-drafter.png"), full_page=True)
    page.click(".coverage-aid button.dismiss")
    page.wait_for_selector(".coverage-aid >> text=已忽略（已记录）")
    page.click(".publication-aid .confirm-publication")
    page.wait_for_selector(".publication-aid .ok:not([hidden])")
    assert "已确认公开版本" in page.text_content(".publication-aid .ok")

    r = httpx.post(f"{api}/cases/{case['id']}/outcome", headers=h["drafter"],
                   json={"reply": REPLY, "category": "C", "closed_on": "2026-03-01", "feedback": "满意"})
    assert r.status_code == 201, r.text
    x = httpx.get(api + "/aids/publications.xlsx", headers=h["drafter"])
    assert x.status_code == 200 and b"13812345678" not in x.content

    # supervisor: the ledger's points answered, and the closed case reviewed from the drill-down
    sign_in(page, served, sup)
    page.click("button[data-tab=ledger]")
    page.fill("#l-asof", "2026-06-30")
    page.click("#l-refresh")
    page.wait_for_selector("#ledger-table tbody tr td.points-answered")
    assert "67%" in page.text_content("#ledger-table tbody tr td.points-answered")
    page.click("#ledger-table tbody tr >> nth=0 >> a.drill-link >> nth=1")  # 已办结
    page.wait_for_selector("#drill-table tbody tr")
    page.click("#drill-table tbody tr")
    page.wait_for_selector("#drill-table .coverage-aid")
    text = page.text_content("#drill-table tr.detail")
    assert "回应了 2 / 3" in text and "已忽略的提示" in text and "公开版本已确认" in text
    page.locator("#drill").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "reply-aids-supervisor.png"), full_page=True)
