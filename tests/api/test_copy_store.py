"""python -m api.copy_store: a SQLite store copied into an empty PostgreSQL one keeps every row and id, and new rows
continue after them; a target with rows is refused and left as it was."""

from __future__ import annotations

import numpy as np
import pytest

from api.copy_store import copy_store, main
from api.sessions_db import SessionStore
from api.store import Store, StoreError


def _filled(path) -> tuple[Store, int, int]:
    store = Store(path)
    store.open()
    sdb = SessionStore(store)
    case_id = store.create_case({"case_no": "JY-1", "title": "加装电梯", "body": "老旧小区", "year": 2026})
    store.create_case({"case_no": "JY-2", "title": "校车", "year": 2026})
    store.add_decision(case_id, {"lead_id": "zjj", "co_ids": ["jyj"], "accepted": True, "decided_by": "t",
                                 "assigned_on": "2026-02-01", "due_on": "2026-05-01"})
    store.add_outcome(case_id, {"reply": "已办", "category": "A", "feedback": "满意", "closed_on": "2026-04-01",
                                "recorded_by": "t"})
    with store.transaction() as conn:
        session_id = sdb.create_session(name="会次", held_on=None, kind="", created_by="t", conn=conn)
        row_id = sdb.add_row(session_id, sheet_row=2, match_key="no:JY-1", content_hash="h", case_id=case_id,
                             conn=conn)
    sdb.save_results([(row_id, {"lead": []}, np.arange(4, dtype=np.float32))])
    store.save_registry({"departments": []}, reason="seed", created_by="t")
    store.close()
    return store, case_id, session_id


def test_every_row_and_id_is_copied_and_new_rows_follow(tmp_path, pg_cluster):
    _, case_id, session_id = _filled(tmp_path / "j.db")
    url = pg_cluster.database()
    copied = copy_store(tmp_path / "j.db", url)
    assert copied["cases"] == 2 and copied["decisions"] == 1 and copied["session_rows"] == 1
    target = Store(url)
    target.open()
    case = target.get_case(case_id)
    assert (case["case_no"], case["lead_id"], case["co_ids"], case["status"]) == ("JY-1", "zjj", ["jyj"], "closed")
    assert [d["accepted"] for d in target.decisions(case_id).values()] == [True]
    assert target.outcomes(case_id)[0]["reply"] == "已办"
    _, _, vectors = SessionStore(target).vectors(session_id)
    assert np.array_equal(vectors, np.arange(4, dtype=np.float32)[None, :])
    assert target.latest_registry() == {"departments": []}
    assert target.create_case({"title": "新件"}) == 3  # after the copied ids
    target.close()


def test_a_target_with_rows_is_refused_and_kept(tmp_path, pg_cluster, capsys):
    _filled(tmp_path / "j.db")
    url = pg_cluster.database()
    target = Store(url)
    target.open()
    target.create_case({"title": "已有"})
    with pytest.raises(StoreError, match="cases"):
        copy_store(tmp_path / "j.db", url)
    assert target.list_cases()[1] == 1
    target.close()
    assert main([str(tmp_path / "j.db"), url]) == 1 and "新建的空数据库" in capsys.readouterr().err
    assert main([str(tmp_path / "nope.db"), url]) == 1
