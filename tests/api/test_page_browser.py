"""The staff page in a real headless browser (Debian's chromium via Playwright): a sheet upload shows each row's
reason, review note, 并案 partners by sheet row number, and a precedent."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest

from api.main import create_app
from tests.api.conftest import KEYS, make_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ELEVATOR = "关于加快老旧小区加装电梯的建议,老旧小区加装电梯进展缓慢，物业服务跟不上。"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def served(tmp_path, models_dir):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(make_settings(tmp_path, models_dir)), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "the service did not start on loopback"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_a_sheet_upload_shows_reasons_duplicates_and_precedents(served, tmp_path):
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get where it can)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    sheet = tmp_path / "会期建议.csv"
    sheet.write_text(f"编号,标题,内容\nA1,{ELEVATOR}\nA2,关于增加学位供给的建议,学位供给紧张，课后服务不足。\nA3,{ELEVATOR}\n",
                     encoding="utf-8")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(served + "/")
            page.click("#key-change")
            page.fill("#key-input", KEYS["assigner"])
            page.press("#key-input", "Enter")
            page.click("button[data-tab=batch]")
            page.set_input_files("#file", str(sheet))
            page.click("#upload-form button[type=submit]")
            page.wait_for_selector("#batch-table tbody tr", timeout=30_000)
            rows = page.locator("#batch-table tbody tr")
            assert rows.count() == 3
            notes = [rows.nth(i).locator("td.notes").inner_text() for i in range(3)]
            page.screenshot(path=str(tmp_path / "batch.png"), full_page=True)
        finally:
            browser.close()
    assert all("历年主办的案件" in n and "相似历史案件" in n for n in notes)
    assert "与第 4 行疑似同一事项" in notes[0] and "与第 2 行疑似同一事项" in notes[2]
    assert "疑似同一事项" not in notes[1]
