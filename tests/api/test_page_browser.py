"""The staff page in a real headless browser (Debian's chromium via Playwright): the single-item view (reasons,
precedents, a decision that registers one case however often it is clicked). The session workspace has its own test
(test_session_browser.py)."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import httpx
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


def launch(p):
    """Debian's chromium, headless, with nothing reaching out to the network."""
    return p.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"])


def test_the_single_view_registers_one_case_however_often_staff_click(served, tmp_path):
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get where it can)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    title, body = ELEVATOR.split(",")
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(served + "/")
            page.fill("#key-input", KEYS["assigner"])
            page.press("#key-input", "Enter")
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
        finally:
            browser.close()
    assert "（改派）" in first
    cases = httpx.get(served + "/api/v1/cases", headers={"X-API-Key": KEYS["admin"]}).json()
    assert cases["count"] == 1
    detail = httpx.get(f"{served}/api/v1/cases/{cases['data'][0]['id']}", headers={"X-API-Key": KEYS["admin"]}).json()
    assert [d["lead"]["id"] for d in detail["decisions"]][-1] == "jyj" and len(detail["decisions"]) == 2
