"""What the review table shows of a session: rows in review order, filters, one row in full, and the job's progress."""

from __future__ import annotations

from datetime import datetime, timezone

from api import casework
from api.errors import NotFound
from api.registry import RegistryHolder
from api.sessions_db import SessionStore
from models.service import RoutingService

STATUS_TEXT = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败", "cancelled": "已取消"}


def job_public(job: dict | None) -> dict | None:
    """A job with its progress and, while running, an estimate of the seconds left from the rate so far."""
    if job is None:
        return None
    eta = None
    if job["status"] == "running" and job["started_at"] and job["done"]:
        started = datetime.fromisoformat(job["started_at"])
        elapsed = (datetime.now(timezone.utc) - started).total_seconds()
        eta = round(elapsed / job["done"] * (job["total"] - job["done"]), 1)
    return {k: job[k] for k in ("id", "kind", "session_id", "status", "total", "done", "error", "created_by",
                                "created_at", "started_at", "finished_at")} | {
        "cancel_requested": bool(job["cancel_requested"]), "status_text": STATUS_TEXT[job["status"]],
        "eta_seconds": eta}


def _groups(rows: list[dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for r in rows:
        if r["group_no"] is not None and r["in_latest"]:
            out.setdefault(r["group_no"], []).append(r)
    return out


def row_public(r: dict, registry: RegistryHolder, groups: dict[int, list[dict]]) -> dict:
    res = r["result"]
    group = None
    if r["group_no"] is not None and r["group_no"] in groups:
        members = groups[r["group_no"]]
        sims = [m["group_similarity"] for m in members if m["group_similarity"] is not None]
        group = {"no": r["group_no"], "rows": [m["sheet_row"] for m in members],
                 "row_ids": [m["row_id"] for m in members], "similarity": min(sims) if sims else None,
                 "manual": bool(r["group_manual"])}
    suggestion = None
    if res is not None:
        suggestion = {"lead": res["lead"][:3], "co_handlers": res["co_handlers"], "needs_review": res["needs_review"],
                      "review_reason": res["review_reason"], "repeat_of": res.get("repeat_of"),
                      "admissibility": res.get("admissibility", []),
                      "model_version": res["model_version"]}
    decided = r["status"] != "open" and r["lead_id"] is not None
    return {
        "row_id": r["row_id"], "row": r["sheet_row"], "in_latest": bool(r["in_latest"]), "case_id": r["id"],
        "case_no": r["case_no"], "kind": r["kind"], "title": r["title"], "proposer": r["proposer"],
        "status": r["status"], "routed": res is not None, "suggestion": suggestion, "group": group,
        "decision": {"lead": registry.ref(r["lead_id"]), "co_handlers": [registry.ref(c) for c in r["co_ids"] or []],
                     "assigned_on": r["assigned_on"], "due_on": r["due_on"], "decided_by": r["decided_by"],
                     "decided_at": r["decided_at"]} if decided else None,
        "confidence": res["lead"][0]["probability"] if res else None,
        "needs_review": bool(res and res["needs_review"]),
        "admissibility": [f["code"] for f in (res or {}).get("admissibility", [])],
    }


def review_order(row: dict) -> tuple:
    """Rows waiting for routing last; then unsure rows first, then by confidence (least sure first), then row."""
    return (not row["in_latest"], not row["routed"], not row["needs_review"], row["confidence"] or 0.0, row["row"])


def list_rows(sdb: SessionStore, registry: RegistryHolder, session_id: int, *, needs_review: bool | None = None,
              department: str | None = None, group: int | None = None, grouped: bool | None = None,
              undecided: bool | None = None, include_missing: bool = False,
              admissibility: bool | None = None) -> tuple[list[dict], dict]:
    """Filtered rows in review order, and the session's counts (over all rows of the latest sheet)."""
    raw = sdb.rows(session_id)
    groups = _groups(raw)
    rows = [row_public(r, registry, groups) for r in raw]
    latest = [r for r in rows if r["in_latest"]]
    counts = {"rows": len(latest), "routed": sum(r["routed"] for r in latest),
              "needs_review": sum(r["needs_review"] for r in latest),
              "decided": sum(r["decision"] is not None for r in latest), "groups": len(groups),
              "repeats": sum(bool(r["suggestion"] and r["suggestion"]["repeat_of"]) for r in latest),
              "missing": len(rows) - len(latest)}
    dept_ids: set[str] = set()
    if department:
        dept = registry.resolve(department, field="department")
        dept_ids = {dept.id, *(d.id for d in registry.registry.lineage(dept.id))}

    def keep(r: dict) -> bool:
        if not include_missing and not r["in_latest"]:
            return False
        if needs_review is not None and r["needs_review"] != needs_review:
            return False
        if undecided is not None and (r["decision"] is None) != undecided:
            return False
        if admissibility is not None and bool(r["admissibility"]) != admissibility:
            return False
        if grouped is not None and (r["group"] is not None) != grouped:
            return False
        if group is not None and (r["group"] is None or r["group"]["no"] != group):
            return False
        if dept_ids:
            lead = (r["decision"] or {}).get("lead") or (r["suggestion"] or {"lead": [{}]})["lead"][0]
            return bool(lead) and lead.get("id") in dept_ids
        return True

    return sorted(filter(keep, rows), key=review_order), counts


def row_detail(sdb: SessionStore, store, registry: RegistryHolder, session_id: int, row_id: int,
               service: RoutingService | None) -> dict:
    """One row in full: the item's text, every ranked unit with reasons, precedents with replies, the earlier case
    it repeats (with its reply), its 并案 group and the decision history (who, when, from, to)."""
    raw = sdb.row_with_group(session_id, row_id)
    r = raw[0] if raw else None
    if r is None:
        raise NotFound(f"会次 {session_id} 中没有第 {row_id} 条", code="row_not_found", details={"row_id": row_id})
    out = row_public(r, registry, _groups(raw))
    res = r["result"] or {}
    out["body"] = r["body"]
    if res:
        out["suggestion"] = {**(out["suggestion"] or {}), "lead": res["lead"], "precedents": res.get("precedents", []),
                             "precedents_available": res.get("precedents_available", False)}
    repeat = res.get("repeat_of")
    if repeat and service is not None and (earlier := service.earlier_case(repeat["case_id"])):
        out["repeat_case"] = {k: earlier.get(k) for k in ("case_id", "case_no", "year", "title", "reply", "category",
                                                            "feedback")} | {"case_id": str(earlier.get("case_id"))}
    history, previous = [], None
    for d in store.decisions(r["id"]).values():
        entry = casework.decision_public(d, registry)
        history.append({"decided_by": entry["decided_by"], "decided_at": entry["decided_at"],
                        "from": previous, "to": entry["lead"], "co_handlers": entry["co_handlers"],
                        "accepted": entry["accepted"], "note": entry["note"]})
        previous = entry["lead"]
    out["history"] = history
    return out
