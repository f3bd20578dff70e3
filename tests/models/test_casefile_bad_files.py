"""Bad files never crash the reader: a whole-file problem is a CaseFileError that names the file and says what to do;
a bad row is reported by its number and the good rows go through."""

import io
import json
import re
import zipfile

import pytest
from openpyxl import Workbook

from models.casefile import CaseFileError, read_cases

GOOD_ROWS = [["标题", "内容", "主办单位"], ["关于加装电梯的建议", "老旧小区加装电梯难。", "住建局"],
             ["关于课后服务的提案", "课后服务时间短。", "教育局"]]


def xlsx_bytes(rows=GOOD_ROWS) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rezip(data: bytes, change) -> bytes:
    """The zip ``data`` with each member passed through ``change(name, content)`` (None drops the member)."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in src.namelist():
            content = change(name, src.read(name))
            if content is not None:
                zf.writestr(name, content)
    return out.getvalue()


def zip_of(members: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


def no_sheets(name, content):
    if name.startswith("xl/worksheets/"):
        return None
    return re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", content) if name == "xl/workbook.xml" else content


def broken_sheet(name, content):
    return content[: len(content) // 2] if name == "xl/worksheets/sheet1.xml" else content


BIG = xlsx_bytes(GOOD_ROWS + [[f"关于第{i}件事的建议", "正文。" * 20, "住建局"] for i in range(200)])

# name, content, code, what the message says
WHOLE_FILE = [
    ("empty.csv", b"", "empty_file", "空的"),
    ("empty.xlsx", b"", "empty_file", "空的"),
    ("blank.csv", b"\r\n  \n\n", "empty_file", "只有空白"),
    ("junk.xlsx", bytes(range(256)) * 8, "unreadable_file", "不是 Excel 工作簿"),
    ("junk.xlsm", b"hello, world\nthis is text\n", "unreadable_file", "内容是文本"),
    ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "unreadable_file", "旧版 Excel"),
    ("truncated.xlsx", BIG[: len(BIG) // 2], "unreadable_file", "不完整或已损坏"),
    ("archive.xlsx", zip_of({"readme.txt": "hi", "data/a.csv": "标题\n甲\n"}), "unreadable_file", "zip 压缩包"),
    ("report.xlsx", zip_of({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"}), "unreadable_file",
     "zip 压缩包"),
    ("no_sheets.xlsx", rezip(xlsx_bytes(), no_sheets), "empty_file", "没有工作表"),
    ("empty_sheet.xlsx", xlsx_bytes([]), "empty_file", "第一行是空的"),
    ("blank_first_row.xlsx", xlsx_bytes([[None, None], *GOOD_ROWS]), "missing_columns", "第一行是空的"),
    ("header_only.xlsx", xlsx_bytes([GOOD_ROWS[0], [None, None, None]]), "empty_file", "只有列名行"),
    ("header_only.csv", "标题,内容,主办单位\r\n,,\r\n".encode(), "empty_file", "只有列名行"),
    ("broken_sheet.xlsx", rezip(BIG, broken_sheet), "unreadable_file", "已损坏"),
    ("binary.csv", bytes(range(256)) * 8, "unreadable_file", "不是文本文件"),
    ("workbook.csv", xlsx_bytes(), "unreadable_file", "后缀改为 .xlsx"),
    ("high_bytes.csv", bytes(range(128, 256)) * 16, "unreadable_file", "都无法解码"),
    ("bad_header.csv", b"\xff\xfe\xfd,\xfc\n" + "关于加装电梯的建议,正文\n".encode() * 3, "unreadable_file", "无法"),
    ("no_columns.csv", "甲,乙\n1,2\n".encode(), "missing_columns", "文件的列为：甲、乙"),
    ("no_header.csv", ",,\n关于加装电梯的建议,正文,住建局\n".encode(), "missing_columns", "第一行没有列名"),
    ("arrays.jsonl", b"[1, 2]\n[3]\n", "unreadable_file", "没有一行是 JSON 对象"),
    ("notes.doc", b"anything", "unsupported_file", "“.doc”"),
    ("notes", b"anything", "unsupported_file", "没有后缀"),
]


@pytest.mark.parametrize("name,content,code,says", WHOLE_FILE, ids=[w[0] for w in WHOLE_FILE])
def test_whole_file_problems_are_case_file_errors(tmp_path, name, content, code, says):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CaseFileError) as info:
        read_cases(path)
    exc = info.value
    assert exc.code == code
    assert says in str(exc)
    assert str(exc).startswith(f"文件“{path}”：")  # names the file
    assert "请" in exc.reason  # and says what to do


def test_the_name_staff_know_is_used_for_a_temporary_copy(tmp_path):
    path = tmp_path / "jiaoban-upload-x1y2.xlsx"
    path.write_bytes(b"")
    with pytest.raises(CaseFileError) as info:
        read_cases(path, name="2026年会期建议.xlsx")
    assert str(info.value).startswith("文件“2026年会期建议.xlsx”：") and "jiaoban-upload" not in str(info.value)


def test_missing_columns_lists_the_columns_found_and_shortens_long_ones(tmp_path):
    text = "甲,乙," + "很长的一段文字" * 10 + "\n1,2,3\n"
    (tmp_path / "c.csv").write_text(text, encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        read_cases(tmp_path / "c.csv")
    assert info.value.columns[:2] == ["甲", "乙"] and info.value.columns[2].endswith("…")
    assert len(info.value.columns[2]) == 21 and "找不到标题或内容列" in str(info.value)


def test_missing_columns_in_xlsx(tmp_path):
    (tmp_path / "c.xlsx").write_bytes(xlsx_bytes([["序号", "备注"], [1, "x"]]))
    with pytest.raises(CaseFileError) as info:
        read_cases(tmp_path / "c.xlsx")
    assert info.value.code == "missing_columns" and info.value.columns == ["序号", "备注"]
    assert "序号、备注" in str(info.value)


@pytest.mark.parametrize("path,says", [("none.csv", "找不到文件"), (".", "文件夹")])
def test_missing_path_or_a_folder(tmp_path, path, says):
    with pytest.raises(CaseFileError, match=says):
        read_cases(tmp_path / path)


def test_unknown_forced_encoding(tmp_path):
    (tmp_path / "c.csv").write_text("标题\n甲\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="不认识的编码“klingon”"):
        read_cases(tmp_path / "c.csv", encoding="klingon")


def test_the_records_of_a_good_xlsx(tmp_path):
    (tmp_path / "good.xlsx").write_bytes(BIG)
    res = read_cases(tmp_path / "good.xlsx")
    assert len(res.records) == 202 and not res.errors


def test_csv_with_utf8_bom(tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufeff标题,内容\n关于加装电梯的建议,老旧小区加装电梯难。\n".encode())
    res = read_cases(tmp_path / "bom.csv")
    assert res.columns == {"title": "标题", "body": "内容"} and res.records[0].title == "关于加装电梯的建议"


def test_gbk_csv(tmp_path):
    (tmp_path / "gbk.csv").write_bytes("标题,内容\n关于治理白沙河的建议,沿岸排污严重。\n".encode("gbk"))
    res = read_cases(tmp_path / "gbk.csv")
    assert res.encoding == "gb18030" and res.records[0].body == "沿岸排污严重。"


def test_utf16_tab_separated_text_from_excel(tmp_path):
    (tmp_path / "unicode.txt").write_bytes("标题\t内容\n关于加装电梯的建议\t正文\n".encode("utf-16"))
    res = read_cases(tmp_path / "unicode.txt")
    assert res.encoding == "utf-16" and res.records[0].title == "关于加装电梯的建议"


def test_gbk_line_in_a_utf8_csv_is_reported_and_the_others_kept(tmp_path):
    raw = ("标题,内容\n关于加装电梯的建议,正文一\n".encode() + "关于治理白沙河的建议,正文二\n".encode("gbk")
           + "关于课后服务的提案,正文三\n".encode())
    (tmp_path / "mixed.csv").write_bytes(raw)
    res = read_cases(tmp_path / "mixed.csv")
    assert [r.title for r in res.records] == ["关于加装电梯的建议", "关于课后服务的提案"]
    assert [(e.row, e.field) for e in res.errors] == [(3, "*")]
    assert "无法按 UTF-8 解码" in res.errors[0].message and "另存为 UTF-8" in res.errors[0].message


def test_utf8_lines_in_a_gbk_csv_are_reported_not_read_as_mojibake(tmp_path):
    raw = ("标题,内容\n关于加装电梯的建议,正文一\n关于公交线路的建议,正文二\n".encode("gbk")
           + "关于治理白沙河的建议,正文三\n".encode() + b"\xff\xfe broken,x\n")
    (tmp_path / "mixed.csv").write_bytes(raw)
    res = read_cases(tmp_path / "mixed.csv")
    assert res.encoding == "gb18030"
    assert [r.title for r in res.records] == ["关于加装电梯的建议", "关于公交线路的建议"]
    assert sorted(e.row for e in res.errors) == [4, 5] and "无法按 GBK 解码" in res.errors[0].message


def test_unbalanced_quote_is_one_bad_row(tmp_path):
    text = "标题,内容\n关于加装电梯的建议,正文一\n\"关于公交" + "很长" * 70000 + "\n关于课后服务的提案,正文三\n"
    (tmp_path / "quote.csv").write_text(text, encoding="utf-8")
    res = read_cases(tmp_path / "quote.csv")
    assert [r.title for r in res.records] == ["关于加装电梯的建议", "关于课后服务的提案"]
    assert [e.row for e in res.errors] == [3] and "引号" in res.errors[0].message


def test_a_stray_nul_is_not_binary(tmp_path):
    (tmp_path / "nul.csv").write_bytes("标题,内容\n关于加装电梯的建议\x00,正文\n".encode())
    assert read_cases(tmp_path / "nul.csv").records[0].title == "关于加装电梯的建议"


def test_an_impossible_year_is_a_row_error(tmp_path):
    (tmp_path / "y.csv").write_text("标题,年度\n甲,1e999\n乙,2024\n", encoding="utf-8")
    res = read_cases(tmp_path / "y.csv")
    assert [r.year for r in res.records] == [2024] and res.errors[0].row == 2 and "不是年份" in res.errors[0].message


def jsonl(tmp_path, *lines) -> object:
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return read_cases(path)


GOOD_LINE = json.dumps({"title": "关于加装电梯的建议", "body": "正文。"}, ensure_ascii=False)


@pytest.mark.parametrize("bad,says", [
    ("{not json", "不是合法的 JSON"),
    ('["关于加装电梯的建议", "正文"]', "这一行是 JSON 数组，不是对象"),
    ('"只是一段文字"', "JSON 文本，不是对象"),
    ("[" * 100000, "嵌套过深"),
])
def test_jsonl_bad_line_is_reported_and_the_others_kept(tmp_path, bad, says):
    res = jsonl(tmp_path, GOOD_LINE, bad, GOOD_LINE)
    assert [r.row for r in res.records] == [1, 3]
    assert [(e.row, e.field) for e in res.errors] == [(2, "*")] and says in res.errors[0].message


def test_jsonl_line_separator_inside_a_string_is_not_a_new_row(tmp_path):
    res = jsonl(tmp_path, json.dumps({"title": "甲\u2028乙", "body": "正文"}, ensure_ascii=False), GOOD_LINE)
    assert len(res.records) == 2 and not res.errors


def test_jsonl_undecodable_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes((GOOD_LINE + "\n").encode() * 3 + b'{"title": "\xff\xfe"}\n')
    res = read_cases(path)
    assert len(res.records) == 3 and [e.row for e in res.errors] == [4]
