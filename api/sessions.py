"""Sessions (会次): a sheet uploaded, matched against what the session already holds, routed in the background,
reviewed and decided in place. Plain functions the routes call; the background part is ``api.jobs``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from datetime import date

from api import casework
from api.auth import Principal
from api.config import Settings
from api.errors import Conflict, NotFound, Unprocessable
from api.registry import RegistryHolder
from api.sessions_db import ACTIVE_JOB, SessionStore
from models import clock
from models.casefile import ReadResult
from models.records import CaseRecord, RowError

logger = logging.getLogger(__name__)


def content_hash(rec: CaseRecord, kind: str) -> str:
    text = "\x1f".join([rec.kind or kind, rec.title.strip(), rec.body.strip(), rec.proposer.strip()])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text_hash(rec: CaseRecord) -> str:
    text = re.sub(r"\s+", "", rec.title + "\x1f" + rec.body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def match_keys(records: list[CaseRecord]) -> tuple[list[tuple[CaseRecord, str]], list[RowError]]:
    """Each row's key: its 编号, else its text's hash and which occurrence of that text it is (two identical rows
    are two items, and a re-upload of the same sheet matches each to itself). A repeated 编号 is a row error."""
    seen: dict[str, int] = {}
    texts: dict[str, int] = defaultdict(int)
    keyed, errors = [], []
    for rec in records:
        if rec.case_no:
            key = "no:" + rec.case_no
            if key in seen:
                errors.append(RowError(rec.row, "编号",
                                       f"编号“{rec.case_no}”与第 {seen[key]} 行重复；请改正编号后重新上传"))
                continue
            seen[key] = rec.row
        else:
            h = _text_hash(rec)
            texts[h] += 1
            key = f"text:{h}#{texts[h]}"
        keyed.append((rec, key))
    return keyed, errors


def _pair(keyed: list[tuple[CaseRecord, str]], known: dict[str, dict], store, conn) -> list[tuple]:
    """Each new row with the session row it updates (``None``: a new item). Rows match by key; a row without 编号
    whose text changed matches, by its title, a row of the session that no key matched."""
    used = {key for _, key in keyed if key in known}
    spare: dict[str, list[dict]] = defaultdict(list)
    for key, known_row in known.items():
        if key.startswith("text:") and key not in used:
            case = store.get_case(known_row["case_id"], conn=conn)
            spare[re.sub(r"\s+", "", case["title"] if case else "")].append(known_row)
    out = []
    for rec, key in keyed:
        old = known.get(key)
        if old is None and key.startswith("text:") and (same := spare.get(re.sub(r"\s+", "", rec.title))):
            old = same.pop(0)
        out.append((rec, key, old))
    return out


def ingest(store, sdb: SessionStore, read: ReadResult, *, file_name: str, file_hash: str, principal: Principal,
           session_id: int | None, name: str, held_on: date | None, kind: str) -> tuple[int, dict]:
    """Create a session (or add a sheet to one): new rows become open cases, changed rows update their case and
    are routed again, unchanged rows keep everything; rows missing from the new sheet are kept and counted."""
    if session_id is not None and sdb.get_session(session_id) is None:
        raise NotFound(f"会次 {session_id} 不存在", code="session_not_found", details={"session_id": session_id})
    if session_id is None and (earlier := sdb.session_with_hash(file_hash)) is not None:
        raise Conflict(f"这份表格已上传为会次 {earlier}；如需更正或补充，请在该会次中重新上传", code="same_sheet",
                       details={"field": "file", "session_id": earlier})
    keyed, errors = match_keys(read.records)
    errors = list(read.errors) + errors
    counts = {"added": 0, "changed": 0, "unchanged": 0}
    kept: set[int] = set()
    with store.transaction() as conn:
        if session_id is None:
            session_id = sdb.create_session(name=name or file_name, held_on=casework.iso(held_on), kind=kind,
                                            created_by=principal.name, conn=conn)
        for rec, key, old in _pair(keyed, sdb.row_keys(session_id, conn), store, conn):
            digest = content_hash(rec, kind)
            conn.execute("SAVEPOINT row")
            try:
                if old is None:
                    if rec.case_no and (other := store.case_id_by_no(rec.case_no, conn=conn)):
                        raise ValueError(f"编号“{rec.case_no}”已用于案件 {other}（另一会次或已登记），未重复登记")
                    values = {**casework.case_values(rec, kind=kind or None, source="session")}
                    case_id = store.create_case(values, conn=conn)
                    kept.add(sdb.add_row(session_id, sheet_row=rec.row, match_key=key, content_hash=digest,
                                         case_id=case_id, conn=conn))
                    counts["added"] += 1
                elif old["content_hash"] == digest:
                    sdb.update_row(old["id"], conn, sheet_row=rec.row, in_latest=1)
                    kept.add(old["id"])
                    counts["unchanged"] += 1
                else:
                    case = store.get_case(old["case_id"], conn=conn)
                    if case and case["status"] == "closed":
                        raise ValueError(f"案件 {case['id']} 已办结，表格中的修改未写入；如需更正请联系督查室")
                    values = casework.case_values(rec, kind=kind or None, source="session")
                    store.update_case(old["case_id"], {k: values[k] for k in ("kind", "title", "body", "proposer")},
                                      conn=conn)
                    sdb.update_row(old["id"], conn, sheet_row=rec.row, in_latest=1, content_hash=digest,
                                   match_key=key, result=None, vector=None, routed_at=None)
                    kept.add(old["id"])
                    counts["changed"] += 1
                conn.execute("RELEASE row")
            except ValueError as exc:
                conn.execute("ROLLBACK TO row")
                conn.execute("RELEASE row")
                errors.append(RowError(rec.row, "编号" if rec.case_no else "*", str(exc)))
        missing = sdb.mark_not_in_latest(session_id, kept, conn)
        errors.sort(key=lambda e: e.row)
        summary = {**counts, "missing": missing, "rows_read": read.total,
                   "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in errors]}
        sdb.add_upload(session_id, {"file_name": file_name, "file_hash": file_hash, "uploaded_by": principal.name,
                                    "columns": read.columns, **summary}, conn)
        sdb.touch(session_id, conn)
    logger.info("session %s: sheet with %d rows (%d added, %d changed, %d unchanged, %d missing, %d row errors)",
                session_id, read.total, counts["added"], counts["changed"], counts["unchanged"], missing, len(errors))
    return session_id, summary


def start_routing(sdb: SessionStore, session_id: int, principal: Principal) -> dict | None:
    """Queue a job for the session's rows not routed yet, unless one is queued or running already."""
    job = sdb.session_job(session_id)
    if job and job["status"] in ACTIVE_JOB:
        return job
    pending = len(sdb.pending_rows(session_id))
    if not pending:
        return job
    job_id = sdb.create_job(kind="route_session", session_id=session_id, total=pending, created_by=principal.name)
    return sdb.get_job(job_id)


