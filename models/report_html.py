"""The periodic report (定期报告) as one printable HTML page in Chinese: figures, the summary table, the overdue and
due-soon lists, and bar charts drawn as inline SVG here (no plotting library; the browser renders the CJK text with
the fonts named in ``FONTS``). Every text from the store is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from models.periodic_report import PeriodicReport, rehandling
from models.supervision import Item

FONTS = ("'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', 'WenQuanYi Micro Hei', "
         "'SimHei', sans-serif")
COLOURS = {"按时办结": "#2e7d32", "逾期办结": "#f9a825", "办理中": "#90a4ae", "超期未办结": "#c62828",
           "办结率": "#1565c0", "满意率": "#6a1b9a"}
CATEGORY_COLOURS = ("#2e7d32", "#1565c0", "#ef6c00", "#6d4c41", "#546e7a")

CSS = f"""
body {{ font-family: {FONTS}; color: #222; margin: 24px auto; max-width: 1100px; padding: 0 16px; }}
h1 {{ font-size: 22px; text-align: center; margin-bottom: 4px; }}
.sub {{ text-align: center; color: #555; margin-top: 0; }}
h2 {{ font-size: 17px; border-left: 4px solid #c62828; padding-left: 8px; margin-top: 28px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; }}
th, td {{ border: 1px solid #999; padding: 4px 6px; text-align: center; }}
th {{ background: #eef1f5; }}
td.text {{ text-align: left; }}
tr.total td {{ font-weight: bold; background: #fafafa; }}
.kpis {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }}
.kpi {{ border: 1px solid #ccc; border-radius: 6px; padding: 8px 14px; min-width: 110px; text-align: center; }}
.kpi b {{ display: block; font-size: 20px; }}
figure {{ margin: 16px 0; page-break-inside: avoid; }}
figcaption {{ font-weight: bold; margin-bottom: 4px; }}
@media print {{ body {{ margin: 0; max-width: none; }} h2 {{ page-break-after: avoid; }}
  tr {{ page-break-inside: avoid; }} }}
@page {{ size: A4 landscape; margin: 12mm; }}
"""


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def bar_chart(caption: str, labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float | None]]], *,
              stacked: bool, percent: bool = False) -> str:
    """A horizontal bar chart as SVG: one row per label, ``series`` as (name, colour, values), stacked or side by
    side; ``percent`` values are fractions drawn against 100 %; a None value (a rate of nothing) is labelled 无数据."""
    left, width, row, top = 170, 520, 30 if stacked else 16 * len(series) + 12, 34
    height = top + row * len(labels) + 10
    if percent:
        scale = 1.0
    else:
        totals = [sum(v[i] or 0 for _, _, v in series) for i in range(len(labels))] if stacked else \
            [max(v[i] or 0 for _, _, v in series) for i in range(len(labels))]
        scale = max([*totals, 1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(caption)}" '
             f'viewBox="0 0 {left + width + 90} {height}" width="100%" style="max-width:{left + width + 90}px" '
             f'font-family="{escape(FONTS)}" font-size="12">']
    x = left
    for name, colour, _ in series:  # legend
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="16">{escape(name)}</text>')
        x += 30 + 13 * len(name)
    for i, label in enumerate(labels):
        y = top + i * row
        parts.append(f'<text x="{left - 8}" y="{y + row / 2 + 4:.0f}" text-anchor="end">{escape(label)}</text>')
        offset = 0.0
        for k, (name, colour, values) in enumerate(series):
            value = values[i]
            w = width * (value or 0) / scale
            bx, by, bh = (left + offset, y + 4, row - 8) if stacked else (left, y + 4 + 16 * k, 14)
            text = "无数据" if value is None else _pct(value) if percent else str(int(value))
            if w > 0:
                parts.append(f'<rect x="{bx:.1f}" y="{by}" width="{w:.1f}" height="{bh}" fill="{colour}">'
                             f'<title>{escape(label)} {escape(name)}：{text}</title></rect>')
            if not stacked:
                parts.append(f'<text x="{bx + w + 4:.1f}" y="{by + 11}">{text}</text>')
            elif w >= 18:
                parts.append(f'<text x="{bx + w / 2:.1f}" y="{by + bh / 2 + 4:.0f}" text-anchor="middle" '
                             f'fill="#fff">{text}</text>')
            offset += w
        if stacked and not percent:
            total = sum(v[i] or 0 for _, _, v in series)
            parts.append(f'<text x="{left + offset + 6:.1f}" y="{y + row / 2 + 4:.0f}">{int(total)}</text>')
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(caption)}</figcaption>{''.join(parts)}</figure>"


def charts(report: PeriodicReport) -> list[str]:
    names = [u["department"]["name"] for u in report.units]
    units = report.units
    progress = bar_chart("各单位办理进度（件）", names, [
        ("按时办结", COLOURS["按时办结"], [u["on_time"] for u in units]),
        ("逾期办结", COLOURS["逾期办结"], [u["closed_late"] for u in units]),
        ("办理中", COLOURS["办理中"], [u["open"] - u["overdue"] for u in units]),
        ("超期未办结", COLOURS["超期未办结"], [u["overdue"] for u in units]),
    ], stacked=True)
    rates = bar_chart("各单位办结率与满意率", names, [
        ("办结率", COLOURS["办结率"], [u["closure_rate"] for u in units]),
        ("满意率", COLOURS["满意率"], [u["satisfaction_rate"] for u in units]),
    ], stacked=False, percent=True)
    closed = max(1, sum(report.total["categories"].values()))
    mix = bar_chart("答复类别构成（已办结件）", ["全部单位", *names], [
        (f"{c}类", CATEGORY_COLOURS[k % len(CATEGORY_COLOURS)],
         [report.total["categories"][c] / closed,
          *(u["categories"][c] / max(1, sum(u["categories"].values())) for u in units)])
        for k, c in enumerate(report.categories)
    ], stacked=True, percent=True)
    return [progress, rates, mix]


def _table(header: Sequence[str], rows: Sequence[Sequence], *, text_columns: Sequence[int] = (),
           last_is_total: bool = False) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            shown = "—" if value is None else (_pct(value) if isinstance(value, float) else str(value))
            cls = ' class="text"' if c in text_columns else ""
            cells.append(f"<td{cls}>{escape(shown)}</td>")
        total = ' class="total"' if last_is_total and r == len(rows) - 1 else ""
        body.append(f"<tr{total}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _item_list(items: Sequence[Item], report: PeriodicReport, empty: str) -> str:
    if not items:
        return f"<p>{escape(empty)}</p>"
    names = {u["department"]["id"]: u["department"]["name"] for u in report.units}
    rows = [[n, i.case_no or f"#{i.id}", i.title, names.get(i.unit_id, i.unit_id), i.assigned_on.isoformat(),
             i.due_on.isoformat() if i.due_on else "", i.days_left] for n, i in enumerate(items, start=1)]
    return _table(("序号", "编号", "标题", "主办单位", "交办日期", "答复期限", "距期限天数"), rows, text_columns=(2, 3))


def to_html(report: PeriodicReport) -> str:
    t = report.total
    kpis = [("交办件数", t["assigned"]), ("已办结", t["closed"]), ("办结率", _pct(t["closure_rate"])),
            ("按时办结", t["on_time"]), ("超期未办结", t["overdue"]), ("14天内到期", t["due_soon"]),
            (f"{report.categories[0]}类比例", _pct(t["a_rate"])), ("满意率", _pct(t["satisfaction_rate"])),
            ("不满意件数", t["unsatisfied"]), ("重新办理", t["reopened"])]
    kpi_html = "".join(f'<div class="kpi"><b>{escape(str(v))}</b>{escape(k)}</div>' for k, v in kpis)
    rehandled = [i for items in report.items.values() for i in items if i.unsatisfied or i.reopened]
    sections = [
        f"<h1>{escape(report.title)}</h1><p class=\"sub\">{escape(report.subtitle)}</p>",
        f'<div class="kpis">{kpi_html}</div>',
        "<h2>一、总体情况</h2>",
        _table(report.summary_header(), report.summary_rows(), text_columns=(1,), last_is_total=True),
        "<h2>二、图表</h2>", *charts(report),
        f"<h2>三、超期未办结件（{len(report.overdue)} 件）</h2>",
        _item_list(report.overdue, report, "无超期未办结件。"),
        f"<h2>四、14 天内到期的未办结件（{len(report.due_soon)} 件）</h2>",
        _item_list(report.due_soon, report, "无 14 天内到期的件。"),
        f"<h2>五、不满意及重新办理件（{len(rehandled)} 件）</h2>",
        _rehandled(rehandled, report),
        "<p class=\"sub\">说明：办结率＝已办结／交办件数；按时办结率＝按时办结／已办结；"
        "满意率＝满意和基本满意／有反馈的已办结件；不满意件数为曾收到“不满意”反馈的件；重新办理件办结前计为未办结。</p>",
    ]
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(report.title)}</title>'
            f"<style>{CSS}</style></head><body>{''.join(sections)}</body></html>\n")


def _rehandled(items: Sequence[Item], report: PeriodicReport) -> str:
    if not items:
        return "<p>无不满意或重新办理的件。</p>"
    names = {u["department"]["id"]: u["department"]["name"] for u in report.units}
    rows = [[n, i.case_no or f"#{i.id}", i.title, names.get(i.unit_id, i.unit_id), "是" if i.unsatisfied else "",
             rehandling(i), i.feedback]
            for n, i in enumerate(items, start=1)]
    return _table(("序号", "编号", "标题", "主办单位", "不满意", "重新办理", "当前满意度"), rows, text_columns=(2, 3))
