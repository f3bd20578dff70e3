"""退办/改办: within a window of working days after assignment, the lead unit may say "this is not ours" with a
reason and a suggested unit; an assigner approves (a new decision: the item moves and its deadline restarts) or
refuses with a reason. Every step is kept; the final lead after reassignment is what the next training exports.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date

from api import casework, scope
from api.auth import Principal
from api.config import Settings
from api.errors import Conflict, NotFound, Unprocessable
from api.registry import RegistryHolder
from api.role_schemas import ReassignmentAnswer, ReassignmentCreate
from api.store import Store, now
from models import clock

logger = logging.getLogger(__name__)


def deadline(case: dict, settings: Settings) -> date | None:
    assigned = casework.as_date(case["assigned_on"])
    return settings.calendar().add(assigned, settings.reassign_days) if assigned else None


def _public(row: dict, registry: RegistryHolder, settings: Settings) -> dict:
    return {**{k: row[k] for k in ("id", "case_id", "case_no", "title", "reason", "status", "requested_by",
                                   "requested_at", "decided_by", "decided_at", "answer")},
            "unit": registry.ref(row["unit_id"]), "suggested": registry.ref(row["suggested_id"]),
            "deadline": casework.iso(deadline(row, settings))}


_SELECT = """SELECT r.*, c.case_no, c.title, c.assigned_on, c.lead_id, c.co_ids FROM reassignments r
             JOIN cases c ON c.id = r.case_id"""


def get(store: Store, request_id: int) -> dict:
    with store.reader() as c:
        row = c.execute(_SELECT + " WHERE r.id = ?", (request_id,)).fetchone()
    if row is None:
        raise NotFound(f"退办申请 {request_id} 不存在", code="reassignment_not_found",
                       details={"reassignment_id": request_id})
    return dict(row)


def request(store: Store, registry: RegistryHolder, settings: Settings, case_id: int, body: ReassignmentCreate, *,
            principal: Principal, today: date | None = None) -> dict:
    """A lead unit's request to hand an item back (refused after the window, or while one is pending)."""
    today = today or clock.today()
    case = scope.check(store.get_case(case_id), principal, registry, case_id)
    if case["status"] != "assigned" or not case["lead_id"]:
        raise Conflict(f"案件 {case_id} 不在办理中（{case['status']}），不能申请退办", code="case_not_assigned")
    unit = principal.unit_id or case["lead_id"]
    if registry.current_id(unit) != registry.current_id(case["lead_id"]):
        raise Conflict("只有主办单位可以申请退办；协办单位如有异议请与主办单位沟通", code="not_the_lead",
                       details={"field": "unit"})
    last = deadline(case, settings)
    if last is not None and today > last:
        raise Conflict(f"已超过退办期限：交办后 {settings.reassign_days} 个工作日内（至 {last.isoformat()}）可申请"
                       "退办；逾期请与交办部门电话沟通", code="reassign_window_closed",
                       details={"deadline": last.isoformat()})
    suggested = registry.resolve(body.suggested_unit, field="suggested_unit").id if body.suggested_unit else None
    if suggested and registry.current_id(suggested) == registry.current_id(case["lead_id"]):
        raise Unprocessable("字段“suggested_unit”：建议的单位就是现在的主办单位", code="same_unit",
                            details={"field": "suggested_unit"})
    with store.transaction() as c:
        store.lock_case(case_id, c)  # two requests at once: the second sees the first
        if c.execute("SELECT 1 FROM reassignments WHERE case_id = ? AND status = 'requested'", (case_id,)).fetchone():
            raise Conflict(f"案件 {case_id} 已有待审的退办申请", code="reassignment_pending")
        request_id = c.insert("INSERT INTO reassignments (case_id, unit_id, reason, suggested_id, requested_by, "
                              "key_id, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              (case_id, registry.current_id(unit), body.reason, suggested, principal.name,
                               principal.key_id, now()))
    logger.info("reassignment %s requested for case %s", request_id, case_id)
    return _public(get(store, request_id), registry, settings)


