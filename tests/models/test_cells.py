import csv

import pytest
from openpyxl import load_workbook

from models.casefile import read_cases, write_cases
from models.cells import safe_cell, unescape_cell, write_table
from models.records import CaseRecord

DANGEROUS = ["=HYPERLINK(\"http://x\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_formula_prefixes_are_escaped_and_read_back(text):
    assert safe_cell(text) == "'" + text and unescape_cell(safe_cell(text)) == text


def test_plain_text_and_numbers_pass_unchanged():
    for value in ("关于加装电梯的建议", "'引号开头", 3, 0.5, None):
        assert safe_cell(value) == value
    assert unescape_cell("'引号开头") == "'引号开头"  # only the apostrophe a writer added goes


def test_csv_and_xlsx_tables_hold_no_formula(tmp_path):
    rows = [[2, text, "备注"] for text in DANGEROUS]
    write_table(tmp_path / "t.csv", ["行号", "标题", "备注"], rows)
    with open(tmp_path / "t.csv", encoding="utf-8-sig", newline="") as fh:
        cells = [r[1] for r in list(csv.reader(fh))[1:]]
    assert all(c.startswith("'") for c in cells)
    assert write_table(tmp_path / "t.xlsx", ["行号", "标题", "备注"], rows, sheet="交办建议") == len(rows)
    ws = load_workbook(tmp_path / "t.xlsx").active
    assert ws.title == "交办建议" and ws.freeze_panes == "A2"
    for row in ws.iter_rows(min_row=2):
        assert row[1].data_type == "s" and row[1].value.startswith("'")
        assert row[0].value == 2  # numbers stay numbers


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_export_reads_back_as_written(tmp_path, suffix):
    recs = [CaseRecord(row=2, case_no="JY2025-0001", year=2025, title="=HYPERLINK(\"x\")关于加装电梯的建议",
                       body="-老旧小区加装电梯难。", lead="市住建局", category="A")]
    path = tmp_path / f"export{suffix}"
    assert write_cases(recs, path) == 1
    back = read_cases(path).records[0]
    assert back.title == recs[0].title and back.body == recs[0].body
