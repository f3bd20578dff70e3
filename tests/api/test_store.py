"""The store on both back ends (``store_target``: a SQLite file and a PostgreSQL database): migrations,
transactions, and writers at once."""

import logging
import threading

import pytest
from pydantic import ValidationError

from api.config import Settings, settings_error_message
from api.main import _DropQueryString
from api.store import MIGRATIONS, Store, StoreError
from models.db import IntegrityError
from tests import servers


def test_migrations_apply_once_in_order_and_are_recorded(store_target):
    store = Store(store_target)
    assert store.open() == [name for name, _ in MIGRATIONS]
    assert store.open() == []
    assert store.applied_migrations() == sorted(name for name, _ in MIGRATIONS)
    with store.reader() as conn:
        if store.dialect == "sqlite":
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        else:
            assert conn.execute("SELECT current_setting('server_version_num')").fetchone()[0] >= "130000"
    store.close()


def test_replicas_starting_together_migrate_once(store_target):
    stores = [Store(store_target) for _ in range(4)]
    if stores[0].dialect == "sqlite":
        stores[0].target.parent.mkdir(parents=True, exist_ok=True)
    applied: list[list[str]] = []
    threads = [threading.Thread(target=lambda s=s: applied.append(s.open())) for s in stores]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(name for names in applied for name in names) == sorted(name for name, _ in MIGRATIONS)
    for s in stores:
        s.close()


def test_unknown_migration_is_refused(store):
    with store.transaction() as conn:
        conn.execute("INSERT INTO migrations VALUES ('9999_future', 'x')")
    with pytest.raises(StoreError, match="9999_future"):
        store.open()


def test_a_failed_write_leaves_nothing_behind(store):
    case_id = store.create_case({"title": "甲", "case_no": "N-1"})
    with pytest.raises(IntegrityError):
        with store.transaction() as conn:
            store.add_decision(case_id, {"lead_id": "zjj", "co_ids": [], "decided_by": "t"}, conn=conn)
            store.create_case({"title": "乙", "case_no": "N-1"}, conn=conn)
    assert store.decisions(case_id) == {} and store.get_case(case_id)["status"] == "open"


def test_concurrent_writers_from_threads(store):
    errors = []

    def work(t):
        try:
            for i in range(25):
                cid = store.create_case({"title": f"{t}-{i}"})
                store.add_decision(cid, {"lead_id": "zjj", "co_ids": [], "decided_by": str(t)})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    rows, count = store.list_cases(status="assigned", limit=1)
    assert count == 200


def test_a_database_url_that_is_not_postgresql_is_refused_naming_the_variable():
    with pytest.raises(ValidationError) as exc:
        Settings(_env_file=None, database_url="mysql://jiaoban@127.0.0.1/jiaoban")
    assert "JIAOBAN_DATABASE_URL" in settings_error_message(exc.value)


def test_an_unreachable_postgresql_server_is_named_at_once_without_its_password():
    store = Store(f"postgresql://jiaoban:secret-pw@127.0.0.1:{servers.free_port()}/jiaoban")
    with pytest.raises(StoreError, match="JIAOBAN_DATABASE_URL") as exc:
        store.open()
    assert "secret-pw" not in str(exc.value) and "***" in str(exc.value)


def test_access_log_drops_query_strings():
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/api/v1/cases?q=加装电梯", "1.1", 200), None)
    _DropQueryString().filter(record)
    assert "加装电梯" not in record.getMessage() and "/api/v1/cases?…" in record.getMessage()


def test_title_search_ignores_latin_case_on_both_back_ends(store):
    found = store.create_case({"title": "关于加快5G基站和APP适老化改造的建议"})
    store.create_case({"title": "关于加装电梯的建议"})
    for q in ("5g", "5G", "app", "App", "适老化"):
        rows, count = store.list_cases(q=q)
        assert [r["id"] for r in rows] == [found] and count == 1, q
    assert store.list_cases(q="5g_")[1] == 0  # still a literal, not a pattern


def test_closed_cases_are_counted_without_reading_them(store):
    assert store.count_closed() == 0
    for i in range(3):
        case_id = store.create_case({"title": f"关于第{i}件事的建议"})
        if i:
            store.add_decision(case_id, {"lead_id": "zjj", "co_ids": [], "decided_by": "t"})
            with store.transaction() as c:
                c.execute("UPDATE cases SET status = 'closed' WHERE id = ?", (case_id,))
    assert store.count_closed() == len(store.closed_cases()) == 2