def listing(store: Store, registry: RegistryHolder, settings: Settings, *, principal: Principal,
            status: str | None) -> list[dict]:
    sql, args = _SELECT, []
    if status:
        sql += " WHERE r.status = ?"
        args.append(status)
    with store.reader() as c:
        rows = [dict(r) for r in c.execute(sql + " ORDER BY r.id DESC", args)]
    ids = scope.unit_ids(principal, registry)
    rows = [r for r in rows if ids is None or r["unit_id"] in ids or scope.visible(
        {"lead_id": r["lead_id"], "co_ids": json.loads(r["co_ids"] or "[]")}, ids)]
    return [_public(r, registry, settings) for r in rows]


def answer(store: Store, registry: RegistryHolder, settings: Settings, request_id: int, body: ReassignmentAnswer, *,
           principal: Principal, approve: bool) -> dict:
    """Approve (a new decision to the unit named or suggested; the deadline restarts from today) or refuse."""
    row = get(store, request_id)
    if row["status"] != "requested":
        raise Conflict(f"退办申请 {request_id} 已处理（{row['status']}）", code="reassignment_answered")
    if not approve and not body.answer.strip():
        raise Unprocessable("字段“answer”：不同意退办时请写明理由", code="answer_required", details={"field": "answer"})
    lead, co = None, []
    if approve:
        lead_name = body.lead or row["suggested_id"]
        if not lead_name:
            raise Unprocessable("字段“lead”：申请未建议单位，请指定改由哪个单位主办", code="lead_required",
                                details={"field": "lead"})
        lead = registry.resolve(lead_name, field="lead")
        co = [registry.resolve(n, field=f"co_handlers[{i}]").id for i, n in enumerate(body.co_handlers)]
        if registry.current_id(lead.id) == registry.current_id(row["lead_id"]):
            raise Unprocessable("字段“lead”：改办的单位与原主办单位相同", code="same_unit", details={"field": "lead"})
    with store.transaction() as c:  # the answer and its decision together; of two answers at once, one counts
        if c.execute("UPDATE reassignments SET status = ?, decided_by = ?, decided_at = ?, answer = ? "
                     "WHERE id = ? AND status = 'requested'",
                     ("approved" if approve else "refused", principal.name, now(), body.answer.strip(),
                      request_id)).rowcount != 1:
            raise Conflict(f"退办申请 {request_id} 已处理", code="reassignment_answered")
        if lead is not None:
            today = clock.today()
            case = store.get_case(row["case_id"], conn=c)
            decision = store.add_decision(row["case_id"], {
                "lead_id": lead.id, "co_ids": [x for x in co if x != lead.id], "accepted": None,
                "suggestion": (case or {}).get("suggestion"), "assigned_on": today.isoformat(),
                "due_on": casework.add_months(today, settings.due_months).isoformat(),
                "note": f"改办（退办申请 {request_id}）", "decided_by": principal.name, "key_id": principal.key_id},
                conn=c)
            c.execute("UPDATE reassignments SET decision_id = ? WHERE id = ?", (decision["id"], request_id))
    logger.info("reassignment %s %s", request_id, "approved" if approve else "refused")
    return _public(get(store, request_id), registry, settings)


def figures(store: Store, registry: RegistryHolder) -> dict:
    """Reassignment requests and approvals per unit (over the cases it was assigned) and per model version."""
    with store.reader() as c:
        assigned = Counter(registry.current_id(r[0]) for r in c.execute(
            "SELECT lead_id FROM decisions d WHERE d.id = (SELECT min(id) FROM decisions WHERE case_id = d.case_id)"))
        reqs = [{**dict(r), "model": (json.loads(r["suggestion"] or "null") or {}).get("model_version")}
                for r in c.execute("SELECT r.unit_id, r.status, c.suggestion FROM reassignments r "
                                   "JOIN cases c ON c.id = r.case_id")]
    by_unit: dict[str, Counter] = {}
    by_model: dict[str, Counter] = {}
    for r in reqs:
        by_unit.setdefault(r["unit_id"], Counter())[r["status"]] += 1
        by_model.setdefault(r["model"] or "（无建议）", Counter())[r["status"]] += 1
    units = [{"unit": registry.ref(u), "assigned": assigned.get(u, 0), "requested": sum(n.values()),
              "approved": n["approved"], "rate": round(n["approved"] / assigned[u], 4) if assigned.get(u) else None}
             for u, n in sorted(by_unit.items())]
    models = [{"model_version": m, "requested": sum(n.values()), "approved": n["approved"]}
              for m, n in sorted(by_model.items())]
    return {"units": units, "models": models}
