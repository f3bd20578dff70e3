"""The case store: SQLite (WAL mode, the embedded default) or PostgreSQL (``JIAOBAN_DATABASE_URL``), one schema of
named migrations for both, every write in a transaction.

A connection is taken per operation (opened for SQLite, from a pool for PostgreSQL), so FastAPI's worker threads
never share one. SQLite writers take the database lock up front (``BEGIN IMMEDIATE``) and wait for each other up to
``BUSY_TIMEOUT_MS``; on PostgreSQL, where several replicas write at once, a write that reads before it decides locks
the rows it reads (``FOR UPDATE``: a case before a decision, a job before its claim). The SQL is written once, in
the portable style of ``api/migrations.py``; ``models.db`` adapts it. Department references are stored as registry
ids; names are attached at the edge.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, overload

from api.migrations import MIGRATIONS
from models.db import Connection, Database, DatabaseUnavailable
from models.db import Error as DatabaseError

logger = logging.getLogger(__name__)

CASE_STATUSES = ("open", "assigned", "closed")
MIGRATION_LOCK = 7_160_816  # the advisory lock replicas starting together migrate under (PostgreSQL)

_CASE_COLUMNS = ("case_no", "kind", "year", "title", "body", "proposer", "status", "lead_id", "co_ids",
                 "assigned_on", "due_on", "closed_on", "category", "feedback", "suggestion", "source")
_JSON_COLUMNS = ("co_ids", "suggestion")
_UNREACHABLE: tuple[type[Exception], ...] = (DatabaseUnavailable, *DatabaseError)


class StoreError(RuntimeError):
    """The store cannot be opened or is in a state this program does not understand."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@overload
def _row(row: None) -> None: ...
@overload
def _row(row: Any) -> dict: ...
def _row(row: Any | None) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for col in _JSON_COLUMNS:
        if col in out and out[col] is not None:
            out[col] = json.loads(out[col])
    return out


def _encode(data: dict) -> dict:
    out = dict(data)
    for col in _JSON_COLUMNS:
        if col in out and out[col] is not None and not isinstance(out[col], str):
            out[col] = json.dumps(out[col], ensure_ascii=False)
    return out


