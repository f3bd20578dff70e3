"""Rows of a CSV (UTF-8, GBK or UTF-16), XLSX or JSONL file as header -> value dicts.

A file that cannot be read as a whole raises CaseFileError with a message that says what to do; a row that cannot
be read is passed on as ``{"__error__": message}`` so that its row number is reported and the other rows go through.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Generator
from pathlib import Path

logger = logging.getLogger(__name__)


class CaseFileError(ValueError):
    """The file as a whole cannot be read (wrong type, damaged, undecodable, no usable columns, no rows).

    ``str()`` names the file (``filename``: the name staff know it by) and says what to do; ``code`` is the API's
    error code (``unsupported_file``, ``empty_file``, ``missing_columns`` or ``unreadable_file``); ``columns`` lists
    the headers found when the title and body columns are missing.
    """

    def __init__(self, message: str, *, code: str = "unreadable_file", columns: list[str] | None = None):
        super().__init__(message)
        self.reason, self.code, self.columns = message, code, columns
        self.filename: str | None = None

    def __str__(self) -> str:
        return f"文件“{self.filename}”：{self.reason}" if self.filename else self.reason


SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".jsonl", ".ndjson")
_ZIP, _OLE = b"PK", b"\xd0\xcf\x11\xe0"  # how zip files (XLSX among them) and old .xls / encrypted workbooks begin
_SURROGATE = re.compile("[\udc80-\udcff]")  # undecodable bytes, kept by surrogateescape to report their rows


def file_suffix(name: str) -> str:
    """The lower-case suffix of a case file's name.

    Raises:
        CaseFileError (unsupported_file): not a CSV/TSV/TXT, XLSX/XLSM or JSONL file.
    """
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        shown = f"“{suffix}”" if suffix else "（文件名没有后缀）"
        raise CaseFileError(f"不支持的文件类型{shown}；请另存为 CSV（.csv）、Excel 工作簿（.xlsx）"
                            "或 JSONL（.jsonl）后再试", code="unsupported_file")
    return suffix


def _binary_reason(head: bytes) -> str | None:
    """Why the start of a file is not text (None when it looks like text)."""
    if head.startswith(_ZIP):
        return "实际是 Excel 工作簿（.xlsx）或其他压缩文件；如是 Excel 文件，请把后缀改为 .xlsx 后再试"
    if head.startswith(_OLE):
        return "实际是旧版 Excel（.xls）或 Word 文件；请在 Excel 中另存为 .xlsx 或“CSV UTF-8（逗号分隔）”后再试"
    control = sum(b < 32 and b not in b"\t\n\r\x0c\x1a" for b in head)  # NUL among them
    if control > len(head) // 20:  # a stray NUL in a text export is not binary; a PDF, an image or random bytes are
        return "不是文本文件（含有二进制内容）；请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后再试"
    return None


def _decode(raw: bytes, encoding: str | None) -> tuple[str, str]:
    """The text of a CSV/JSONL file and its encoding. Bytes that do not decode stay as lone surrogates, so their
    rows are reported; a file whose header line or most lines do not decode is refused."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise CaseFileError(f"不认识的编码“{encoding}”；可用 utf-8、gbk、gb18030 等") from exc
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # Excel's "Unicode text"
    if not (encoding or "").lower().startswith("utf-16") and (reason := _binary_reason(raw[:8192])):
        raise CaseFileError(reason)
    candidates = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for enc in candidates:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    shown = encoding or "UTF-8 和 GBK/GB18030"
    advice = "；请在 Excel 或记事本中另存为 UTF-8 编码的 CSV（或 .xlsx）后再试"
    if candidates[0].lower().startswith("utf-16"):
        raise CaseFileError(f"无法按 {shown} 解码" + advice)
    lines = [line for line in raw.splitlines() if line.strip()]

    def failing(enc: str) -> int:
        return sum(not _decodes(line, enc) for line in lines)

    enc = min(candidates, key=failing)
    if not _decodes(lines[0], enc) or 2 * failing(enc) > len(lines):
        raise CaseFileError(f"按 {shown} 都无法解码（列名行或多数行含有无法识别的字节）" + advice)

    def line_text(line: bytes) -> str:
        if enc == "gb18030" and not line.isascii() and _decodes(line, "utf-8"):
            # UTF-8 text in a GBK file would pass as GBK mojibake: undecodable too, so its row is reported.
            return line.decode("ascii", errors="surrogateescape")
        return line.decode(enc, errors="surrogateescape")

    return "".join(line_text(line) for line in raw.splitlines(keepends=True)), enc


def _decodes(line: bytes, enc: str) -> bool:
    try:
        line.decode(enc)
    except UnicodeDecodeError:
        return False
    return True


def _undecodable(encoding: str | None) -> str:
    shown = {"utf-8-sig": "UTF-8", "gb18030": "GBK"}.get(encoding or "", encoding)
    return (f"这一行含有无法按 {shown} 解码的字节（可能混入了其他编码的文字）；请把整个文件另存为 UTF-8 编码的 CSV，"
            "再重新导入这一行")


Rows = Generator[tuple[int, dict], None, None]  # (row number as the file numbers it, header -> value)


