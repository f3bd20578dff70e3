"""Read cases from CSV (UTF-8, GBK or UTF-16), XLSX and JSONL, with Chinese or English headers detected.

Every row is either returned as a CaseRecord or reported as a RowError with its row number; nothing is dropped
silently. A file that cannot be used as a whole raises CaseFileError (see ``models.tabular``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from models import rules
from models.cells import unescape_cell, write_table
from models.records import REPLY_CATEGORIES, CaseRecord, RowError
from models.tabular import CaseFileError, file_suffix, iter_rows

logger = logging.getLogger(__name__)

# Field -> header names seen in ledgers and exports, in order of preference (compared without spaces, lower case).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "case_no": ("编号", "建议编号", "提案编号", "案号", "流水号", "case_no", "number", "id", "留言编号"),
    "kind": ("类型", "案件类型", "建议类型", "kind", "type"),
    "year": ("年度", "年份", "届次年度", "year"),
    "title": ("标题", "题目", "案由", "建议标题", "提案标题", "留言主题", "title", "subject"),
    "body": ("内容", "正文", "建议内容", "提案内容", "留言详情", "body", "content", "text"),
    "proposer": ("提案人", "领衔代表", "提出人", "代表", "提案者", "proposer", "author"),
    "lead": ("主办单位", "主办", "承办单位", "lead_department", "lead", "department", "label"),
    "co_handlers": ("协办单位", "会办单位", "协办", "co_handlers", "co_departments"),
    "assigned_on": ("交办日期", "交办时间", "assigned_on", "assigned_date", "留言时间", "time"),
    "reply": ("答复内容", "答复", "答复意见", "reply", "reply_text"),
    "category": ("答复类别", "办理结果类别", "答复分类", "category", "reply_category"),
    "feedback": ("满意度", "代表意见", "委员意见", "反馈", "feedback"),
    "closed_on": ("办结日期", "办结时间", "closed_on", "closed_date", "reply_time", "答复时间"),
}
FIELDS = tuple(COLUMN_ALIASES)
_LIST_SPLIT = re.compile(r"[、，,；;/|\s]+")
_YEAR_IN_NO = re.compile(r"(20\d{2})")


@dataclass
class ReadResult:
    records: list[CaseRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field -> header used
    encoding: str | None = None

    @property
    def total(self) -> int:
        return len(self.records) + len({e.row for e in self.errors})


def _norm_header(h: str) -> str:
    return re.sub(r"\s+", "", str(h or "")).lower()


def _shown(headers: Iterable[str], limit: int = 15) -> list[str]:
    """Headers as a message may quote them: short (a sheet without a header row has case text there), at most 15."""
    shown = [h if len(h) <= 20 else h[:20] + "…" for h in (str(h).strip() for h in headers) if h]
    return shown[:limit] + ([f"……共 {len(shown)} 列"] if len(shown) > limit else [])


def detect_columns(headers: Iterable[str], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map our fields to the file's headers. ``overrides`` (field -> header) win over detection.

    Raises:
        CaseFileError: an override names a header the file does not have, or an unknown field, or the file has
            neither a title nor a body column.
    """
    headers = [h for h in headers if h is not None]
    by_norm = {_norm_header(h): h for h in headers}
    mapping: dict[str, str] = {}
    for fld, header in (overrides or {}).items():
        if fld not in COLUMN_ALIASES:
            raise CaseFileError(f"未知字段“{fld}”；可映射的字段：{', '.join(FIELDS)}")
        if _norm_header(header) not in by_norm:
            raise CaseFileError(f"文件中没有列“{header}”（用于字段 {fld}）；文件的列为：{'、'.join(_shown(headers))}",
                                code="missing_columns", columns=_shown(headers))
        mapping[fld] = by_norm[_norm_header(header)]
    taken = set(mapping.values())
    for fld, aliases in COLUMN_ALIASES.items():
        if fld in mapping:
            continue
        for alias in aliases:
            found = by_norm.get(_norm_header(alias))
            if found is not None and found not in taken:
                mapping[fld] = found
                taken.add(found)
                break
    if "title" not in mapping and "body" not in mapping:
        shown = _shown(headers)
        if not shown:
            raise CaseFileError("第一行没有列名；请在第一行写上列名（如 标题、内容），案件从第二行写起",
                                code="missing_columns", columns=[])
        raise CaseFileError(
            f"找不到标题或内容列；文件的列为：{'、'.join(shown)}。请把列名改为“标题”或“内容”（也认识 案由、正文 等），"
            "或在命令行用 --column title=列名 或 --column body=列名 指定", code="missing_columns", columns=shown)
    return mapping


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unescape_cell(str(value).strip())


def _parse_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-").replace(".", "-")
    text = text.split()[0] if text.split() else text
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as exc:
        raise ValueError(f"日期“{_text(value)}”无法识别，请写成 YYYY-MM-DD") from exc


