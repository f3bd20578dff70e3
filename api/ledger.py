"""The supervision ledger (台账): open cases by lead department with due dates, overdue cases, yearly figures.

Definitions (also in docs/api.md):
    open        assigned and not yet closed;
    overdue     open and past its due date (assignment date + JIAOBAN_DUE_MONTHS unless set on the decision);
    on time     closed on or before the due date (rate over closed cases with a known due date);
    A-rate      A replies over closed cases with a category;
    satisfied   满意 or 基本满意, over cases with feedback.

The supervision ledger (per unit as of a date, with drill-down) computes with ``models.supervision``, which the
periodic report (``models.periodic_report``) and ``jiaoban report`` share.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from api import aids
from api.casework import add_months, as_date
from api.errors import Unprocessable
from api.registry import RegistryHolder
from api.scope import visible
from api.store import Store
from models import supervision
from models.periodic_report import PeriodicReport, build_report


def _ledger_case(case: dict, registry: RegistryHolder, as_of: date) -> dict:
    due = as_date(case["due_on"])
    return {
        **{k: case[k] for k in ("id", "case_no", "kind", "year", "title")},
        "lead": registry.ref(case["lead_id"]),
        "assigned_on": as_date(case["assigned_on"]),
        "due_on": due,
        "days_left": (due - as_of).days if due else None,
        "overdue": due is not None and due < as_of,
    }


def _open_cases(store: Store, registry: RegistryHolder, *, department: str | None, year: int | None,
                only: set[str] | None = None) -> list[dict]:
    clause, args = "status = 'assigned'", []
    if year is not None:
        clause += " AND year = ?"
        args.append(year)
    cases = [c for c in store.cases_where(clause, tuple(args)) if visible(c, only)]
    if department is not None:
        dept = registry.resolve(department, field="department")
        cases = [c for c in cases if c["lead_id"] and registry.current_id(c["lead_id"]) == dept.id]
    return cases


def open_by_department(store: Store, registry: RegistryHolder, *, as_of: date, department: str | None = None,
                       year: int | None = None, only: set[str] | None = None) -> dict:
    groups: dict[str, list[dict]] = defaultdict(list)
    for case in _open_cases(store, registry, department=department, year=year, only=only):
        groups[registry.current_id(case["lead_id"])].append(_ledger_case(case, registry, as_of))
    data = []
    for dept_id, cases in groups.items():
        cases.sort(key=lambda c: (c["due_on"] is None, c["due_on"] or as_of))
        data.append({"department": registry.ref(dept_id), "count": len(cases),
                     "overdue_count": sum(c["overdue"] for c in cases), "cases": cases})
    data.sort(key=lambda g: (-g["overdue_count"], -g["count"], g["department"]["id"]))
    return {"as_of": as_of, "data": data, "count": sum(g["count"] for g in data)}


def overdue(store: Store, registry: RegistryHolder, *, as_of: date, department: str | None = None,
            only: set[str] | None = None) -> dict:
    cases = [_ledger_case(c, registry, as_of)
             for c in _open_cases(store, registry, department=department, year=None, only=only)]
    late = sorted((c for c in cases if c["overdue"]), key=lambda c: c["due_on"])
    return {"as_of": as_of, "data": late, "count": len(late)}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(store: Store, registry: RegistryHolder, *, year: int, due_months: int) -> dict:
    """Per lead department (today's unit): items, closed, on-time, A-rate and satisfaction for one year."""
    acc: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for c in store.cases_where("year = ? AND lead_id IS NOT NULL", (year,)):
        f = acc[registry.current_id(c["lead_id"])]
        f["items"] += 1
        if c["status"] == "closed":
            f["closed"] += 1
            assigned, closed = as_date(c["assigned_on"]), as_date(c["closed_on"])
            due = as_date(c["due_on"]) or (add_months(assigned, due_months) if assigned else None)
            if due and closed:
                f["with_due"] += 1
                f["on_time"] += closed <= due
            if c["category"]:
                f["categorised"] += 1
                f["a_count"] += c["category"] == "A"
        if c["feedback"]:
            f["with_feedback"] += 1
            f["satisfied"] += c["feedback"] in ("满意", "基本满意")
    data = [
        {
            "department": registry.ref(dept_id),
            **{k: f[k] for k in ("items", "closed", "on_time", "a_count", "satisfied", "with_feedback")},
            "on_time_rate": _rate(f["on_time"], f["with_due"]),
            "a_rate": _rate(f["a_count"], f["categorised"]),
            "satisfaction_rate": _rate(f["satisfied"], f["with_feedback"]),
        }
        for dept_id, f in sorted(acc.items(), key=lambda kv: -kv[1]["items"])
    ]
    return {"year": year, "data": data, "count": len(data)}


# -- supervision (督办台账): the figures of models.supervision, shared with the periodic report ----------------------
def _period(as_of: date, start: date | None, end: date | None) -> supervision.Period:
    try:
        return supervision.Period(as_of=as_of, start=start, end=end)
    except supervision.SupervisionError as exc:
        raise Unprocessable(str(exc), code="bad_period", details={"field": "start"}) from None


def _items(store: Store, registry: RegistryHolder, period: supervision.Period,
           only: set[str] | None) -> list[supervision.Item]:
    items = supervision.read_items(store.db, period, registry.registry)
    return [i for i in items if only is None or i.lead_id in only or any(c in only for c in i.co_ids)]


def item_public(item: supervision.Item, registry: RegistryHolder) -> dict:
    return {**{k: getattr(item, k) for k in ("id", "case_no", "kind", "year", "title", "assigned_on", "due_on",
                                             "closed_on", "days_left", "category", "feedback", "unsatisfied",
                                             "reopened", "status")},
            "lead": registry.ref(item.unit_id), "overdue": "overdue" in item.figures, "figures": sorted(item.figures)}


def supervision_ledger(store: Store, registry: RegistryHolder, *, as_of: date, start: date | None = None,
                       end: date | None = None, categories: list[str], only: set[str] | None = None) -> dict:
    """Per unit and in total: assigned, closed, on time, overdue, due soon, open, rates, category mix, 不满意 and
    重新办理, for the items assigned in the range, as of ``as_of``."""
    period = _period(as_of, start, end)
    aids.refresh_coverage(store)
    items = _items(store, registry, period, only)
    return {"as_of": as_of, "start": start, "end": end, "due_soon_days": supervision.DUE_SOON_DAYS,
            "categories": categories, "data": supervision.by_unit(items, registry.registry, categories),
            "total": supervision.summarise(items, categories), "count": len(items)}


def supervision_items(store: Store, registry: RegistryHolder, *, as_of: date, figure: str,
                      department: str | None = None, category: str | None = None, start: date | None = None,
                      end: date | None = None, only: set[str] | None = None) -> dict:
    """The items behind one figure of the supervision ledger (of one unit, when given), most urgent first."""
    unit = registry.resolve(department, field="department").id if department else None
    items = supervision.select(_items(store, registry, _period(as_of, start, end), only), unit=unit, figure=figure,
                               category=category)
    data = [item_public(i, registry) for i in items]
    return {"as_of": as_of, "figure": figure, "department": registry.ref(unit), "data": data, "count": len(data)}


def periodic_report(store: Store, registry: RegistryHolder, *, start: date, end: date,
                    categories: list[str]) -> PeriodicReport:
    """定期报告 of the cases assigned from ``start`` to ``end``, as of ``end`` (the same report `jiaoban report`
    writes)."""
    try:
        return build_report(store.db, registry.registry, start=start, end=end, categories=categories)
    except supervision.SupervisionError as exc:
        raise Unprocessable(str(exc), code="bad_period", details={"field": "start"}) from None
