"""What must hold when several replicas and workers share one store, on both back ends (``store_target``):
no lost decision, a job claimed once, an idempotency key reserved once, and the queries whose SQL differs most
between the two (unit filters over JSON lists, vectors, the ledger's figures) answering the same."""

from __future__ import annotations

import threading
from datetime import date

import numpy as np
import pytest

from api.sessions_db import SessionStore
from models import supervision


def _together(n: int, work) -> list:
    """Run ``work(i)`` in ``n`` threads started at once; returns results, raising the first error."""
    results: list = [None] * n
    errors: list[BaseException] = []
    gate = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            gate.wait()
            results[i] = work(i)
        except BaseException as exc:  # pragma: no cover - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    return results


def test_decisions_at_once_on_one_case_are_all_kept_and_the_case_shows_the_last(store):
    case_id = store.create_case({"title": "加装电梯"})
    leads = ["zjj", "jyj", "nync", "cgzf", "dhq", "zjj-2", "jyj-2", "nync-2"]
    _together(len(leads), lambda i: store.add_decision(case_id, {"lead_id": leads[i], "co_ids": [leads[i - 1]],
                                                                 "decided_by": f"staff{i}"}))
    decisions = list(store.decisions(case_id).values())
    assert sorted(d["lead_id"] for d in decisions) == sorted(leads)  # no decision lost
    case = store.get_case(case_id)
    assert (case["lead_id"], case["co_ids"]) == (decisions[-1]["lead_id"], decisions[-1]["co_ids"])
    assert case["status"] == "assigned"


def test_every_job_is_claimed_exactly_once_by_workers_at_once(store):
    sdb = SessionStore(store)
    jobs = {sdb.create_job(kind="route_session", session_id=None, total=1, created_by="t") for _ in range(30)}

    def claim_all(i: int) -> list[int]:
        mine = []
        while (job := sdb.claim_job(f"worker-{i}")) is not None:
            mine.append(job["id"])
        return mine

    claimed = [job_id for mine in _together(6, claim_all) for job_id in mine]
    assert sorted(claimed) == sorted(jobs)  # each once, none twice
    assert {sdb.get_job(j)["status"] for j in jobs} == {"running"}


def test_an_abandoned_job_is_queued_again_once(store):
    sdb = SessionStore(store)
    job_id = sdb.create_job(kind="route_session", session_id=None, total=1, created_by="t")
    assert sdb.claim_job("gone-worker")["id"] == job_id
    requeued = _together(4, lambda i: sdb.requeue_abandoned(dead=lambda w: w == "gone-worker",
                                                            stale_before="0000"))
    assert sum(requeued, []) == [job_id]
    assert sdb.get_job(job_id)["status"] == "queued"


def test_an_idempotency_key_is_reserved_by_one_request_of_many_at_once(store):
    sdb = SessionStore(store)
    answers = _together(8, lambda i: sdb.reserve("key-1", "assigner", "POST /cases"))
    assert answers.count(None) == 1 and answers.count((0, None)) == 7
    with pytest.raises(ValueError):
        sdb.reserve("key-1", "assigner", "POST /other")


def test_unit_filter_finds_lead_and_co_handled_cases_only(store):
    ids = {}
    for name, lead, co in (("a", "zjj", []), ("b", "jyj", ["zjj"]), ("c", "jyj", ["zjj_x"]), ("d", "nync", [])):
        ids[name] = store.create_case({"title": f"件{name}"})
        store.add_decision(ids[name], {"lead_id": lead, "co_ids": co, "decided_by": "t"})
    rows, count = store.list_cases(handled_by={"zjj"})
    assert {r["id"] for r in rows} == {ids["a"], ids["b"]} and count == 2  # "zjj_x" is another unit
    assert store.list_cases(handled_by=set())[1] == 0
    assert store.list_cases(lead_ids=[])[1] == 0
    assert store.list_cases(q="件_")[1] == 0 and store.list_cases(q="件c")[1] == 1


def test_session_vectors_groups_and_ledger_figures(store):
    sdb = SessionStore(store)
    with store.transaction() as conn:
        session_id = sdb.create_session(name="会次", held_on=None, kind="建议", created_by="t", conn=conn)
        rows = []
        for i in range(3):
            case_id = store.create_case({"title": f"件{i}", "year": 2026}, conn=conn)
            rows.append(sdb.add_row(session_id, sheet_row=i + 2, match_key=f"no:{i}", content_hash="h",
                                    case_id=case_id, conn=conn))
    vectors = np.eye(3, 4, dtype=np.float32)
    sdb.save_results([(r, {"lead": []}, vectors[n]) for n, r in enumerate(rows)])
    got_ids, _, got = sdb.vectors(session_id)
    assert got_ids == rows and np.array_equal(got, vectors)
    sdb.set_groups(session_id, [([rows[0], rows[1]], 0.97)])
    grouped = sdb.row_with_group(session_id, rows[0])
    assert [r["row_id"] for r in grouped] == rows[:2] and grouped[0]["group_similarity"] == pytest.approx(0.97)

    case_id = grouped[0]["id"]
    store.add_decision(case_id, {"lead_id": "zjj", "co_ids": [], "decided_by": "t", "accepted": True,
                                 "assigned_on": "2026-02-01", "due_on": "2026-05-01"})
    store.add_outcome(case_id, {"reply": "已办", "category": "A", "feedback": "不满意", "closed_on": "2026-04-01",
                                "recorded_by": "t"})
    store.add_outcome(case_id, {"reply": "重办", "category": "", "feedback": "", "closed_on": None,
                                "recorded_by": "t"})
    assert store.decisions(case_id)[1]["accepted"] is True
    items = supervision.read_items(store.db, supervision.Period(as_of=date(2026, 6, 30)), None)
    assert supervision.read_items(store.target, supervision.Period(as_of=date(2026, 6, 30)), None) == items
    assert [(i.id, i.unsatisfied, i.reopened, sorted(i.figures)) for i in items] == [
        (case_id, True, True, ["assigned", "open", "overdue", "reopened", "unsatisfied"])]
