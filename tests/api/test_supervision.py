"""The supervision ledger (督办台账): figures per unit equal a direct store query on a store filled through the API."""

from __future__ import annotations

import pytest

from tests.api.conftest import H
from tests.api.supervision_data import END, START, direct_counts, fill, supervisor_key

PERIOD = {"start": START, "end": END}
@pytest.fixture()
def filled(client):
    ids = fill(client)
    return client, ids, supervisor_key(client)


def test_the_ledger_counts_what_the_store_holds(filled, settings):
    client, _, sup = filled
    r = client.get("/api/v1/ledger/supervision", params={**PERIOD, "as_of": END}, headers=sup)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = direct_counts(settings.database)
    assert set(expected) == {"zjj", "jyj", "nync"}  # the cases outside the range are left out
    got = {u["department"]["id"]: u for u in body["data"]}
    assert set(got) == set(expected)
    for unit, want in expected.items():
        u = got[unit]
        for key in ("assigned", "closed", "on_time", "closed_late", "open", "overdue", "due_soon", "unsatisfied",
                    "reopened", "satisfied", "with_feedback"):
            assert u[key] == want[key], (unit, key)
        assert u["categories"]["A"] == want["a"]
    z = got["zjj"]
    # Hand-checked too, so that a wrong query in the test cannot agree with a wrong implementation.
    assert (z["assigned"], z["closed"], z["on_time"], z["open"], z["overdue"], z["due_soon"]) == (5, 1, 1, 4, 3, 1)
    assert (z["unsatisfied"], z["reopened"], z["reopened_open"], z["reopened_closed"]) == (1, 1, 1, 0)
    assert z["closure_rate"] == 0.2 and z["satisfaction_rate"] == 1.0
    j = got["jyj"]
    assert (j["closed"], j["on_time"], j["closed_late"], j["overdue"], j["unsatisfied"]) == (2, 1, 1, 1, 1)
    assert j["categories"] == {"A": 1, "B": 0, "C": 1} and j["satisfaction_rate"] == 0.5 and j["a_rate"] == 0.5
    assert body["total"]["assigned"] == 9 and body["count"] == 9 and body["total"]["overdue"] == 4
    assert [u["department"]["id"] for u in body["data"]] == ["zjj", "jyj", "nync"]  # most overdue first


def test_as_of_an_earlier_date_the_later_closures_are_open(filled):
    client, _, sup = filled
    r = client.get("/api/v1/ledger/supervision", params={**PERIOD, "as_of": "2026-03-15"}, headers=sup).json()
    z = next(u for u in r["data"] if u["department"]["id"] == "zjj")
    # JY-04 (assigned 04-05) is not assigned yet; JY-02 was not closed yet, so it was neither unsatisfied nor reopened
    assert (z["assigned"], z["closed"], z["overdue"], z["unsatisfied"], z["reopened"]) == (4, 1, 0, 0, 0)


def test_drill_down_to_the_items_of_a_unit_and_a_figure(filled):
    client, ids, sup = filled
    params = {**PERIOD, "as_of": END, "department": "市住建局"}
    r = client.get("/api/v1/ledger/supervision/items", params={**params, "figure": "overdue"}, headers=sup)
    assert r.status_code == 200, r.text
    items = r.json()["data"]
    assert [i["id"] for i in items] == [ids["JY-02"], ids["JY-03"], ids["JY-05"]]  # most overdue first, then by id
    assert items[2]["days_left"] == -29 and items[2]["status"] == "超期未办结" and items[2]["closed_on"] is None
    assert items[0]["days_left"] == -81 and items[0]["reopened"] and items[0]["unsatisfied"]
    r = client.get("/api/v1/ledger/supervision/items", params={**params, "figure": "reopened"}, headers=sup).json()
    assert [i["id"] for i in r["data"]] == [ids["JY-02"]]
    r = client.get("/api/v1/ledger/supervision/items", params={**PERIOD, "as_of": END, "figure": "closed",
                                                                "category": "A"}, headers=sup).json()
    assert sorted(i["id"] for i in r["data"]) == sorted([ids["JY-01"], ids["TA-02"], ids["TA-04"]])
    bad = client.get("/api/v1/ledger/supervision/items", params={"figure": "late"}, headers=sup)
    assert bad.status_code == 422


def test_overdue_and_due_soon_lists(filled):
    client, ids, sup = filled
    soon = client.get("/api/v1/ledger/due-soon", params={"as_of": END}, headers=sup).json()
    assert [i["id"] for i in soon["data"]] == [ids["JY-04"]] and soon["data"][0]["days_left"] == 5
    soon = client.get("/api/v1/ledger/due-soon", params={"as_of": "2026-06-10"}, headers=H["drafter"]).json()
    assert [i["id"] for i in soon["data"]] == [ids["TA-03"]]
    overdue = client.get("/api/v1/ledger/overdue", params={"as_of": END}, headers=sup).json()
    assert ids["JY-03"] in [c["id"] for c in overdue["data"]]


def test_a_unit_scoped_key_sees_its_own_unit_only(filled):
    client, ids, _ = filled
    r = client.post("/api/v1/keys", json={"name": "教育局起草", "role": "drafter", "unit": "教育局"}, headers=H["admin"])
    scoped = {"X-API-Key": r.json()["key"]}
    body = client.get("/api/v1/ledger/supervision", params={**PERIOD, "as_of": END}, headers=scoped).json()
    assert [u["department"]["id"] for u in body["data"]] == ["jyj"] and body["total"]["assigned"] == 3
    items = client.get("/api/v1/ledger/supervision/items", params={"as_of": END, "department": "住建局"},
                       headers=scoped).json()
    assert items["data"] == []


def test_a_reversed_range_is_refused(filled):
    client, _, sup = filled
    for path in ("/api/v1/ledger/supervision",):
        r = client.get(path, params={"start": END, "end": START, "as_of": END}, headers=sup)
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_period", path
        assert "开始日期" in r.json()["error"]["message"]
