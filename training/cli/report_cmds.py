"""jiaoban report: the periodic report (定期报告) of a date range from the case store, as XLSX or printable HTML.

It reads the store file itself (``models.supervision``), as the service's report endpoints do, so the two agree.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from models.departments import DepartmentRegistry
from models.periodic_report import build_report, to_xlsx
from models.report_html import to_html
from models.supervision import SupervisionError, store_registry
from training.cli.common import CliError, out, settings
from training.cli.common import registry as file_registry

FORMATS = (".xlsx", ".html")


def _day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} 的日期“{value}”无效：应为 YYYY-MM-DD，如 2026-06-30") from None


def report_registry(database: str | Path, departments: Path | None) -> DepartmentRegistry | None:
    """The registry the service uses (the store's latest snapshot); else the departments file, when there is one."""
    if departments is None and (reg := store_registry(database)) is not None:
        return reg
    return file_registry(departments, required=False)


def report_cmd(
    start: Annotated[str, typer.Option("--start", help="交办日期自（YYYY-MM-DD）")],
    end: Annotated[str, typer.Option("--end", help="交办日期至（YYYY-MM-DD），也是统计日期")],
    out_path: Annotated[Path, typer.Option("--out", help="输出文件：.xlsx（汇总表和各单位分表）或 .html（可打印，含图表）")],
    database: Annotated[Path | None, typer.Option("--database", help="案件库文件（默认：JIAOBAN_DATABASE）")] = None,
    departments: Annotated[Path | None, typer.Option(
        "--departments", help="单位名录 JSON（默认：案件库中的最新名录，其次 JIAOBAN_DEPARTMENTS）")] = None,
) -> None:
    """生成定期报告（通报）：交办日期在范围内的件，按单位统计办结、按时、超期、答复类别、满意度和重新办理情况。

    例：jiaoban report --start 2026-01-01 --end 2026-06-30 --out 定期报告.xlsx
    """
    first, last = _day("--start", start), _day("--end", end)
    if first > last:
        raise CliError(f"日期范围有误：--start {first} 晚于 --end {last}，请把开始日期放在前面")
    suffix = out_path.suffix.lower()
    if suffix not in FORMATS:
        raise CliError(f"--out 的文件“{out_path}”类型不支持：请用 .xlsx 或 .html 结尾")
    s = settings()
    db = database or s.store_target
    try:
        report = build_report(db, report_registry(db, departments), start=first, end=last,
                              categories=s.reply_categories)
    except SupervisionError as exc:
        raise CliError(str(exc)) from None
    if suffix == ".xlsx":
        out_path.write_bytes(to_xlsx(report))
    else:
        out_path.write_text(to_html(report), encoding="utf-8")
    t = report.total
    out.print(f"已写入 {out_path}：{len(report.units)} 个单位，交办 {t['assigned']} 件，已办结 {t['closed']} 件，"
              f"超期未办结 {t['overdue']} 件", markup=False)
