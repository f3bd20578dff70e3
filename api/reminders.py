"""催办: the supervision office presses the lead unit about an open item (one at a time, or every overdue / due-soon
item of a unit at once); the unit's drafters see the reminders on their list and acknowledge them. Every reminder
is kept, with who sent it and when, and the item's deadline at the time.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date, datetime

from api import ledger, scope
from api.auth import Principal
from api.errors import Conflict, NotFound
from api.registry import RegistryHolder
from api.store import Store, now
from models import clock

logger = logging.getLogger(__name__)

DEFAULT_NOTE = "请抓紧办理，按期答复代表委员。"

_SELECT = """SELECT r.*, c.case_no, c.title, c.lead_id, c.co_ids, c.status AS case_status FROM reminders r
             JOIN cases c ON c.id = r.case_id"""


def _public(row: dict, registry: RegistryHolder, *, unchanged: bool = False) -> dict:
    return {**{k: row[k] for k in ("id", "case_id", "case_no", "title", "note", "due_on", "sent_by", "sent_at",
                                   "acknowledged_by", "acknowledged_at")},
            "unit": registry.ref(row["unit_id"]), "unchanged": unchanged}


def get(store: Store, reminder_id: int) -> dict:
    with store.reader() as c:
        row = c.execute(_SELECT + " WHERE r.id = ?", (reminder_id,)).fetchone()
    if row is None:
        raise NotFound(f"催办记录 {reminder_id} 不存在", code="reminder_not_found",
                       details={"reminder_id": reminder_id})
    return dict(row)


def _local_day(stamp: str) -> date:
    return datetime.fromisoformat(stamp).astimezone(clock.zone()).date()


def send(store: Store, registry: RegistryHolder, case_id: int, note: str, *, principal: Principal,
         today: date | None = None) -> dict:
    """Remind the item's lead unit. The same note for the same item on the same day answers the first reminder
    (``unchanged``), so a double click or a repeated batch sends nothing twice."""
    today = today or clock.today()
    note = note.strip() or DEFAULT_NOTE
    case = scope.check(store.get_case(case_id), principal, registry, case_id)
    if case["status"] != "assigned" or not case["lead_id"]:
        state = "已办结" if case["status"] == "closed" else "尚未交办"
        raise Conflict(f"案件 {case_id} {state}，无需催办", code="case_not_assigned",
                       details={"case_id": case_id, "status": case["status"]})
    unit = registry.current_id(case["lead_id"])
    with store.transaction() as c:
        store.lock_case(case_id, c)  # two reminders at once: the second sees the first
        same = [r["id"] for r in c.execute("SELECT id, sent_at FROM reminders WHERE case_id = ? AND unit_id = ? "
                                           "AND note = ?", (case_id, unit, note)) if _local_day(r["sent_at"]) == today]
        if same:
            return _public(get(store, same[0]), registry, unchanged=True)
        reminder_id = c.insert("INSERT INTO reminders (case_id, unit_id, note, due_on, sent_by, key_id, sent_at) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (case_id, unit, note, case["due_on"], principal.name, principal.key_id, now()))
    logger.info("reminder %s sent for case %s", reminder_id, case_id)
    return _public(get(store, reminder_id), registry)


def send_many(store: Store, registry: RegistryHolder, *, department: str, figure: str, as_of: date, note: str,
              principal: Principal) -> dict:
    """Remind a unit of each of its items behind one ledger figure (``overdue`` or ``due_soon``) as of a date."""
    items = ledger.supervision_items(store, registry, as_of=as_of, figure=figure, department=department)
    sent, skipped = [], []
    for item in items["data"]:
        try:
            sent.append(send(store, registry, item["id"], note, principal=principal))
        except Conflict as exc:  # closed after ``as_of``: nothing to press for
            if exc.code != "case_not_assigned":
                raise
            skipped.append(item["id"])
    return {"department": items["department"], "figure": figure, "as_of": as_of, "data": sent, "count": len(sent),
            "new": sum(not r["unchanged"] for r in sent), "skipped": skipped}


def listing(store: Store, registry: RegistryHolder, *, principal: Principal, case_id: int | None = None,
            department: str | None = None, unacknowledged: bool = False) -> list[dict]:
    """Reminders newest first; a unit-scoped key sees those of the items its unit may see."""
    sql, where, args = _SELECT, [], []
    if case_id is not None:
        where.append("r.case_id = ?")
        args.append(case_id)
    if unacknowledged:
        where.append("r.acknowledged_at IS NULL")
    if where:
        sql += " WHERE " + " AND ".join(where)
    with store.reader() as c:
        rows = [dict(r) for r in c.execute(sql + " ORDER BY r.id DESC", args)]
    if department:
        unit = registry.resolve(department, field="department").id
        rows = [r for r in rows if registry.current_id(r["unit_id"]) == unit]
    ids = scope.unit_ids(principal, registry)
    rows = [r for r in rows if scope.visible(_case_of(r), ids)]
    return [_public(r, registry) for r in rows]


def _case_of(row: dict) -> dict:
    return {"lead_id": row["lead_id"], "co_ids": json.loads(row["co_ids"] or "[]")}


def acknowledge(store: Store, registry: RegistryHolder, reminder_id: int, *, principal: Principal) -> dict:
    """The unit has seen the reminder; again answers the first acknowledgement (``unchanged``)."""
    row = get(store, reminder_id)
    scope.check(store.get_case(row["case_id"]), principal, registry, row["case_id"])
    if principal.unit_id and registry.current_id(principal.unit_id) != registry.current_id(row["unit_id"]):
        raise Conflict("只有被催办的主办单位可以确认已阅", code="not_the_lead", details={"field": "unit"})
    if row["acknowledged_at"]:
        return _public(row, registry, unchanged=True)
    with store.transaction() as c:
        c.execute("UPDATE reminders SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ? "
                  "AND acknowledged_at IS NULL", (principal.name, now(), reminder_id))
    return _public(get(store, reminder_id), registry)


def figures(store: Store, registry: RegistryHolder, *, only: set[str] | None = None) -> dict:
    """Per unit (today's): reminders sent, items reminded, reminders not yet acknowledged, and reminded items
    still open."""
    with store.reader() as c:
        rows = [dict(r) for r in c.execute(_SELECT)]
    rows = [r for r in rows if scope.visible(_case_of(r), only)]
    sent: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    items: dict[str, set[int]] = {}
    open_items: dict[str, set[int]] = {}
    for r in rows:
        unit = registry.current_id(r["unit_id"])
        sent[unit] += 1
        items.setdefault(unit, set()).add(r["case_id"])
        if r["case_status"] != "closed":
            open_items.setdefault(unit, set()).add(r["case_id"])
        if not r["acknowledged_at"]:
            waiting[unit] += 1
    data = [{"department": registry.ref(u), "reminders": sent[u], "items": len(items[u]),
             "unacknowledged": waiting[u], "still_open": len(open_items.get(u, ()))}
            for u in sorted(sent, key=lambda u: (-sent[u], u))]
    return {"data": data, "count": len(data), "reminders": sum(sent.values())}
