"""What every browser test shares (Debian's chromium driven by Playwright, never a downloaded browser): the fixtures
``browser`` (skips, saying why, without chromium or Playwright), ``new_page`` (a page whose JavaScript errors fail the
test at teardown) and ``shots`` (the screenshot folder), and ``sign_in``. tests/api/conftest.py makes the fixtures
available to every API test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless, with nothing reaching out to the network.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture()
def browser():
    """Debian's chromium, headless; the test skips when it or Playwright is missing."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get where it can)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def new_page(browser):
    """Opens pages (1280×900 unless ``viewport`` says otherwise; other keywords go to ``browser.new_page``); an
    uncaught JavaScript error on any of them fails the test when it ends."""
    errors: list[str] = []

    def open_page(**options):
        page = browser.new_page(**{"viewport": {"width": 1280, "height": 900}, **options})
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    yield open_page
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture()
def shots(tmp_path) -> Path:
    """Where screenshots go: ``$JIAOBAN_SCREENSHOTS`` (docs/screenshots/ are made with it set to docs/screenshots),
    else the test's temporary folder."""
    folder = Path(os.environ.get("JIAOBAN_SCREENSHOTS") or tmp_path / "screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page, base: str, key: str) -> None:
    """Signs in on the staff page at ``base`` with ``key``, forgetting any earlier key of this tab."""
    page.goto(base + "/")
    page.evaluate("sessionStorage.clear()")
    page.goto(base + "/")
    page.fill("#key-input", key)
    page.press("#key-input", "Enter")
    page.wait_for_function("document.querySelector('#role-label').textContent.length > 0")
