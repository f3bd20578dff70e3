"""A session as Excel workbooks: the whole review (one row per item, plus the rows that could not be read) and the
交办清单 with one sheet per lead department for distribution. Every text cell is written as text, never as a formula
(models.cells); headers are frozen and columns sized to be read.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from models.cells import safe_cell, sheet_name

SESSION_HEADER = ("行号", "编号", "类型", "标题", "提案人", "主办", "协办", "建议主办", "置信度", "需复核", "复核原因",
                  "并案组", "往年重复", "受理提示", "状态", "决定人", "交办日期", "答复期限")
HANDOUT_HEADER = ("序号", "编号", "类型", "标题", "提案人", "主办", "协办", "交办日期", "答复期限", "并案组")
ERRORS_HEADER = ("行号", "字段", "问题")
WIDTHS = {"标题": 48, "复核原因": 36, "往年重复": 36, "受理提示": 40, "协办": 28,
          "主办": 22, "建议主办": 22, "问题": 70, "提案人": 14}
STATUS = {"open": "待交办", "assigned": "已交办", "closed": "已办结"}


def _names(refs: Sequence[dict | None]) -> str:
    return "、".join(r["name"] for r in refs if r)


def _group(row: dict) -> str:
    g = row.get("group")
    return f"第{g['no']}组（行 {'、'.join(map(str, g['rows']))}）" if g else ""


def _repeat(row: dict) -> str:
    rep = (row.get("suggestion") or {}).get("repeat_of")
    if not rep:
        return ""
    head = f"{rep.get('year') or ''}年 {rep.get('case_no') or ''}"
    return f"{head}《{rep.get('title') or ''}》（相似度 {rep['similarity']:.0%}）"


def _admissibility(row: dict) -> str:
    """The pre-screen's flags as 'code 名称' joined by '；' (blank when none)."""
    flags = (row.get("suggestion") or {}).get("admissibility") or []
    return "；".join(f"{f['code']} {f['name']}" for f in flags)


def _sheet(ws: Worksheet, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center")
    for values in rows:
        ws.append([None if v is None else safe_cell(v) for v in values])
    for col in ws.iter_cols(min_row=2):
        for cell in col:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, whatever it starts with
    for i, name in enumerate(header, start=1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = WIDTHS.get(name, max(8, len(name) * 2 + 2))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def session_rows(rows: list[dict]) -> list[list]:
    out = []
    for r in rows:
        s = r.get("suggestion") or {}
        d = r.get("decision") or {}
        top = (s.get("lead") or [{}])[0]
        out.append([
            r["row"], r["case_no"] or "", r["kind"], r["title"], r["proposer"],
            (d.get("lead") or {}).get("name", ""), _names(d.get("co_handlers") or []) if d else
            _names(s.get("co_handlers") or []),
            top.get("name", ""), round(top["probability"], 4) if "probability" in top else None,
            "是" if r["needs_review"] else ("" if r["routed"] else "未分析"), s.get("review_reason", ""),
            _group(r), _repeat(r), _admissibility(r), STATUS.get(r["status"], r["status"]), d.get("decided_by") or "",
            d.get("assigned_on") or "", d.get("due_on") or "",
        ])
    return out


def _title_sheet(wb: Workbook, session: dict, lines: Sequence[tuple[str, object]]) -> None:
    ws = wb.active
    ws.title = "说明"
    for key, value in [("会次", session["name"]), ("会议日期", session.get("held_on") or ""), *lines]:
        ws.append([key, safe_cell(value) if isinstance(value, str) else value])
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 60


def session_workbook(session: dict, rows: list[dict], errors: list[dict]) -> bytes:
    """The whole session: every row in sheet order, and a sheet 未能读取的行 with each bad row and why."""
    wb = Workbook()
    _title_sheet(wb, session, [("条目数", len(rows)), ("需复核", sum(r["needs_review"] for r in rows)),
                               ("已交办", sum(r["decision"] is not None for r in rows)),
                               ("未能读取的行", len({e["row"] for e in errors}))])
    _sheet(wb.create_sheet("交办建议与决定"), SESSION_HEADER, session_rows(sorted(rows, key=lambda r: r["row"])))
    _sheet(wb.create_sheet("未能读取的行"), ERRORS_HEADER, [[e["row"], e["field"], e["message"]] for e in errors])
    return _bytes(wb)


def handout_workbook(session: dict, rows: list[dict]) -> bytes:
    """交办清单: one sheet per lead department (its items, co-handlers, due dates); items not decided yet on a sheet
    of their own, so nothing of the session is left out."""
    by_lead: dict[str, list[dict]] = {}
    undecided = []
    for r in sorted(rows, key=lambda r: r["row"]):
        if r["decision"] and r["decision"]["lead"]:
            by_lead.setdefault(r["decision"]["lead"]["name"], []).append(r)
        else:
            undecided.append(r)
    wb = Workbook()
    _title_sheet(wb, session, [("主办单位数", len(by_lead)), ("已交办条目", sum(map(len, by_lead.values()))),
                               ("尚未交办", len(undecided))]
                 + [(f"  {name}", len(items)) for name, items in sorted(by_lead.items())])
    taken = {"说明"}
    for name, items in sorted(by_lead.items()):
        _sheet(wb.create_sheet(sheet_name(name, taken)), HANDOUT_HEADER, [
            [n, r["case_no"] or "", r["kind"], r["title"], r["proposer"], name,
             _names(r["decision"]["co_handlers"]), r["decision"]["assigned_on"] or "", r["decision"]["due_on"] or "",
             _group(r)] for n, r in enumerate(items, start=1)])
    if undecided:
        _sheet(wb.create_sheet(sheet_name("尚未交办", taken)), ("行号", "编号", "类型", "标题", "建议主办", "需复核"), [
            [r["row"], r["case_no"] or "", r["kind"], r["title"],
             ((r["suggestion"] or {}).get("lead") or [{}])[0].get("name", ""), "是" if r["needs_review"] else ""]
            for r in undecided])
    return _bytes(wb)


def _bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
