"""The supervision figures (督办台账) per unit, read from the case store (SQLite or PostgreSQL) with plain SQL.

Both the API (``api.ledger``) and the CLI (``jiaoban report``) use this module, so the ledger page and the periodic
report count the same way; it reads the store itself (``models.db``) because ``training`` may not import ``api``.

An item counts when it has a lead unit and an assignment date on or before ``as_of`` (and, given a range, within it).
As of ``as_of``:
    closed       closed on or before ``as_of`` (a reopened item is open again until it is closed again);
    on time      closed on or before its due date; closed late: closed after it;
    open         not closed; overdue: open and past its due date; due soon: open, due within the next 14 days;
    categories   reply categories of the closed items; satisfaction: 满意 or 基本满意 over closed items with feedback;
    points       of closed items whose reply's coverage was computed (api.aids.refresh_coverage): the item's points
                 and how many of them the latest reply answers (models.coverage);
    不满意       an item that received 不满意 feedback in any reply recorded by ``as_of`` (so an item re-handled
                 since, and now satisfied, still shows that it was once unsatisfied);
    重新办理     an item reopened after a closure on or before ``as_of``: re-closed, or still being handled.
Units are today's: a case led by a unit merged since counts for the unit that carries its duties.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from models import clock
from models.db import Connection, Database, DatabaseUnavailable, is_postgres
from models.db import Error as DatabaseError
from models.departments import DepartmentRegistry

DUE_SOON_DAYS = 14
SATISFIED = ("满意", "基本满意")
UNSATISFIED = "不满意"
# The figures an item list can be drilled down to, with their names in reports.
FIGURES = {"assigned": "交办件数", "closed": "已办结", "on_time": "按时办结", "closed_late": "逾期办结",
           "open": "未办结", "overdue": "超期未办结", "due_soon": "14天内到期", "unsatisfied": "不满意",
           "reopened": "重新办理"}


class SupervisionError(ValueError):
    """A period or store the figures cannot be computed for; the message says what to change."""


@dataclass(frozen=True)
class Period:
    """Items assigned from ``start`` to ``end`` (either may be open), their state as of ``as_of``."""

    as_of: date
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise SupervisionError(f"日期范围有误：开始日期 {self.start} 晚于结束日期 {self.end}，请把开始日期放在前面")
        if self.start and self.as_of < self.start:
            raise SupervisionError(f"统计日期 {self.as_of} 早于交办开始日期 {self.start}：此时还没有交办的件")


@dataclass
class Item:
    id: int
    case_no: str | None
    kind: str
    year: int | None
    title: str
    unit_id: str  # today's unit
    lead_id: str
    co_ids: list[str]
    assigned_on: date
    due_on: date | None
    closed_on: date | None  # None when not closed as of the period's date
    category: str
    feedback: str
    unsatisfied: bool
    reopened: bool
    days_left: int | None
    figures: set[str] = field(default_factory=set)
    points: int | None = None  # the item's points and how many the latest reply answers (None: not computed)
    points_answered: int | None = None
    reminders: int = 0  # 催办 sent for it up to the period's date

    @property
    def status(self) -> str:
        """The item's state in words, for lists and sheets."""
        if self.closed_on:
            return "逾期办结" if "closed_late" in self.figures else "已办结"
        if "overdue" in self.figures:
            return "超期未办结"
        return "即将到期" if "due_soon" in self.figures else "办理中"


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