def like_escape(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern with ``ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Store:
    """All reads and writes of cases, decisions, outcomes, the department registry and API keys."""

    def __init__(self, target: str | Path):
        """``target``: a SQLite file, or a ``postgresql://`` URL."""
        self.db = Database(target)
        self.target = self.db.target
        self.dialect = self.db.dialect

    @property
    def path(self) -> Path:
        """The SQLite file (the backup commands and tests that open the file themselves need it)."""
        if not isinstance(self.target, Path):
            raise StoreError("案件库在 PostgreSQL 中，没有 SQLite 文件：请用 pg_dump 等 PostgreSQL 工具")
        return self.target

    # -- connections -----------------------------------------------------------------------------------------
    def connect(self) -> Connection:
        return self.db.connect()

    def transaction(self, conn: Connection | None = None) -> AbstractContextManager[Connection]:
        """A write transaction; joins ``conn``'s transaction when one is given."""
        return self.db.transaction(conn)

    def reader(self) -> AbstractContextManager[Connection]:
        return self.db.reader()

    def close(self) -> None:
        self.db.close()

    def open(self) -> list[str]:
        """Create the file if needed (SQLite: in WAL mode) and apply pending migrations. Returns the ones applied."""
        try:
            self.db.check()
            if isinstance(self.target, Path):
                self.target.parent.mkdir(parents=True, exist_ok=True)
                with self.reader() as conn:
                    conn.execute("PRAGMA journal_mode = WAL")
            return self.migrate()
        except DatabaseUnavailable as exc:
            raise StoreError(str(exc)) from exc
        except DatabaseError as exc:
            where = "JIAOBAN_DATABASE_URL 指向的数据库能否连接、用户能否建表" if self.dialect == "postgresql" else \
                "JIAOBAN_DATABASE 指向的路径是否可写"
            raise StoreError(f"无法打开案件数据库 {self.db.describe()}（{exc}）：请检查{where}") from exc

    def migrate(self) -> list[str]:
        applied = []
        with self.transaction() as conn:
            self.db.lock(conn, MIGRATION_LOCK)
            conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        known = {name for name, _ in MIGRATIONS}
        for name, statements in MIGRATIONS:
            with self.transaction() as conn:
                self.db.lock(conn, MIGRATION_LOCK)  # replicas starting together: one applies, the others see it
                if conn.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                    continue
                for sql in statements:
                    conn.execute(sql)
                conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, now()))
                applied.append(name)
                logger.info("applied migration %s", name)
        with self.reader() as conn:
            unknown = {r[0] for r in conn.execute("SELECT name FROM migrations")} - known
        if unknown:
            raise StoreError(f"案件数据库 {self.db.describe()} 含有本程序不认识的迁移 {sorted(unknown)}："
                             "它由更新版本的服务升级过，请运行更新版本的服务")
        return applied

    def applied_migrations(self) -> list[str]:
        with self.reader() as conn:
            return [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]

    def ping(self) -> bool:
        try:
            with self.reader() as conn:
                conn.execute("SELECT count(*) FROM cases").fetchone()
            return True
        except _UNREACHABLE:
            return False

    # -- cases -----------------------------------------------------------------------------------------------
    def create_case(self, data: dict, *, conn: Connection | None = None) -> int:
        """Insert a case; raises one of ``models.db.IntegrityError`` when ``case_no`` is taken."""
        values = _encode({k: data.get(k) for k in _CASE_COLUMNS if k in data})
        values["case_no"] = values.get("case_no") or None
        stamp = now()
        cols = [*values, "created_at", "updated_at"]
        with self.transaction(conn) as c:
            return c.insert(f"INSERT INTO cases ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                            [*values.values(), stamp, stamp])

    def update_case(self, case_id: int, data: dict, *, conn: Connection | None = None) -> None:
        values = _encode({k: v for k, v in data.items() if k in _CASE_COLUMNS})
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.transaction(conn) as c:
            c.execute(f"UPDATE cases SET {sets}, updated_at = ? WHERE id = ?", [*values.values(), now(), case_id])

    def get_case(self, case_id: int, *, conn: Connection | None = None) -> dict | None:
        if conn is not None:
            return _row(conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone())
        with self.reader() as c:
            return _row(c.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone())

    def lock_case(self, case_id: int, conn: Connection) -> dict | None:
        """The case, its row locked until ``conn``'s transaction ends (PostgreSQL; SQLite's writer holds the file)."""
        return _row(conn.execute("SELECT * FROM cases WHERE id = ? FOR UPDATE", (case_id,)).fetchone())

    def case_id_by_no(self, case_no: str, *, conn: Connection | None = None) -> int | None:
        with (self.reader() if conn is None else _same(conn)) as c:
            row = c.execute("SELECT id FROM cases WHERE case_no = ?", (case_no,)).fetchone()
            return int(row[0]) if row else None

    def list_cases(
        self,
        *,
        year: int | None = None,
        status: str | None = None,
        lead_ids: list[str] | None = None,
        kind: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
        handled_by: set[str] | None = None,
    ) -> tuple[list[dict], int]:
        """Cases matching every given filter, newest first, and how many match in all. ``handled_by``: only cases
        one of these units leads or co-handles."""
        where: list[str] = []
        args: list[object] = []
        if handled_by is not None:  # co_ids is a JSON list of quoted ids: a LIKE on '"id"' finds one
            units = sorted(handled_by)
            marks = ", ".join("?" * len(units)) or "NULL"
            where.append("(" + " OR ".join([f"lead_id IN ({marks})", *["co_ids LIKE ? ESCAPE '\\'"] * len(units)])
                         + ")")
            args.extend([*units, *(f'%"{like_escape(u)}"%' for u in units)])
        if year is not None:
            where.append("year = ?")
            args.append(year)
        if status:
            where.append("status = ?")
            args.append(status)
        if lead_ids is not None:
            where.append(f"lead_id IN ({', '.join('?' * len(lead_ids))})" if lead_ids else "1 = 0")
            args.extend(lead_ids)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if q:
            # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not ("5g" finds "5G")
            where.append("lower(title) LIKE lower(?) ESCAPE '\\'")
            args.append(f"%{like_escape(q)}%")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self.reader() as c:
            count = c.execute(f"SELECT count(*) FROM cases {clause}", args).fetchone()[0]
            rows = c.execute(f"SELECT * FROM cases {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                             [*args, limit, offset]).fetchall()
        return [_row(r) for r in rows], int(count)

    def cases_where(self, clause: str, args: tuple = ()) -> list[dict]:
        """Cases selected by a fixed SQL condition (used by the ledger, which builds its own conditions)."""
        with self.reader() as c:
            return [_row(r) for r in c.execute(f"SELECT * FROM cases WHERE {clause} ORDER BY id", args)]

    # -- decisions and outcomes ------------------------------------------------------------------------------
    def add_decision(self, case_id: int, decision: dict, *, conn: Connection | None = None) -> dict:
        """Record a decision (history is kept; the latest one is copied onto the case)."""
        d = _encode({"co_ids": [], "note": "", **decision, "decided_at": decision.get("decided_at") or now()})
        cols = ("lead_id", "co_ids", "accepted", "suggestion", "assigned_on", "due_on", "note", "decided_by",
                "key_id", "decided_at")
        with self.transaction(conn) as c:
            case = self.lock_case(case_id, c)  # concurrent decisions on one case take turns: none is lost
            latest = c.execute("SELECT * FROM decisions WHERE case_id = ? ORDER BY id DESC LIMIT 1",
                               (case_id,)).fetchone()
            same = ("lead_id", "co_ids", "assigned_on", "due_on")
            if latest is not None and all(latest[k] == d.get(k) for k in same):  # a retried or double click
                return self.decisions(case_id, conn=c)[latest["id"]] | {"unchanged": True}
            decision_id = c.insert(f"INSERT INTO decisions (case_id, {', '.join(cols)}) "
                                   f"VALUES (?{', ?' * len(cols)})", [case_id, *(d.get(k) for k in cols)])
            status = "closed" if case and case["status"] == "closed" else "assigned"
            self.update_case(case_id, {"lead_id": d["lead_id"], "co_ids": d["co_ids"], "status": status,
                                       "assigned_on": d.get("assigned_on"), "due_on": d.get("due_on")}, conn=c)
            return self.decisions(case_id, conn=c)[decision_id]

    def add_outcome(self, case_id: int, outcome: dict, *, conn: Connection | None = None) -> dict:
        o = {**outcome, "recorded_at": outcome.get("recorded_at") or now()}
        cols = ("reply", "category", "feedback", "closed_on", "recorded_by", "recorded_at")
        with self.transaction(conn) as c:
            self.lock_case(case_id, c)
            outcome_id = c.insert(f"INSERT INTO outcomes (case_id, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})",
                                  [case_id, *(o.get(k) for k in cols)])
            changes = {"category": o.get("category") or "", "feedback": o.get("feedback") or "",
                       "closed_on": o.get("closed_on"), "status": "closed" if o.get("closed_on") else "assigned"}
            self.update_case(case_id, changes, conn=c)
            row = c.execute("SELECT * FROM outcomes WHERE id = ?", (outcome_id,)).fetchone()
            return dict(row)

    def decisions(self, case_id: int, *, conn: Connection | None = None) -> dict[int, dict]:
        with (self.reader() if conn is None else _same(conn)) as c:
            rows = c.execute("SELECT * FROM decisions WHERE case_id = ? ORDER BY id", (case_id,)).fetchall()
        return {r["id"]: _row(r) | {"accepted": None if r["accepted"] is None else bool(r["accepted"])}
                for r in rows}

    def outcomes(self, case_id: int) -> list[dict]:
        with self.reader() as c:
            return [dict(r) for r in c.execute("SELECT * FROM outcomes WHERE case_id = ? ORDER BY id", (case_id,))]

    def count_closed(self) -> int:
        """How many cases are closed (what a training or re-index job would export), without reading them."""
        with self.reader() as c:
            return int(c.execute("SELECT count(*) FROM cases WHERE status = 'closed'").fetchone()[0])

    def closed_cases(self, year: int | None = None) -> list[dict]:
        """Closed cases with their latest reply text, oldest first (the training export)."""
        sql = """SELECT c.*, (SELECT o.reply FROM outcomes o WHERE o.case_id = c.id ORDER BY o.id DESC LIMIT 1)
                 AS reply FROM cases c WHERE c.status = 'closed'"""
        args: tuple = ()
        if year is not None:
            sql += " AND c.year = ?"
            args = (year,)
        with self.reader() as c:
            return [_row(r) for r in c.execute(sql + " ORDER BY c.year, c.id", args)]

    # -- department registry ---------------------------------------------------------------------------------
    def latest_registry(self) -> dict | None:
        with self.reader() as c:
            row = c.execute("SELECT data FROM registry_snapshots ORDER BY id DESC LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None

    def save_registry(self, data: dict, *, reason: str, created_by: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT INTO registry_snapshots (data, reason, created_by, created_at) VALUES (?, ?, ?, ?)",
                      (json.dumps(data, ensure_ascii=False), reason, created_by, now()))

    # -- the model version in service ------------------------------------------------------------------------
    def record_promotion(self, version: str, *, action: str, by: str = "", why: str = "") -> None:
        with self.transaction() as c:
            c.execute("INSERT INTO model_promotions (version, action, promoted_by, reason, promoted_at) "
                      "VALUES (?, ?, ?, ?, ?)", (version, action, by, why, now()))

    def active_model(self) -> str | None:
        """The version the latest promotion named (every replica serves it), or None before the first."""
        with self.reader() as c:
            row = c.execute("SELECT version FROM model_promotions ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    # -- API keys --------------------------------------------------------------------------------------------
    def add_key(self, *, name: str, role: str, salt: str, hash: str, prefix: str, source: str,
                unit_id: str | None = None, conn: Connection | None = None) -> int:
        with self.transaction(conn) as c:
            return c.insert(
                "INSERT INTO api_keys (name, role, salt, hash, prefix, source, unit_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, role, salt, hash, prefix, source, unit_id, now()),
            )

    def keys(self, *, active_only: bool = True) -> list[dict]:
        sql = "SELECT * FROM api_keys" + (" WHERE revoked_at IS NULL" if active_only else "") + " ORDER BY id"
        with self.reader() as c:
            return [dict(r) for r in c.execute(sql)]

    def revoke_keys(self, ids: list[int], *, conn: Connection | None = None) -> int:
        if not ids:
            return 0
        with self.transaction(conn) as c:
            cur = c.execute(f"UPDATE api_keys SET revoked_at = ? WHERE revoked_at IS NULL AND id IN "
                            f"({', '.join('?' * len(ids))})", (now(), *ids))
            return cur.rowcount


@contextmanager
def _same(conn: Connection) -> Iterator[Connection]:
    yield conn
