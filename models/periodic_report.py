"""定期报告 (the periodic 通报): the supervision figures of a date range, as an XLSX workbook (a summary sheet and one
sheet per unit); the printable HTML page is in ``models.report_html``. Both the API and ``jiaoban report`` build it
here, from the store file (``models.supervision``), so the two doors give the same report.

The period is the items assigned from ``start`` to ``end``, counted as of ``end``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from models import supervision
from models.cells import safe_cell, sheet_name
from models.db import Database
from models.departments import DepartmentRegistry
from models.supervision import Item

RATE_FORMAT = "0.0%"
ITEM_HEADER = ("序号", "编号", "类型", "标题", "交办日期", "答复期限", "办结日期", "办理状态", "距期限天数", "答复类别",
               "满意度", "不满意", "重新办理", "催办次数")
WIDTHS = {"承办单位": 24, "标题": 48, "编号": 16, "交办日期": 12, "答复期限": 12, "办结日期": 12, "办理状态": 12}


@dataclass
class PeriodicReport:
    start: date
    end: date
    as_of: date
    city: str
    categories: list[str]
    units: list[dict]  # supervision.by_unit rows
    total: dict
    items: dict[str, list[Item]]  # unit id -> its items, most urgent first
    overdue: list[Item]
    due_soon: list[Item]

    @property
    def title(self) -> str:
        return f"{self.city}人大代表建议和政协提案办理情况通报"

    @property
    def subtitle(self) -> str:
        return f"交办日期 {self.start.isoformat()} 至 {self.end.isoformat()}，统计截至 {self.as_of.isoformat()}"

    def summary_header(self) -> list[str]:
        return ["序号", "承办单位", "交办件数", "已办结", "按时办结", "逾期办结", "未办结", "超期未办结", "14天内到期",
                "办结率", "按时办结率", *(f"{c}类" for c in self.categories), f"{self.categories[0]}类比例",
                "满意率", "不满意件数", "重新办理", "重新办理已办结", "重新办理中", "催办次数", "被催办件数"]

    def summary_row(self, n: int | str, name: str, f: dict) -> list:
        return [n, name, f["assigned"], f["closed"], f["on_time"], f["closed_late"], f["open"], f["overdue"],
                f["due_soon"], f["closure_rate"], f["on_time_rate"], *(f["categories"][c] for c in self.categories),
                f["a_rate"], f["satisfaction_rate"], f["unsatisfied"], f["reopened"], f["reopened_closed"],
                f["reopened_open"], f["reminders"], f["reminded"]]

    def summary_rows(self) -> list[list]:
        rows = [self.summary_row(n, u["department"]["name"], u) for n, u in enumerate(self.units, start=1)]
        return [*rows, self.summary_row("", "合计", self.total)]


def build_report(database: str | Path | Database, registry: DepartmentRegistry | None, *, start: date, end: date,
                 categories: list[str], as_of: date | None = None) -> PeriodicReport:
    """The report of the items assigned from ``start`` to ``end``, as of ``as_of`` (default: ``end``).

    Raises:
        SupervisionError: the range is reversed, or the store cannot be read.
    """
    period = supervision.Period(as_of=as_of or end, start=start, end=end)
    items = supervision.read_items(database, period, registry)
    units = supervision.by_unit(items, registry, categories)
    return PeriodicReport(
        start=start, end=end, as_of=period.as_of, city=registry.city if registry else "", categories=categories,
        units=units, total=supervision.summarise(items, categories),
        items={u["department"]["id"]: supervision.select(items, unit=u["department"]["id"]) for u in units},
        overdue=supervision.select(items, figure="overdue"), due_soon=supervision.select(items, figure="due_soon"))


def item_row(n: int, i: Item) -> list:
    return [n, i.case_no or f"#{i.id}", i.kind, i.title, i.assigned_on.isoformat(),
            i.due_on.isoformat() if i.due_on else "", i.closed_on.isoformat() if i.closed_on else "", i.status,
            i.days_left, i.category, i.feedback, "是" if i.unsatisfied else "", rehandling(i), i.reminders or ""]


def rehandling(i: Item) -> str:
    if not i.reopened:
        return ""
    return "已再次办结" if i.closed_on else "重新办理中"


# -- XLSX ----------------------------------------------------------------------------------------------------------
def _sheet(ws: Worksheet, title: str, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    """A title line, a bold header (frozen, with the first column), the rows; every text cell stored as text."""
    ws.append([safe_cell(title)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(list(header))
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for values in rows:
        ws.append([None if v is None else safe_cell(v) for v in values])
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, whatever it starts with
            elif isinstance(cell.value, float) and str(ws.cell(row=2, column=cell.column).value).endswith(
                    ("率", "比例")):
                cell.number_format = RATE_FORMAT
    for i, name in enumerate(header, start=1):
        width = WIDTHS.get(name, max(8, len(name) * 2 + 2))
        ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = width
    ws.freeze_panes = "C3"
    ws.auto_filter.ref = f"A2:{ws.cell(row=max(2, ws.max_row), column=len(header)).coordinate}"


def to_xlsx(report: PeriodicReport) -> bytes:
    """汇总 (one row per unit and 合计) and one sheet per unit with its items."""
    wb = Workbook()
    summary = wb.active
    summary.title = "汇总"
    _sheet(summary, f"{report.title}（{report.subtitle}）", report.summary_header(), report.summary_rows())
    taken = {"汇总"}
    for unit in report.units:
        dept = unit["department"]
        rows = [item_row(n, i) for n, i in enumerate(report.items[dept["id"]], start=1)]
        title = (f"{dept['name']}：交办 {unit['assigned']} 件，已办结 {unit['closed']} 件，"
                 f"超期未办结 {unit['overdue']} 件（{report.subtitle}）")
        _sheet(wb.create_sheet(sheet_name(dept["name"], taken)), title, ITEM_HEADER, rows)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
