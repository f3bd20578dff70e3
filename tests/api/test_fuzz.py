"""The API against its own OpenAPI schema (schemathesis): every operation gets schema-valid and schema-violating
requests and must answer as the schema says (a documented status, content type, headers and body; never a 5xx),
accept what the schema allows and refuse what it does not, and name the methods it takes on a 405.

Bounded: ``FUZZ_EXAMPLES`` examples per operation (15 here; ``make fuzz`` runs 100), a fixed seed, derandomized;
60–80 s on two cores, so ``slow`` (the static checks of the schema at the end are not).
Every operation gets a fresh app (its own store and copy of the models), so the operations that promote or roll
back a model, revoke keys or reorganise units change nothing for the next one; all of them are fuzzed.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.main import create_app
from tests.api.conftest import H, make_settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
CONFIG = schemathesis.Config.from_dict({
    "seed": 20261201,
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
})
SETTINGS = hypothesis.settings(deadline=timedelta(seconds=10),
                               # the app is meant to live through all the examples of one operation;
                               # filter_too_much: how many drafts schemathesis throws away before it has a valid body
                               # for a oneOf of patterned objects (POST /departments/reorganise) depends on the
                               # generator's state left by the operations before it in a full run; it measures the
                               # generator, not the API, and every example drawn is still sent and checked
                               suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture,
                                                      hypothesis.HealthCheck.filter_too_much])

# Rules a request can break although it matches the schema, because they depend on data the schema cannot hold
# (a 422 with one of these codes is the right answer to a schema-valid request, not a schema that says too little):
RUNTIME_RULES = {
    "unknown_department": "a unit name must be in the registry, which changes at run time (POST /departments)",
    "unknown_version": "a model version must be in the models directory, which training and re-indexing add to",
    "repeated_department": "two co-handler names may denote one unit through its aliases or a merger",
    "unknown_category": "reply categories are a setting (JIAOBAN_REPLY_CATEGORIES), not part of the schema",
    "date_order": "due_on/closed_on not before assigned_on, also the one stored with the case",
    "bad_period": "a report's start not after its end (or the as_of date): an order between two parameters",
    "unit_not_allowed": "only a drafter key names a unit: a rule across two fields of the key",
    # An uploaded file's content (a spreadsheet with a header row and data rows) has no schema in OpenAPI.
    "unsupported_file": "", "empty_file": "", "missing_columns": "", "unreadable_file": "",
}


def positive_data_accepted(ctx, response, case):
    """schemathesis' ``positive_data_acceptance``, but a 422 naming one of ``RUNTIME_RULES`` is a fine answer."""
    # schemathesis 4.32's coverage phase labels a whole case positive when it varies one parameter within bounds,
    # even though it drew another part (the body: ``0``) from the negative strategy; such a case is not valid data.
    if case.meta is not None and any(c.mode.is_negative for c in case.meta.components.values()):
        return None
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 422 and (response.json().get("error") or {}).get("code") in RUNTIME_RULES:
            return None
        raise


class AppUnderTest:
    """The ASGI app the schema is tested against: the current test's own app. Its lifespan is run by the test's
    TestClient, so schemathesis' lifespan messages are answered here."""

    app = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.app(scope, receive, send)


CURRENT = AppUnderTest()
# The schema is the app's own, read without starting it (no store or model is needed for that).
with tempfile.TemporaryDirectory() as _tmp:
    schema = schemathesis.openapi.from_dict(create_app(make_settings(Path(_tmp), None)).openapi(), config=CONFIG)
schema.app = CURRENT


@pytest.fixture()
def current_app(app):
    with TestClient(app):
        CURRENT.app = app
        yield app
        CURRENT.app = None


def check(case, key: dict) -> None:
    case.call_and_validate(headers=key, excluded_checks=[positive_data_acceptance],
                           additional_checks=[positive_data_accepted])


@pytest.mark.slow
@schema.parametrize()
@SETTINGS
def test_every_operation_as_admin(case, current_app):
    check(case, H["admin"])


@pytest.mark.slow
@schema.include(method="GET").parametrize()
@SETTINGS
def test_reads_as_drafter(case, current_app):
    check(case, H["drafter"])


def test_every_error_answer_is_documented_with_the_error_body():
    spec = schema.raw_schema
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's {"detail": ...}: never sent
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            errors = {int(code): answer for code, answer in op["responses"].items() if int(code) >= 400}
            assert all(a["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
                       for a in errors.values()), (method, path)
            if not path.startswith("/api/v1/health/"):
                assert {401, 403} <= set(errors), (method, path)
            if op.get("parameters") or "requestBody" in op:
                assert 422 in errors, (method, path)
            if "{" in path:
                assert 404 in errors, (method, path)


def test_the_schema_states_the_rules():
    components = schema.raw_schema["components"]["schemas"]
    route = components["RouteRequest"]
    assert [alt["required"] for alt in route["anyOf"]] == [["title"], ["body"]]
    decision = components["DecisionCreate"]["properties"]
    assert decision["lead"]["pattern"] and decision["assigned_on"]["anyOf"][0]["format"] == "date"
    assert components["CaseCreate"]["properties"]["route"]["type"] == "boolean"
    assert len(components["ReorganiseRequest"]["oneOf"]) == 2
    case_id = schema.raw_schema["paths"]["/api/v1/cases/{case_id}"]["get"]["parameters"][0]["schema"]
    assert (case_id["minimum"], case_id["maximum"]) == (1, 2**63 - 1)
