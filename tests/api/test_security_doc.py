"""docs/security.md's endpoint/role table is the app's own, and the app keeps to it."""

import re

import pytest

from api.main import create_app
from api.security_table import BEGIN, DOC, END, endpoints, render
from tests.api.conftest import H

PATH_VALUES = {"case_id": "1", "version": "nope", "key_id": "999", "session_id": "1", "row_id": "1", "job_id": "1",
               "request_id": "1", "reminder_id": "1"}


@pytest.fixture()
def listed(settings):
    return [e for e in endpoints(create_app(settings)) if e.path.startswith("/api/v1/")]


def url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def test_docs_security_md_is_up_to_date(settings):
    doc = DOC.read_text(encoding="utf-8")
    assert render(doc, create_app(settings)) == doc, "run `python -m api.security_table`"


def test_every_route_but_the_health_probes_needs_a_key(listed):
    assert {e.path for e in listed if e.public} == {"/api/v1/health/live", "/api/v1/health/ready"}
    assert len(listed) >= 25 and all(e.roles[0] == "admin" for e in listed if not e.public)


def test_the_app_answers_as_the_table_says(client, listed):
    for e in listed:
        if e.public:
            continue
        r = client.request(e.method, url(e.path))
        assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key", (e, r.text)
        for role in ("assigner", "drafter"):
            r = client.request(e.method, url(e.path), headers=H[role])
            if role in e.roles:
                assert r.status_code not in (401, 403), (e, role, r.text)
            else:
                assert r.status_code == 403 and r.json()["error"]["details"]["allowed_roles"] == list(e.roles)


def test_a_table_is_only_written_between_its_markers(settings):
    app = create_app(settings)
    doc = f"intro\n{BEGIN}\nold table\n{END}\nafter\n"
    out = render(doc, app)
    assert out.startswith(f"intro\n{BEGIN}\n| method | path | roles |") and out.endswith(f"{END}\nafter\n")
    assert "| `POST` | `/api/v1/cases/import` | admin |" in out and "old table" not in out
    with pytest.raises(ValueError, match="markers"):
        render("no markers here", app)