def parse_row(row: int, values: Mapping, columns: Mapping[str, str], categories: Collection[str] = REPLY_CATEGORIES,
              ) -> tuple[CaseRecord | None, list[RowError]]:
    """Turn one source row into a CaseRecord, or the list of what is wrong with it (``categories``: the reply
    categories accepted). Each field goes through its rule in ``models.rules``, the one the API applies."""
    if "__error__" in values:
        return None, [RowError(row, "*", str(values["__error__"]))]
    get = {fld: _text(values.get(header)) for fld, header in columns.items()}
    errors: list[RowError] = []

    def check(fld: str, rule, *args):
        """``rule(get[fld], *args)``, or the rule's message reported under the field's header (and None)."""
        try:
            return rule(get[fld], *args)
        except rules.RuleError as exc:
            errors.append(RowError(row, columns[fld], str(exc)))
            return None

    rec = CaseRecord(row=row)
    rec.case_no = (check("case_no", rules.case_no) or "") if get.get("case_no") else ""
    rec.title = get.get("title", "")
    rec.body = get.get("body", "")
    rec.proposer = get.get("proposer", "")
    rec.lead = get.get("lead", "")
    rec.reply = get.get("reply", "")
    rec.co_handlers = [n for n in _LIST_SPLIT.split(get.get("co_handlers", "")) if n]
    if "title" in columns and not rec.title:
        errors.append(RowError(row, columns["title"], "标题为空，请补充标题"))
    if "body" in columns and not rec.body:
        errors.append(RowError(row, columns["body"], "内容为空，请补充建议或提案正文"))
    rec.kind = (check("kind", rules.kind) or "") if get.get("kind") else ""
    for fld in ("assigned_on", "closed_on"):
        try:
            day = _parse_date(values.get(columns[fld])) if fld in columns else None
            setattr(rec, fld, rules.plausible_date(day) if day else None)
        except ValueError as exc:  # RuleError is a ValueError
            errors.append(RowError(row, columns[fld], str(exc)))
    if problem := rules.order_problem("assigned_on", rec.assigned_on, "closed_on", rec.closed_on):
        errors.append(RowError(row, columns["closed_on"], problem))
    year = get.get("year", "")
    if year:
        try:
            rec.year = rules.year(int(float(year.rstrip("年"))))
        except rules.RuleError as exc:
            errors.append(RowError(row, columns["year"], str(exc)))
        except (ValueError, OverflowError):
            errors.append(RowError(row, columns["year"], f"年度“{year}”不是年份，请写成如 2024"))
    elif rec.assigned_on:
        rec.year = rec.assigned_on.year
    elif m := _YEAR_IN_NO.search(rec.case_no):
        rec.year = int(m.group(1))
    rec.category = (check("category", rules.category, categories) or "") if get.get("category") else ""
    rec.feedback = (check("feedback", rules.feedback) or "") if get.get("feedback") else ""
    return (None, errors) if errors else (rec, [])


def read_cases(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    categories: Collection[str] | None = None,
    name: str | None = None,
) -> ReadResult:
    """Read every row of a case file. Bad rows are reported in ``errors`` by row number; good rows go through.

    Args:
        path: a .csv/.tsv/.txt (UTF-8, GBK or UTF-16, detected), .xlsx/.xlsm or .jsonl file.
        columns: field -> header overrides, e.g. ``{"lead": "一级标签"}``.
        encoding: force a text encoding instead of detecting it.
        categories: the reply categories accepted (default A, B, C; a site may configure others).
        name: the name staff know the file by, for messages (an upload's own name; default: ``path``).

    Raises:
        CaseFileError: the file as a whole is unusable (missing, wrong type, empty, damaged, undecodable, no
            title/body column, no data rows); its message names the file and says what to do.
    """
    path = Path(path)
    try:
        return _read(path, columns, encoding, categories or REPLY_CATEGORIES)
    except CaseFileError as exc:
        exc.filename = name or str(path)
        raise


def _read(path: Path, columns, encoding, categories) -> ReadResult:
    if not path.is_file():
        raise CaseFileError("是文件夹，不是文件" if path.is_dir() else "找不到文件；请检查路径和文件名")
    suffix = file_suffix(path.name)
    try:
        if path.stat().st_size == 0:
            raise CaseFileError("文件是空的（0 字节）；请确认导出或上传的是填好的文件", code="empty_file")
        headers, rows, enc = iter_rows(path, suffix, encoding)
    except OSError as exc:
        raise CaseFileError(f"无法打开（{exc.strerror}）；请检查文件权限，或文件是否正被其他程序占用") from exc
    with closing(rows):
        mapping = detect_columns(headers, columns)
        result = ReadResult(columns=mapping, encoding=enc)
        for row, values in rows:
            rec, errors = parse_row(row, values, mapping, categories)
            if rec is not None:
                result.records.append(rec)
            result.errors.extend(errors)
    if not result.total:
        raise CaseFileError("只有列名行，没有案件数据；请检查是否选错了文件或工作表", code="empty_file")
    logger.info("read %d rows from %s (%d with errors)", result.total, path.name, len({e.row for e in result.errors}))
    return result


# Headers written by export, in the order ledgers use; read_cases detects them back.
EXPORT_HEADERS = {
    "case_no": "编号",
    "kind": "类型",
    "year": "年度",
    "title": "标题",
    "body": "内容",
    "proposer": "提案人",
    "lead": "主办单位",
    "co_handlers": "协办单位",
    "assigned_on": "交办日期",
    "reply": "答复内容",
    "category": "答复类别",
    "feedback": "满意度",
    "closed_on": "办结日期",
}


def write_cases(records: Iterable[CaseRecord], path: str | Path) -> int:
    """Write records with Chinese headers that ``read_cases`` reads back: CSV (UTF-8 with BOM, for Excel), or XLSX
    for a ``.xlsx`` path; text that a spreadsheet would run as a formula is escaped (models.cells).

    Returns the number of rows written.
    """

    def rows():
        for rec in records:
            d = rec.to_dict()
            d["co_handlers"] = "、".join(rec.co_handlers)
            yield [None if d[k] is None else d[k] for k in EXPORT_HEADERS]

    return write_table(path, list(EXPORT_HEADERS.values()), rows())
