"""Cases: create, import, decide, record outcomes, export for retraining. Plain functions the routes call."""

from __future__ import annotations

import calendar
import logging
from datetime import date, datetime, timezone
from pathlib import Path

from api import assign
from api.auth import Principal
from api.config import Settings
from api.errors import Conflict, NotFound, Unprocessable
from api.registry import RegistryHolder
from api.schemas import CaseCreate, DecisionCreate, OutcomeCreate
from api.store import Store
from models import clock, rules
from models.casefile import write_cases
from models.db import IntegrityError
from models.records import CaseRecord, RowError
from models.service import RoutingService

logger = logging.getLogger(__name__)
HEADERS = {"lead": "主办单位", "co_handlers": "协办单位"}  # a ledger's usual headers
_ROW_ERRORS: tuple[type[Exception], ...] = (*IntegrityError, ValueError)  # a row that fails alone


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def as_date(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else value or None


def iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def case_public(case: dict, registry: RegistryHolder, today: date | None = None) -> dict:
    today = today or clock.today()
    due = as_date(case["due_on"])
    return {
        **{k: case[k] for k in ("id", "case_no", "kind", "year", "title", "body", "proposer", "status", "category",
                                "feedback", "source", "created_at", "updated_at")},
        "lead": registry.ref(case["lead_id"]),
        "co_handlers": [registry.ref(c) for c in case["co_ids"] or []],
        "assigned_on": as_date(case["assigned_on"]),
        "due_on": due,
        "closed_on": as_date(case["closed_on"]),
        "overdue": case["status"] == "assigned" and due is not None and due < today,
    }


def decision_public(d: dict, registry: RegistryHolder) -> dict:
    return {**d, "lead": registry.ref(d["lead_id"]), "co_handlers": [registry.ref(c) for c in d["co_ids"]]}


def get_case(store: Store, case_id: int) -> dict:
    case = store.get_case(case_id)
    if case is None:
        raise NotFound(f"案件 {case_id} 不存在", code="case_not_found", details={"case_id": case_id})
    return case


def case_detail(store: Store, registry: RegistryHolder, case_id: int) -> dict:
    case = get_case(store, case_id)
    decisions = [decision_public(d, registry) for d in store.decisions(case_id).values()]
    return {**case_public(case, registry), "suggestion": case["suggestion"], "decisions": decisions,
            "outcomes": store.outcomes(case_id)}


def create_case(store: Store, registry: RegistryHolder, data: CaseCreate, *, service: RoutingService | None,
                settings: Settings) -> dict:
    suggestion = assign.suggestion(service, data.title, data.body) if data.route else None
    values = data.model_dump(exclude={"route"})
    values.update(year=data.year or clock.today().year, suggestion=suggestion, source="api")
    try:
        case_id = store.create_case(values)
    except IntegrityError:
        existing = store.case_id_by_no(data.case_no or "")
        raise Conflict(f"编号“{data.case_no}”已存在（案件 {existing}），未重复创建", code="duplicate_case_no",
                       details={"field": "case_no", "case_id": existing}) from None
    return case_detail(store, registry, case_id)


def route_case(store: Store, case_id: int, *, service: RoutingService) -> dict:
    """Route a stored case again with the model in service and keep the result beside it."""
    case = get_case(store, case_id)
    suggestion = assign.suggestion(service, case["title"], case["body"])
    store.update_case(case_id, {"suggestion": suggestion})
    return suggestion


def record_decision(store: Store, registry: RegistryHolder, case_id: int, body: DecisionCreate, *,
                    principal: Principal, service: RoutingService | None, settings: Settings) -> dict:
    """Record the lead and co-handlers staff chose, beside the suggestion they were shown."""
    case = get_case(store, case_id)
    lead = registry.resolve(body.lead, field="lead")
    co = [(name, registry.resolve(name, field=f"co_handlers[{i}]")) for i, name in enumerate(body.co_handlers)]
    if problems := rules.co_handler_problems((body.lead, lead), co):  # a decision is among today's units
        i, message = problems[0]
        raise Unprocessable(f"字段“co_handlers[{i}]”：{message}", code="repeated_department",
                            details={"field": f"co_handlers[{i}]", "name": body.co_handlers[i]})
    co_ids = [dept.id for _, dept in co]
    assigned_on = body.assigned_on or as_date(case["assigned_on"]) or clock.today()
    due_on = body.due_on or add_months(assigned_on, settings.due_months)
    for fld, problem in (("due_on", rules.order_problem("assigned_on", assigned_on, "due_on", due_on)),
                         ("assigned_on", rules.order_problem("assigned_on", assigned_on, "closed_on",
                                                             as_date(case["closed_on"])))):
        if problem:
            raise Unprocessable(f"字段“{fld}”：{problem}", code="date_order", details={"field": fld})
    suggestion = case["suggestion"] or assign.suggestion(service, case["title"], case["body"])
    accepted = None if not suggestion else suggestion["lead"][0]["id"] == lead.id
    decision = store.add_decision(case_id, {
        "lead_id": lead.id, "co_ids": co_ids, "accepted": accepted, "suggestion": suggestion,
        "assigned_on": iso(assigned_on), "due_on": iso(due_on), "note": body.note,
        "decided_by": body.decided_by or principal.name, "key_id": principal.key_id,
    })
    logger.info("case %s assigned (%s)", case_id, "accepted" if accepted else "override")
    return decision_public(decision, registry)


def record_outcome(store: Store, case_id: int, body: OutcomeCreate, *, principal: Principal,
                   settings: Settings) -> dict:
    case = get_case(store, case_id)
    if case["lead_id"] is None:
        raise Conflict(f"案件 {case_id} 尚未交办，请先记录交办决定再登记答复", code="case_not_assigned")
    try:
        category = rules.category(body.category, settings.reply_categories)
    except rules.RuleError as exc:
        raise Unprocessable(f"字段“category”：{exc}", code="unknown_category",
                            details={"field": "category", "allowed": settings.reply_categories}) from None
    if problem := rules.order_problem("assigned_on", as_date(case["assigned_on"]), "closed_on", body.closed_on):
        raise Unprocessable(f"字段“closed_on”：{problem}", code="date_order", details={"field": "closed_on"})
    closed_on = as_date(case["closed_on"])
    if case["status"] == "closed" and body.closed_on is None and not body.reopen:
        raise Conflict(
            f"案件 {case_id} 已于 {iso(closed_on)} 办结：补充答复或满意度请填写 closed_on（办结日期，可沿用"
            f" {iso(closed_on)}）；确需重新办理请填写 reopen: true", code="case_closed",
            details={"field": "closed_on", "closed_on": iso(closed_on)})
    if body.reopen and case["status"] != "closed":
        raise Conflict(f"案件 {case_id} 尚未办结，无需重新办理（reopen）", code="case_not_closed",
                       details={"field": "reopen"})
    return store.add_outcome(case_id, {
        "reply": body.reply, "category": category, "feedback": body.feedback or "",
        "closed_on": iso(body.closed_on), "recorded_by": body.recorded_by or principal.name,
    })


# -- spreadsheets --------------------------------------------------------------------------------------------------
def case_values(rec: CaseRecord, *, kind: str | None, source: str) -> dict:
    return {"case_no": rec.case_no, "kind": rec.kind or kind or "建议", "title": rec.title, "body": rec.body,
            "proposer": rec.proposer, "source": source,
            "year": rec.year or (rec.assigned_on.year if rec.assigned_on else clock.today().year)}


def _insert_rows(store: Store, rows: list[tuple[CaseRecord, dict]], write) -> tuple[list[int | None], list[RowError]]:
    """Insert rows in one transaction, each under a savepoint: a failing row is reported, the others stay."""
    ids: list[int | None] = []
    errors: list[RowError] = []
    with store.transaction() as conn:
        for rec, values in rows:
            if rec.case_no and (existing := store.case_id_by_no(rec.case_no, conn=conn)):
                errors.append(RowError(rec.row, "编号", f"编号“{rec.case_no}”已存在（案件 {existing}），未重复导入"))
                ids.append(None)
                continue
            conn.execute("SAVEPOINT row")
            try:
                ids.append(write(conn, rec, values))
                conn.execute("RELEASE row")
            except _ROW_ERRORS as exc:
                conn.execute("ROLLBACK TO row")
                conn.execute("RELEASE row")
                errors.append(RowError(rec.row, "*", f"未能保存（{exc}）"))
                ids.append(None)
    return ids, errors


def import_cases(store: Store, registry: RegistryHolder, records: list[CaseRecord], *, principal: Principal,
                 settings: Settings, columns: dict[str, str]) -> tuple[list[int], list[RowError]]:
    """Import open or closed cases from a ledger; department names go through the registry."""
    reg = registry.registry
    good: list[tuple[CaseRecord, dict]] = []
    errors: list[RowError] = []
    for rec in records:
        lead_id, co_ids, problems = rules.ledger_handlers(reg, rec.lead, rec.co_handlers)
        row_errors = [RowError(rec.row, columns.get(fld, HEADERS[fld]), message) for fld, message in problems]
        rec.lead_id, rec.co_ids = lead_id, co_ids
        given = [label for label, value in (("协办单位", rec.co_handlers), ("交办日期", rec.assigned_on),
                                            ("答复", rec.reply or rec.category), ("满意度", rec.feedback),
                                            ("办结日期", rec.closed_on)) if value]
        if not rec.lead and given:  # they would be dropped: only a decision carries them
            row_errors.append(RowError(rec.row, columns.get("lead", "主办单位"),
                                       f"填写了{'、'.join(given)}的案件需要填写主办单位"))
        if rec.feedback and not (rec.reply or rec.closed_on or rec.category):
            row_errors.append(RowError(rec.row, columns.get("feedback", "满意度"),
                                       "满意度须与答复内容、答复类别或办结日期一同填写"))
        if rec.category:
            try:
                rules.category(rec.category, settings.reply_categories)
            except rules.RuleError as exc:
                row_errors.append(RowError(rec.row, columns.get("category", "答复类别"), str(exc)))
        if row_errors:
            errors.extend(row_errors)
        else:
            good.append((rec, case_values(rec, kind=None, source="import")))

    def write(conn, rec: CaseRecord, values: dict) -> int:
        case_id = store.create_case(values, conn=conn)
        if rec.lead_id:
            assigned = rec.assigned_on
            store.add_decision(case_id, {
                "lead_id": rec.lead_id, "co_ids": rec.co_ids,
                "accepted": None, "suggestion": None, "assigned_on": iso(assigned),
                "due_on": iso(add_months(assigned, settings.due_months)) if assigned else None,
                "note": "导入", "decided_by": principal.name, "key_id": principal.key_id}, conn=conn)
        if rec.reply or rec.closed_on or rec.category:
            store.add_outcome(case_id, {"reply": rec.reply, "category": rec.category, "feedback": rec.feedback,
                                        "closed_on": iso(rec.closed_on), "recorded_by": principal.name}, conn=conn)
        return case_id

    ids, write_errors = _insert_rows(store, good, write)
    logger.info("imported %d cases (%d rows with errors)", sum(i is not None for i in ids),
                len({e.row for e in errors + write_errors}))
    return [i for i in ids if i is not None], sorted(errors + write_errors, key=lambda e: e.row)


def export_closed(store: Store, registry: RegistryHolder, settings: Settings, *, year: int | None) -> tuple[Path, int]:
    """Write closed cases as the training CSV (and the registry beside it) under the exports directory."""
    reg = registry.registry
    records = []
    for i, c in enumerate(store.closed_cases(year), start=2):
        lead = reg.current(c["lead_id"]).name if c["lead_id"] in reg else c["lead_id"]
        co = [reg.current(x).name if x in reg else x for x in c["co_ids"]]
        records.append(CaseRecord(
            row=i, case_no=c["case_no"] or f"#{c['id']}", kind=c["kind"], year=c["year"], title=c["title"],
            body=c["body"], proposer=c["proposer"], lead=lead, co_handlers=co, assigned_on=as_date(c["assigned_on"]),
            reply=c["reply"] or "", category=c["category"], feedback=c["feedback"], closed_on=as_date(c["closed_on"])))
    settings.exports_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = settings.exports_dir / f"closed_cases-{year or 'all'}-{stamp}.csv"
    n = write_cases(records, path)
    reg.save(path.with_name(f"departments-{stamp}.json"))
    logger.info("exported %d closed cases to %s", n, path.name)
    return path, n
