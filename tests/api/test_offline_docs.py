"""The API documentation (/docs: Swagger UI, /redoc: ReDoc) works without internet: every file it loads comes from
the service itself, and in a real browser with every other host cut off the operations render and the Authorize
button's key reaches the API."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from api.main import DOCS_ASSETS
from tests.api.conftest import KEYS

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def referenced(html: str) -> list[str]:
    return re.findall(r"(?:src|href)=[\"']([^\"']+)[\"']", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_a_docs_page_loads_only_files_the_service_serves(client, page):
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert not re.search(r"(https?:)?//", r.text), "a URL to another host"
    urls = referenced(r.text)
    assert any(u.endswith(".js") for u in urls), urls
    for url in urls:
        assert url.startswith(DOCS_ASSETS + "/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(TYPES[url[url.rfind("."):]]), (url, asset.headers)
        assert len(asset.content) > 1000, url
    assert "'/openapi.json'" in r.text or '"/openapi.json"' in r.text


def test_swagger_ui_gets_its_script_and_stylesheet_from_the_service(client):
    urls = referenced(client.get("/docs").text)
    assert {DOCS_ASSETS + "/swagger-ui-bundle.js", DOCS_ASSETS + "/swagger-ui.css"} <= set(urls)
    assert "SwaggerUIBundle" in client.get(DOCS_ASSETS + "/swagger-ui-bundle.js").text


def test_the_schema_still_offers_the_api_key_to_the_authorize_button(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    schemes = r.json()["components"]["securitySchemes"].values()
    assert {"type": "apiKey", "in": "header", "name": "X-API-Key"}.items() <= next(
        s for s in schemes if s["type"] == "apiKey").items()


def offline_page(new_page, elsewhere: list[str]):
    """A page whose requests to any host but loopback are aborted and recorded in ``elsewhere``."""
    page = new_page(viewport={"width": 1400, "height": 900})

    def only_loopback(route):
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    return page


def test_swagger_ui_renders_offline_and_sends_the_key_it_is_given(served, new_page, tmp_path):
    elsewhere: list[str] = []
    page = offline_page(new_page, elsewhere)
    sent: list[dict] = []
    page.on("request", lambda r: sent.append(r.headers) if urlsplit(r.url).path == "/api/v1/departments" else None)
    page.goto(served + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 25

    page.click("button.authorize")
    key_form = page.locator(".auth-container", has_text="X-API-Key")
    key_form.locator("input").fill(KEYS["drafter"])
    key_form.locator("button.authorize").click()
    page.click("button.btn-done")

    operation = page.locator(".opblock-get", has=page.locator("[data-path='/api/v1/departments']"))
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    status.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
    assert status.inner_text().strip().startswith("200")
    assert sent and sent[-1].get("x-api-key") == KEYS["drafter"]
    assert elsewhere == []


def test_redoc_renders_offline(served, new_page):
    elsewhere: list[str] = []
    page = offline_page(new_page, elsewhere)
    page.goto(served + "/redoc")
    page.wait_for_selector("h1:has-text('交办助手 Jiaoban API')", timeout=30_000)
    page.wait_for_selector("[data-section-id$='list_departments_api_v1_departments_get']", state="attached")
    assert page.locator("[data-section-id^='operation/']").count() >= 25
    # ReDoc's only reach outside is the "API docs by Redocly" footer logo: without it the footer shows no picture.
    assert set(elsewhere) <= {REDOCLY_LOGO}
