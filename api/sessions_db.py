"""Sessions (会次), their rows, uploads and background jobs in the case store; every write in one transaction.

A session row ties one line of an uploaded sheet to its case. Re-uploading a sheet matches rows by ``match_key``
(编号, or a content hash when the sheet has none), so a corrected or repeated sheet updates instead of duplicating.
Jobs live here too: their state survives a restart, and a job found running at start-up is queued again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from api.store import Store, now
from models.db import Connection

JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE_JOB = ("queued", "running")


def _loads(row: Any | None, *cols: str) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for col in cols:
        if out.get(col) is not None:
            out[col] = json.loads(out[col])
    return out


class SessionStore:
    """Reads and writes of sessions, session rows, uploads and jobs (in the same database as the cases)."""

    def __init__(self, store: Store):
        self.store = store
        # Called with a new job's id once it may run (PostgreSQL: defers its procrastinate task, api.queue_pg).
        self.on_job_created: Callable[[int], object] | None = None

    # -- sessions ------------------------------------------------------------------------------------------------
    def create_session(self, *, name: str, held_on: str | None, kind: str, created_by: str,
                       conn: Connection) -> int:
        stamp = now()
        return conn.insert("INSERT INTO sessions (name, held_on, kind, created_by, created_at, updated_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (name, held_on, kind, created_by, stamp, stamp))

    def get_session(self, session_id: int) -> dict | None:
        with self.store.reader() as c:
            row = c.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            return dict(row) if row else None

    def list_sessions(self, *, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
        sql = """SELECT s.*,
                   (SELECT count(*) FROM session_rows r WHERE r.session_id = s.id) AS rows,
                   (SELECT count(*) FROM session_rows r JOIN cases c ON c.id = r.case_id
                     WHERE r.session_id = s.id AND c.status != 'open') AS decided
                 FROM sessions s ORDER BY s.id DESC LIMIT ? OFFSET ?"""
        with self.store.reader() as c:
            count = c.execute("SELECT count(*) FROM sessions").fetchone()[0]
            return [dict(r) for r in c.execute(sql, (limit, offset))], int(count)

    def touch(self, session_id: int, conn: Connection) -> None:
        conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now(), session_id))

    # -- uploads -------------------------------------------------------------------------------------------------
    def add_upload(self, session_id: int, values: dict, conn: Connection) -> int:
        cols = ("file_name", "file_hash", "rows_read", "added", "changed", "unchanged", "missing", "errors",
                "columns", "uploaded_by")
        data = {**values, "errors": json.dumps(values["errors"], ensure_ascii=False),
                "columns": json.dumps(values.get("columns", {}), ensure_ascii=False)}
        return conn.insert(
            f"INSERT INTO session_uploads (session_id, {', '.join(cols)}, uploaded_at) "
            f"VALUES (?{', ?' * len(cols)}, ?)", [session_id, *(data[k] for k in cols), now()])

    def uploads(self, session_id: int) -> list[dict]:
        with self.store.reader() as c:
            rows = c.execute("SELECT * FROM session_uploads WHERE session_id = ? ORDER BY id", (session_id,))
            return [_loads(r, "errors", "columns") or {} for r in rows]

    def session_with_hash(self, file_hash: str) -> int | None:
        with self.store.reader() as c:
            row = c.execute("SELECT session_id FROM session_uploads WHERE file_hash = ? ORDER BY id LIMIT 1",
                            (file_hash,)).fetchone()
            return int(row[0]) if row else None

    # -- rows ----------------------------------------------------------------------------------------------------
    def row_keys(self, session_id: int, conn: Connection) -> dict[str, dict]:
        rows = conn.execute("SELECT id, match_key, content_hash, case_id FROM session_rows WHERE session_id = ?",
                            (session_id,))
        return {r["match_key"]: dict(r) for r in rows}

    def add_row(self, session_id: int, *, sheet_row: int, match_key: str, content_hash: str, case_id: int,
                conn: Connection) -> int:
        return conn.insert("INSERT INTO session_rows (session_id, sheet_row, match_key, content_hash, case_id) "
                           "VALUES (?, ?, ?, ?, ?)", (session_id, sheet_row, match_key, content_hash, case_id))

    def update_row(self, row_id: int, conn: Connection, **values) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        conn.execute(f"UPDATE session_rows SET {sets} WHERE id = ?", [*values.values(), row_id])

    def mark_not_in_latest(self, session_id: int, keep: set[int], conn: Connection) -> int:
        ids = [r[0] for r in conn.execute("SELECT id FROM session_rows WHERE session_id = ?", (session_id,))
               if r[0] not in keep]
        for row_id in ids:
            conn.execute("UPDATE session_rows SET in_latest = 0 WHERE id = ?", (row_id,))
        return len(ids)

    def rows(self, session_id: int, *, where: str = "", args: tuple = ()) -> list[dict]:
        """Every row of a session (or those matching ``where``) with its case, in sheet order (vectors left out)."""
        sql = """SELECT r.id AS row_id, r.sheet_row, r.match_key, r.in_latest, r.result, r.group_no,
                        r.group_similarity, r.group_manual, r.routed_at, c.*,
                        (SELECT d.decided_by FROM decisions d WHERE d.case_id = c.id ORDER BY d.id DESC LIMIT 1)
                          AS decided_by,
                        (SELECT d.decided_at FROM decisions d WHERE d.case_id = c.id ORDER BY d.id DESC LIMIT 1)
                          AS decided_at
                 FROM session_rows r JOIN cases c ON c.id = r.case_id
                 WHERE r.session_id = ? {where} ORDER BY r.in_latest DESC, r.sheet_row, r.id"""
        with self.store.reader() as c:
            return [_loads(r, "result", "co_ids", "suggestion") or {}
                    for r in c.execute(sql.format(where=where), (session_id, *args))]

    def row_with_group(self, session_id: int, row_id: int) -> list[dict]:
        """One row (first) and the other rows of its 并案 group; empty when the session has no such row."""
        found = self.rows(session_id, where="AND r.id = ?", args=(row_id,))
        if not found or found[0]["group_no"] is None:
            return found
        others = self.rows(session_id, where="AND r.group_no = ? AND r.id != ?", args=(found[0]["group_no"], row_id))
        return found + others

    def pending_rows(self, session_id: int) -> list[dict]:
        sql = """SELECT r.id AS row_id, r.sheet_row, c.title, c.body FROM session_rows r
                 JOIN cases c ON c.id = r.case_id WHERE r.session_id = ? AND r.result IS NULL ORDER BY r.sheet_row"""
        with self.store.reader() as c:
            return [dict(r) for r in c.execute(sql, (session_id,))]

    def save_results(self, results: list[tuple[int, dict, np.ndarray | None]]) -> None:
        """Store routed rows (and each row's suggestion beside its case) in one transaction."""
        stamp = now()
        with self.store.transaction() as c:
            for row_id, result, vector in results:
                blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
                text = json.dumps(result, ensure_ascii=False)
                c.execute("UPDATE session_rows SET result = ?, vector = ?, routed_at = ? WHERE id = ?",
                          (text, blob, stamp, row_id))
                c.execute("UPDATE cases SET suggestion = ?, updated_at = ? WHERE id = "
                          "(SELECT case_id FROM session_rows WHERE id = ?)", (text, stamp, row_id))

    def vectors(self, session_id: int) -> tuple[list[int], list[int], np.ndarray | None]:
        """Row ids, sheet rows and vectors of the routed rows of the latest sheet that have one."""
        with self.store.reader() as c:
            rows = c.execute("SELECT id, sheet_row, vector FROM session_rows WHERE session_id = ? AND in_latest = 1"
                             " AND vector IS NOT NULL ORDER BY sheet_row", (session_id,)).fetchall()
        if not rows:
            return [], [], None
        return ([r[0] for r in rows], [r[1] for r in rows],
                np.stack([np.frombuffer(r[2], dtype=np.float32) for r in rows]))

    def set_groups(self, session_id: int, groups: list[tuple[list[int], float]]) -> None:
        """Replace the automatic 并案 groups (rows grouped by hand keep their group)."""
        with self.store.transaction() as c:
            c.execute("UPDATE session_rows SET group_no = NULL, group_similarity = NULL WHERE session_id = ? "
                      "AND group_manual = 0", (session_id,))
            taken = {r[0] for r in c.execute("SELECT DISTINCT group_no FROM session_rows WHERE session_id = ? AND "
                                             "group_no IS NOT NULL", (session_id,))}
            number = 0
            for row_ids, similarity in groups:
                number += 1
                while number in taken:
                    number += 1
                for row_id in row_ids:
                    c.execute("UPDATE session_rows SET group_no = ?, group_similarity = ? WHERE id = ? "
                              "AND group_manual = 0", (number, similarity, row_id))

    def regroup(self, session_id: int, row_ids: list[int], group_no: int | None) -> None:
        """Put rows in a group by hand (``None``: take them out of their group); a group left with one row ends."""
        with self.store.transaction() as c:
            for row_id in row_ids:
                c.execute("UPDATE session_rows SET group_no = ?, group_similarity = NULL, group_manual = 1 "
                          "WHERE id = ? AND session_id = ?", (group_no, row_id, session_id))
            for (number,) in c.execute("SELECT group_no FROM session_rows WHERE session_id = ? AND group_no IS NOT "
                                       "NULL GROUP BY group_no HAVING count(*) < 2", (session_id,)).fetchall():
                c.execute("UPDATE session_rows SET group_no = NULL, group_manual = 1 WHERE session_id = ? AND "
                          "group_no = ?", (session_id, number))

    def staff_groups(self) -> dict[str, list[dict]]:
        """The 并案 groups staff made or joined by hand (a group with a row put in it by hand; its other rows were
        left in it), each as its closed cases (id, case_no), keyed ``<session>-<group>``."""
        sql = """SELECT r.session_id, r.group_no, c.id, c.case_no FROM session_rows r JOIN cases c ON c.id = r.case_id
                 WHERE r.group_no IS NOT NULL AND c.status = 'closed' AND EXISTS (SELECT 1 FROM session_rows m
                   WHERE m.session_id = r.session_id AND m.group_no = r.group_no AND m.group_manual = 1)
                 ORDER BY r.session_id, r.group_no, c.id"""
        groups: dict[str, list[dict]] = {}
        with self.store.reader() as c:
            for row in c.execute(sql):
                r = dict(row)
                groups.setdefault(f"{r['session_id']}-{r['group_no']}", []).append(
                    {"id": r["id"], "case_no": r["case_no"]})
        return groups

    def next_group_no(self, session_id: int) -> int:
        with self.store.reader() as c:
            return int(c.execute("SELECT coalesce(max(group_no), 0) + 1 FROM session_rows WHERE session_id = ?",
                                 (session_id,)).fetchone()[0])

    # -- jobs ----------------------------------------------------------------------------------------------------
    def create_job(self, *, kind: str, session_id: int | None, total: int, created_by: str, ready: bool = True) -> int:
        """A queued job; ``ready=False`` when the caller prepares its inputs first and then calls ``job_ready``."""
        stamp = now()
        with self.store.transaction() as c:
            job_id = c.insert("INSERT INTO jobs (kind, session_id, status, total, created_by, created_at, updated_at) "
                              "VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                              (kind, session_id, total, created_by, stamp, stamp))
        if ready:
            self.job_ready(job_id)
        return job_id

    def job_ready(self, job_id: int) -> None:
        if self.on_job_created is not None:
            self.on_job_created(job_id)

    def get_job(self, job_id: int) -> dict | None:
        with self.store.reader() as c:
            row = c.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return dict(row) if row else None

    def session_job(self, session_id: int) -> dict | None:
        """The session's latest job."""
        with self.store.reader() as c:
            row = c.execute("SELECT * FROM jobs WHERE session_id = ? ORDER BY id DESC LIMIT 1",
                            (session_id,)).fetchone()
            return dict(row) if row else None

    def update_job(self, job_id: int, **values) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.store.transaction() as c:
            c.execute(f"UPDATE jobs SET {sets}, updated_at = ? WHERE id = ?", [*values.values(), now(), job_id])

    def claim_job(self, worker: str) -> dict | None:
        """The oldest queued job, marked running by ``worker`` (one transaction: two workers never take the same
        job; on PostgreSQL a job another worker is claiming is skipped, not waited for). ``updated_at`` is the job's
        heartbeat: every progress update renews it."""
        with self.store.transaction() as c:
            row = c.execute("SELECT * FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1 "
                            "FOR UPDATE SKIP LOCKED").fetchone()
            if row is None:
                return None
            stamp = now()
            c.execute("UPDATE jobs SET status = 'running', worker = ?, started_at = coalesce(started_at, ?), "
                      "updated_at = ? WHERE id = ?", (worker, stamp, stamp, row["id"]))
            return {**dict(row), "status": "running", "worker": worker}

    def requeue_abandoned(self, *, dead: Callable[[str], bool], stale_before: str) -> list[int]:
        """Running jobs whose worker is known to have stopped (``dead``), or whose heartbeat is older than
        ``stale_before``: queued again, keeping the rows they finished."""
        sql = "SELECT id, worker, updated_at FROM jobs WHERE status = 'running'"
        with self.store.reader() as c:  # the idle worker asks every poll: no write lock unless something is due
            if not any(dead(r["worker"]) or r["updated_at"] < stale_before for r in c.execute(sql)):
                return []
        with self.store.transaction() as c:  # a job whose worker is saving progress right now is not abandoned
            ids = [r["id"] for r in c.execute(sql + " FOR UPDATE SKIP LOCKED").fetchall()
                   if dead(r["worker"]) or r["updated_at"] < stale_before]
            for job_id in ids:
                c.execute("UPDATE jobs SET status = 'queued', worker = '', updated_at = ? WHERE id = ?",
                          (now(), job_id))
            return ids

    # -- idempotent requests -------------------------------------------------------------------------------------
    def reserve(self, key: str, principal: str, route: str) -> tuple[int, dict | None] | None:
        """Claim ``key`` for a request; ``None`` when this request is the first, else the first one's answer
        (status 0 and no body while it is still being handled). A key reused for another route is a ValueError."""
        with self.store.transaction() as c:  # of two requests at once, the insert of one does nothing
            if c.execute("INSERT INTO idempotent_requests (key, principal, route, status, response, created_at) "
                         "VALUES (?, ?, ?, 0, 'null', ?) ON CONFLICT (key, principal) DO NOTHING",
                         (key, principal, route, now())).rowcount == 1:
                return None
            row = c.execute("SELECT status, response, route FROM idempotent_requests WHERE key = ? AND principal = ?",
                            (key, principal)).fetchone()
        if row["route"] != route:
            raise ValueError(row["route"])
        return int(row["status"]), json.loads(row["response"])

    def complete(self, key: str, principal: str, status: int, response: dict | None) -> None:
        """Keep the answer of a reserved request; ``status`` None forgets the key (the request failed)."""
        with self.store.transaction() as c:
            c.execute("UPDATE idempotent_requests SET status = ?, response = ? WHERE key = ? AND principal = ?",
                      (status, json.dumps(response, ensure_ascii=False, default=str), key, principal))

    def release(self, key: str, principal: str) -> None:
        with self.store.transaction() as c:
            c.execute("DELETE FROM idempotent_requests WHERE key = ? AND principal = ? AND status = 0",
                      (key, principal))
