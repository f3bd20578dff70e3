"""jiaoban route / search: the routing service the API runs, from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from models.casefile import read_cases
from models.cells import write_table
from models.results import RoutedBatch
from training.cli.common import (
    SEARCH_MODES,
    SEARCH_TARGETS,
    BundleOpt,
    CliError,
    ColumnOpt,
    DeptOpt,
    EncoderOpt,
    EncOpt,
    ModelsOpt,
    check_choice,
    columns,
    console,
    load_service,
    mapping_text,
    out,
    report_errors,
)

CSV_HEADER = ["行号", "编号", "标题", "建议主办单位", "置信度", "备选单位2", "备选单位3", "建议协办单位", "需人工复核",
              "复核原因", "依据", "疑似重复往年案件", "并案组（行号）", "相似历史案件"]


def route_cmd(
    text: Annotated[str | None, typer.Argument(help="一条建议/提案的文本（标题与正文之间可用换行分隔）")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="批量文件：CSV/XLSX/JSONL（有标题或内容列）")] = None,
    column: ColumnOpt = None,
    encoding: EncOpt = None,
    bundle: BundleOpt = None,
    models: ModelsOpt = None,
    departments: DeptOpt = None,
    encoder: EncoderOpt = None,
    top: Annotated[int, typer.Option(help="显示前几名")] = 3,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="批量结果写入文件：.xlsx 为 Excel 工作簿，其他为 CSV")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（与 POST /route/upload 相同的字段）")] = False,
) -> None:
    """给出主办单位建议（含置信度、依据、协办建议、是否需人工复核、相似历史案件、重复件分组）。

    例：jiaoban route "关于加快老旧小区加装电梯的建议"
        jiaoban route --file data/samples/open_batch.csv --out 交办建议.csv
        jiaoban route --file 会期建议.xlsx --column title=案由 --column body=正文
        echo "……" | jiaoban route
    """
    service = load_service(bundle, models, encoder=encoder, departments=departments)
    errors: list = []
    if file is not None:
        read = read_cases(file, columns=columns(column), encoding=encoding)
        console.print(f"读取 {file}：{len(read.records)} 行可用；{mapping_text(read.columns)}", markup=False,
                      soft_wrap=True)
        report_errors(read.errors, more="加 --json 可看到全部问题行（errors）")
        errors = read.errors
        items = [(r.title, r.body) for r in read.records]
        rows: list[int] | None = [r.row for r in read.records]
        ids = [r.case_no for r in read.records]
    else:
        if text is None:
            if sys.stdin.isatty():
                raise CliError("请给出文本、--file 文件，或通过标准输入传入文本")
            text = sys.stdin.read()
        title, _, body = text.strip().partition("\n")
        if not title.strip() and not body.strip():
            raise CliError("文本为空：请给出建议或提案的标题或正文")
        items, rows, ids = [(title.strip(), body.strip())], None, [""]
    with console.status(f"交办建议计算中（{len(items)} 条）……"):
        batch = service.route(items, rows=rows)
    if as_json:
        payload = {"data": [{**r.to_dict(), "case_no": i, "title": t} for r, i, (t, _) in zip(batch.items, ids, items)],
                   "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in errors],
                   "count": len(batch.items), "needs_review_count": batch.needs_review_count,
                   "duplicate_groups": [g.labels() for g in batch.duplicate_groups]}
        out.print_json(json.dumps(payload, ensure_ascii=False))
    elif output is not None:
        write_routes(output, ids, items, batch)
        out.print(f"已写入 {output}：{len(batch.items)} 条，其中 {batch.needs_review_count} 条需人工复核，"
                  f"{len(batch.duplicate_groups)} 组疑似重复件")
    else:
        print_routes(ids, items, batch, top)


def _group_of(batch: RoutedBatch) -> dict[int, str]:
    return {i: "、".join(map(str, g.labels())) for g in batch.duplicate_groups for i in g.indexes}


def write_routes(path: Path, ids, items, batch: RoutedBatch) -> None:
    """One row per item, in the order staff read them: XLSX for a ``.xlsx`` path, else CSV that opens in Excel;
    text that a spreadsheet would run as a formula is escaped (models.cells)."""
    groups = _group_of(batch)

    def rows():
        for n, (i, (title, _), r) in enumerate(zip(ids, items, batch.items)):
            lead = r.lead
            repeat = f"{r.repeat_of.year}年 {r.repeat_of.case_no}（相似度 {r.repeat_of.similarity:.2f}）" if r.repeat_of else ""
            yield [r.row or "", i, title, lead[0].unit.name, round(lead[0].probability, 2),
                   lead[1].unit.name if len(lead) > 1 else "", lead[2].unit.name if len(lead) > 2 else "",
                   "、".join(c.unit.name for c in r.co_handlers), "是" if r.needs_review else "否",
                   r.review.reason, lead[0].reason, repeat, groups.get(n, ""),
                   "；".join(f"{p.year}年 {p.case_no}" for p in r.precedents[:3])]

    write_table(path, CSV_HEADER, rows(), sheet="交办建议")


def print_routes(ids, items, batch: RoutedBatch, top: int) -> None:
    t = Table(title="交办建议", show_lines=True)
    for col in ("行号/编号", "标题", "建议主办（置信度）", "协办", "复核", "依据"):
        t.add_column(col)
    for i, (title, body), r in zip(ids, items, batch.items):
        lead = "\n".join(f"{k + 1}. {s.unit.name}（{s.probability:.0%}）" for k, s in enumerate(r.lead[:top]))
        label = "\n".join(str(x) for x in (r.row, i) if x) or "-"
        notes = r.lead[0].reason + (f"\n疑似重复：{r.repeat_of.year}年 {r.repeat_of.case_no}" if r.repeat_of else "")
        t.add_row(escape(label), escape((title or body)[:30]), lead, "、".join(c.unit.name for c in r.co_handlers) or "-",
                  "需复核" if r.needs_review else "-", escape(notes))
    out.print(t)
    for g in batch.duplicate_groups:
        out.print(f"疑似重复件（可并案）：{'、'.join(map(str, g.labels()))}")


def search_cmd(
    query: Annotated[str, typer.Argument(help="查询：标题、几个关键词或整篇建议")],
    k: Annotated[int, typer.Option("-k", help="返回条数")] = 5,
    year: Annotated[int | None, typer.Option(help="只看某年度")] = None,
    department: Annotated[str | None, typer.Option(help="只看某单位主办或协办的（名称、简称或别名）")] = None,
    kind: Annotated[str | None, typer.Option(help="建议 或 提案")] = None,
    category: Annotated[str | None, typer.Option(help="答复类别 A/B/C")] = None,
    mode: Annotated[str, typer.Option(help="hybrid、bm25 或 dense")] = "hybrid",
    target: Annotated[str, typer.Option(
        help="items：找类似的案件（按标题和正文）；replies：找答复过类似问题的答复（按答复正文）")] = "items",
    full: Annotated[bool, typer.Option("--full", help="显示完整答复")] = False,
    bundle: BundleOpt = None,
    models: ModelsOpt = None,
    departments: DeptOpt = None,
    encoder: EncoderOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """查找相似的历史建议、提案及其答复。

    例：jiaoban search "老旧小区加装电梯" --department 住建局

    例：jiaoban search "小区物业乱收停车费" --target replies
    """
    if not query.strip():
        raise CliError("查询为空：请给出标题、关键词或建议全文")
    check_choice("--mode", mode, SEARCH_MODES)
    check_choice("--target", target, SEARCH_TARGETS)
    service = load_service(bundle, models, encoder=encoder, departments=departments)
    hits = service.search(query, k=k, year=year, department=department, kind=kind, category=category, mode=mode,
                          target=target, full_reply=full)
    if as_json:
        out.print_json(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
        return
    t = Table(title=f"相似案例（{len(service.index)} 条中检索）", show_lines=True)
    for col in ("编号/年度", "标题", "主办（协办）", "类别/满意度", "答复", "匹配段落", "共同词语"):
        t.add_column(col)
    for h in hits:
        units = (h.lead or {}).get("name", "") + (
            "（" + "、".join(c["name"] for c in h.co_handlers) + "）" if h.co_handlers else "")
        t.add_row(escape(f"{h.case_no}\n{h.year}"), escape(h.title), escape(units), escape(f"{h.category}/{h.feedback}"),
                  escape((h.reply if full else h.reply_excerpt) or ""), escape((h.passage or {}).get("text", "")),
                  escape("、".join(h.matched_terms)))
    out.print(t)