def iter_rows(path: Path, suffix: str, encoding: str | None) -> tuple[list[str], Rows, str | None]:
    """The headers, the rows and the text encoding (None for XLSX) of a case file.

    Raises:
        CaseFileError: the file cannot be read as a whole.
    """
    if suffix in (".xlsx", ".xlsm"):
        return _iter_xlsx(path)
    text, enc = _decode(path.read_bytes(), encoding)
    if not text.strip():
        raise CaseFileError("只有空白，没有内容；请确认导出或上传的是填好的文件", code="empty_file")
    text = text.removeprefix("\ufeff").replace("\x00", "")
    if suffix in (".jsonl", ".ndjson"):
        return _iter_jsonl(text, enc) + (enc,)
    first = text.partition("\n")[0]
    tab = suffix == ".tsv" or (suffix == ".txt" and "\t" in first and "," not in first)
    reader = csv.reader(io.StringIO(text, newline=""), dialect="excel-tab" if tab else "excel")
    headers = next(reader, [])
    if any(_SURROGATE.search(h) for h in headers):
        raise CaseFileError("列名行含有无法解码的字节；请另存为 UTF-8 编码的 CSV 后再试")
    return headers, _csv_rows(reader, headers, enc), enc


def _csv_rows(reader, headers: list[str], enc: str) -> Rows:
    i = 1
    while True:
        i += 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:  # e.g. an unbalanced quote that runs many lines into one oversized cell
            yield i, {"__error__": "这一行无法按 CSV 解析（常见原因是引号不成对，使后面多行连成一格）；"
                                   "请检查这一行的引号"}
            continue
        if any(_SURROGATE.search(v) for v in values):
            yield i, {"__error__": _undecodable(enc)}
        elif any(values):
            yield i, dict(zip(headers, values))


def _damaged(what: str) -> str:
    return f"{what}；请重新导出，或在 Excel 中打开后“另存为”Excel 工作簿（.xlsx）再试"


def _iter_xlsx(path: Path) -> tuple[list[str], Rows, None]:
    from openpyxl import load_workbook

    with path.open("rb") as fh:
        head = fh.read(8192)
    if not head.startswith(_ZIP):
        if head.startswith(_OLE):
            raise CaseFileError("是旧版 Excel（.xls）或设了密码的工作簿，无法读取；"
                                "请在 Excel 中另存为 .xlsx（不设密码）后再试")
        if _binary_reason(head) is None:
            raise CaseFileError("内容是文本而不是 Excel 工作簿（可能是 CSV 文件改了后缀）；"
                                "如是 CSV，请把后缀改为 .csv 后再试")
        raise CaseFileError(_damaged("不是 Excel 工作簿（.xlsx），内容无法识别"))
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CaseFileError(_damaged("XLSX 文件不完整或已损坏（可能只复制或上传了一部分）")) from exc
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise CaseFileError("是 zip 压缩包而不是 Excel 工作簿；"
                            "请解压后导入其中的 CSV/XLSX 文件，或在 Excel 中另存为 .xlsx")
    try:  # openpyxl fails on a damaged workbook with whatever its parser meets: KeyError, ValueError, XML errors…
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        logger.info("openpyxl could not open %s: %s", path.name, type(exc).__name__)
        raise CaseFileError(_damaged("Excel 工作簿已损坏，无法打开")) from exc
    if not wb.worksheets:
        wb.close()
        raise CaseFileError("工作簿中没有工作表；请把案件放在第一个工作表中，第一行为列名", code="empty_file")
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    try:
        first = next(rows, None)
    except Exception as exc:
        wb.close()
        raise CaseFileError(_damaged(f"工作表“{ws.title}”已损坏，无法读取")) from exc
    if first is None or all(v in (None, "") for v in first):
        wb.close()
        raise CaseFileError(f"第一个工作表“{ws.title}”的第一行是空的；请把案件放在第一个工作表中，第一行为列名",
                            code="empty_file" if first is None else "missing_columns")
    headers = [str(h) if h is not None else "" for h in first]

    def gen() -> Rows:
        i = 1
        try:
            for i, values in enumerate(rows, start=2):
                if values and any(v not in (None, "") for v in values):
                    yield i, {h: v for h, v in zip(headers, values)}
        except Exception as exc:  # a damaged sheet shows only as rows are read
            raise CaseFileError(_damaged(f"工作表“{ws.title}”在第 {i + 1} 行附近已损坏")) from exc
        finally:
            wb.close()

    return headers, gen(), None


_ONE_OBJECT = '每行应是一个 JSON 对象，如 {"title": "……", "body": "……"}'
_JSON_TYPES = {list: "数组", str: "文本", int: "数字", float: "数字", bool: "true/false", type(None): "null"}


def _iter_jsonl(text: str, enc: str) -> tuple[list[str], Rows]:
    headers: list[str] = []
    parsed: list[tuple[int, dict]] = []
    objects = 0
    for i, line in enumerate(text.split("\n"), start=1):  # not splitlines(): JSON strings may hold U+2028
        if not line.strip():
            continue
        if _SURROGATE.search(line):
            parsed.append((i, {"__error__": _undecodable(enc)}))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            parsed.append((i, {"__error__": f"不是合法的 JSON（{exc.msg}，第 {exc.colno} 个字符）；请修正这一行"}))
            continue
        except RecursionError:
            parsed.append((i, {"__error__": f"JSON 嵌套过深；{_ONE_OBJECT}"}))
            continue
        if not isinstance(obj, dict):
            kind = _JSON_TYPES.get(type(obj), "其他值")
            parsed.append((i, {"__error__": f"这一行是 JSON {kind}，不是对象；{_ONE_OBJECT}"}))
            continue
        objects += 1
        for key in obj:
            if key not in headers:
                headers.append(key)
        parsed.append((i, obj))
    if not objects:
        first = f"第 {parsed[0][0]} 行：{parsed[0][1]['__error__']}" if parsed else ""
        raise CaseFileError(f"没有一行是 JSON 对象；请按每行一个对象导出，或另存为 CSV/XLSX。{first}")
    return headers, (p for p in parsed)
