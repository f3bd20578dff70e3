"""The admin re-indexes from the page in a real headless browser: the job's progress (texts encoded), its lines, and
the new version in service afterwards. Screenshot to ``$JIAOBAN_SCREENSHOTS``."""

from __future__ import annotations

import httpx
import pytest

from tests.api.browser import sign_in
from tests.api.conftest import KEYS
from tests.api.fakedata import closed_rows, write_csv

pytestmark = pytest.mark.slow


def test_the_admin_reindexes_from_the_page(served, new_page, shots, tmp_path):
    api, admin = served + "/api/v1", {"X-API-Key": KEYS["admin"]}
    rows = closed_rows()
    rows.append({**rows[0], "编号": "2024-9999", "标题": "关于治理青苔河蓝藻水华的建议", "内容": "青苔河蓝藻水华。"})
    with open(write_csv(rows, tmp_path / "closed.csv"), "rb") as fh:
        assert httpx.post(api + "/cases/import", files={"file": ("closed.csv", fh)}, headers=admin).status_code == 200
    before = httpx.get(api + "/models/active", headers=admin).json()["version"]
    page = new_page()
    sign_in(page, served, KEYS["admin"])
    page.click("button[data-tab=admin]")
    page.click("#reindex-start")
    page.wait_for_selector("#reindex-box:not([hidden]), #message:not([hidden])")
    assert page.is_hidden("#message"), page.text_content("#message")
    page.wait_for_function("/已完成|失败|已取消/.test(document.querySelector('#reindex-text').textContent)",
                           timeout=120_000)
    text = page.text_content("#reindex-text")
    assert "重建索引任务" in text and "已完成" in text and "已编码 1 / 1 件" in text, text
    assert "已上线" in page.text_content("#reindex-log")
    assert page.is_hidden("#reindex-cancel") and page.is_enabled("#reindex-start")
    active = httpx.get(api + "/models/active", headers=admin).json()["version"]
    assert active != before
    page.wait_for_selector(f"#models-table tbody tr:has-text('{active}')")
    page.screenshot(path=str(shots / "admin-reindex.png"), full_page=True)