_ITEMS_SQL = """
SELECT c.id, c.case_no, c.kind, c.year, c.title, c.lead_id, c.co_ids, c.status, c.assigned_on, c.due_on,
       c.closed_on, c.category, c.feedback,
       EXISTS (SELECT 1 FROM outcomes o WHERE o.case_id = c.id AND o.feedback = '不满意'
               AND (o.closed_on IS NULL OR o.closed_on <= :as_of)) AS unsatisfied,
       EXISTS (SELECT 1 FROM outcomes r WHERE r.case_id = c.id AND r.closed_on IS NULL
               AND EXISTS (SELECT 1 FROM outcomes o WHERE o.case_id = c.id AND o.id < r.id
                           AND o.closed_on IS NOT NULL AND o.closed_on <= :as_of)) AS reopened,
       (SELECT r.points FROM reply_coverage r WHERE r.case_id = c.id ORDER BY r.outcome_id DESC LIMIT 1) AS points,
       (SELECT r.answered FROM reply_coverage r WHERE r.case_id = c.id ORDER BY r.outcome_id DESC LIMIT 1)
           AS points_answered,
       (SELECT COUNT(*) FROM reminders m WHERE m.case_id = c.id AND m.sent_at < :after) AS reminders
FROM cases c
WHERE c.lead_id IS NOT NULL AND c.assigned_on IS NOT NULL AND c.assigned_on <= :as_of
  AND (:start IS NULL OR c.assigned_on >= :start) AND (:end IS NULL OR c.assigned_on <= :end)
ORDER BY c.id
"""


@contextmanager
def connect(database: str | Path | Database) -> Iterator[Connection]:
    """A connection to the case store: a SQLite file or a PostgreSQL URL (opened read-only), or the service's own
    ``Database``; raises SupervisionError when there is none, or it is not a case store."""
    if isinstance(database, Database):
        db, own = database, False
    elif not is_postgres(database) and not Path(database).is_file():
        raise SupervisionError(f"找不到案件库 {database}：请检查 JIAOBAN_DATABASE 或 --database")
    else:
        db, own = Database(database, readonly=True), True
    try:
        with db.reader() as conn:
            yield conn
    except DatabaseUnavailable as exc:
        raise SupervisionError(str(exc)) from None
    except DatabaseError as exc:
        raise SupervisionError(f"“{db.describe()}”不是交办助手的案件库（{exc}）") from None
    finally:
        if own:
            db.close()


def store_registry(database: str | Path | Database) -> DepartmentRegistry | None:
    """The latest department registry saved in the store (the one the service uses), or None."""
    with connect(database) as conn:
        row = conn.execute("SELECT data FROM registry_snapshots ORDER BY id DESC LIMIT 1").fetchone()
    return DepartmentRegistry.from_dict(json.loads(row[0])) if row else None


def today_unit(registry: DepartmentRegistry | None, dept_id: str) -> str:
    return registry.current(dept_id).id if registry is not None and dept_id in registry else dept_id


def unit_ref(registry: DepartmentRegistry | None, dept_id: str | None) -> dict | None:
    """``{id, name, short_name}`` for a unit id (the id alone when the registry does not know it)."""
    if not dept_id:
        return None
    if registry is not None and dept_id in registry:
        d = registry.get(dept_id)
        return {"id": d.id, "name": d.name, "short_name": d.short_name}
    return {"id": dept_id, "name": dept_id, "short_name": ""}


def _figures(item: Item, as_of: date) -> set[str]:
    out = {"assigned"}
    due = item.due_on
    if item.closed_on:
        out.add("closed")
        if due:
            out.add("on_time" if item.closed_on <= due else "closed_late")
    else:
        out.add("open")
        if due and due < as_of:
            out.add("overdue")
        elif due and due <= as_of + timedelta(days=DUE_SOON_DAYS):
            out.add("due_soon")
    if item.unsatisfied:
        out.add("unsatisfied")
    if item.reopened:
        out.add("reopened")
    return out