def get_session(sdb: SessionStore, session_id: int) -> dict:
    s = sdb.get_session(session_id)
    if s is None:
        raise NotFound(f"会次 {session_id} 不存在", code="session_not_found", details={"session_id": session_id})
    return s


def get_job(sdb: SessionStore, job_id: int) -> dict:
    job = sdb.get_job(job_id)
    if job is None:
        raise NotFound(f"任务 {job_id} 不存在", code="job_not_found", details={"job_id": job_id})
    return job


def cancel_job(sdb: SessionStore, job_id: int) -> dict:
    job = get_job(sdb, job_id)
    if job["status"] == "queued":
        sdb.update_job(job_id, status="cancelled", cancel_requested=1, finished_at=casework.now_iso())
    elif job["status"] == "running":
        sdb.update_job(job_id, cancel_requested=1)
    return get_job(sdb, job_id)


def accept_confident(store, sdb: SessionStore, registry: RegistryHolder, session_id: int, *, principal: Principal,
                     settings: Settings) -> dict:
    """Decide every undecided, routed row of the latest sheet that needs no review as suggested (lead and
    co-handlers), in one transaction. Rows decided already are left alone, so a repeat changes nothing."""
    get_session(sdb, session_id)
    reg = registry.registry
    today = clock.today()
    due = casework.add_months(today, settings.due_months)
    accepted = skipped = 0
    with store.transaction() as conn:
        for r in sdb.rows(session_id):
            res = r["result"]
            if not r["in_latest"] or res is None or r["status"] != "open" or res["needs_review"]:
                continue
            lead = res["lead"][0]["id"]
            co = [c["id"] for c in res["co_handlers"] if c["id"] in reg and c["id"] != lead]
            if lead not in reg:
                skipped += 1
                continue
            store.add_decision(r["id"], {
                "lead_id": reg.current(lead).id, "co_ids": [reg.current(c).id for c in co], "accepted": True,
                "suggestion": res, "assigned_on": today.isoformat(), "due_on": due.isoformat(),
                "note": "批量采纳（置信度达到阈值）", "decided_by": principal.name, "key_id": principal.key_id},
                conn=conn)
            accepted += 1
    logger.info("session %s: %d confident rows accepted", session_id, accepted)
    return {"accepted": accepted, "skipped": skipped}


def regroup(sdb: SessionStore, session_id: int, row_ids: list[int], *, merge: bool) -> dict:
    """Merge rows into one 并案 group (joining the first row's group when it has one), or split them out."""
    get_session(sdb, session_id)
    rows = {r["row_id"]: r for r in sdb.rows(session_id)}
    unknown = [i for i in row_ids if i not in rows]
    if unknown:
        raise Unprocessable(f"字段“rows”：会次 {session_id} 中没有这些行：{unknown}", code="unknown_rows",
                            details={"field": "rows", "rows": unknown})
    if merge:
        if len(set(row_ids)) < 2 and not any(rows[i]["group_no"] for i in row_ids):
            raise Unprocessable("字段“rows”：并案至少需要两行", code="group_too_small", details={"field": "rows"})
        target = next((rows[i]["group_no"] for i in row_ids if rows[i]["group_no"]), None)
        sdb.regroup(session_id, row_ids, target or sdb.next_group_no(session_id))
    else:
        sdb.regroup(session_id, row_ids, None)
    return {"rows": row_ids}