def read_items(database: str | Path | Database, period: Period, registry: DepartmentRegistry | None) -> list[Item]:
    """Every item of the period with its state as of the period's date, oldest case first."""
    args = {"as_of": period.as_of.isoformat(), "after": clock.day_end_utc(period.as_of),
            "start": period.start and period.start.isoformat(),
            "end": period.end and period.end.isoformat()}
    with connect(database) as conn:
        rows = conn.execute(_ITEMS_SQL, args).fetchall()
    items = []
    for r in rows:
        closed_on = _day(r["closed_on"]) if r["status"] == "closed" else None
        if closed_on and closed_on > period.as_of:
            closed_on = None
        due = _day(r["due_on"])
        item = Item(id=r["id"], case_no=r["case_no"], kind=r["kind"], year=r["year"], title=r["title"],
                    unit_id=today_unit(registry, r["lead_id"]), lead_id=r["lead_id"],
                    co_ids=json.loads(r["co_ids"] or "[]"), assigned_on=date.fromisoformat(r["assigned_on"]),
                    due_on=due, closed_on=closed_on, category=r["category"] if closed_on else "",
                    feedback=r["feedback"] if closed_on else "", unsatisfied=bool(r["unsatisfied"]),
                    reopened=bool(r["reopened"]), days_left=(due - period.as_of).days if due and not closed_on
                    else None, points=r["points"] if closed_on else None,
                    points_answered=r["points_answered"] if closed_on else None, reminders=int(r["reminders"] or 0))
        item.figures = _figures(item, period.as_of)
        items.append(item)
    return items


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summarise(items: Iterable[Item], categories: list[str]) -> dict:
    """The figures of a group of items (one unit's, or all of them for the total)."""
    items = list(items)
    n = {name: sum(name in i.figures for i in items) for name in FIGURES}
    closed = [i for i in items if i.closed_on]
    by_category = {c: sum(i.category == c for i in closed) for c in categories}
    categorised = sum(1 for i in closed if i.category)
    with_feedback = [i for i in closed if i.feedback]
    satisfied = sum(i.feedback in SATISFIED for i in with_feedback)
    reclosed = sum(bool(i.closed_on) for i in items if i.reopened)
    points = sum(i.points or 0 for i in closed)
    answered = sum(i.points_answered or 0 for i in closed)
    first = categories[0] if categories else "A"
    return {
        **n,
        "closure_rate": _rate(n["closed"], n["assigned"]),
        "on_time_rate": _rate(n["on_time"], n["on_time"] + n["closed_late"]),
        "categories": by_category,
        "a_rate": _rate(by_category.get(first, 0), categorised),
        "with_feedback": len(with_feedback),
        "satisfied": satisfied,
        "satisfaction_rate": _rate(satisfied, len(with_feedback)),
        "reopened_closed": reclosed,
        "reopened_open": n["reopened"] - reclosed,
        "points": points,
        "points_answered": answered,
        "points_answered_rate": _rate(answered, points),
        "reminders": sum(i.reminders for i in items),
        "reminded": sum(i.reminders > 0 for i in items),
    }


def by_unit(items: list[Item], registry: DepartmentRegistry | None, categories: list[str]) -> list[dict]:
    """One row of figures per unit (today's), most overdue first, then most items, then by id."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.unit_id, []).append(item)
    rows = [{"department": unit_ref(registry, unit), **summarise(group, categories)} for unit, group in groups.items()]
    rows.sort(key=lambda r: (-r["overdue"], -r["assigned"], r["department"]["id"]))
    return rows


def select(items: Iterable[Item], *, unit: str | None = None, figure: str = "assigned",
           category: str | None = None) -> list[Item]:
    """The items behind one figure (of one unit, of one reply category), most urgent first."""
    if figure not in FIGURES:
        raise SupervisionError(f"未知的统计项“{figure}”：可选 {'、'.join(FIGURES)}")
    chosen = [i for i in items if figure in i.figures and (unit is None or i.unit_id == unit)
              and (category is None or i.category == category)]
    return sorted(chosen, key=urgency)


def urgency(item: Item) -> tuple:
    """Open items first, soonest (most overdue) due date first; then closed ones by closing date."""
    if item.closed_on is None:
        return (0, item.due_on or date.max, item.id)
    return (1, item.closed_on, item.id)
