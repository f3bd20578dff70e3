"""A session sheet of any size made from the sample open batch, for the browser test and the benchmark: new case
numbers, the batch repeated with a short varied clause, and optionally the faults staff meet (a damaged row, planted
duplicates, a title that is a spreadsheet formula)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
HEADER = ["编号", "类型", "标题", "内容", "提案人"]
TAILS = ["请予研究。", "望予采纳。", "建议尽快落实。", "请有关部门重视。", "恳请支持。"]
FORMULA = '=HYPERLINK("http://example.invalid","点此查看")'


@dataclass
class Sheet:
    rows: list[list[str]]
    damaged_row: int | None = None  # sheet row numbers (the header is row 1)
    duplicate_rows: list[int] = field(default_factory=list)
    formula_row: int | None = None

    @property
    def good(self) -> int:
        return len(self.rows) - (self.damaged_row is not None)

    def xlsx(self, path: Path) -> Path:
        wb = Workbook()
        ws = wb.active
        ws.append(HEADER)
        for r in self.rows:
            ws.append(r)
        for row in ws.iter_rows(min_row=2):
            for c in row:
                c.data_type = "s"  # the formula title arrives as text, as a sheet from another system has it
        wb.save(path)
        return path

    def csv(self, path: Path, encoding: str = "gbk") -> Path:
        with open(path, "w", encoding=encoding, newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADER)
            w.writerows(self.rows)
        return path


def open_batch() -> list[dict]:
    with open(SAMPLES / "open_batch.csv", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def session_sheet(n: int, *, faults: bool = True) -> Sheet:
    base = open_batch()
    rows = []
    for i in range(n):
        row, k = base[i % len(base)], i // len(base)
        body = row["内容"] if k == 0 else f"{row['内容']}{TAILS[(i + k) % len(TAILS)]}（{k}）"
        rows.append([f"HY2026-{i + 1:05d}", row.get("类型") or "建议", row["标题"], body, row.get("提案人", "")])
    sheet = Sheet(rows)
    if faults:
        sheet.formula_row, rows[1][2] = 3, FORMULA
        sheet.damaged_row = 10
        rows[8][2] = rows[8][3] = ""  # row 10: neither title nor body
        twin = rows[4]  # rows near the end: the matter of row 6 again, from other proposers
        for j, who in ((n - 2, "委员甲"), (n - 1, "代表乙")):
            rows[j] = [f"HY2026-{j + 1:05d}", twin[1], twin[2], twin[3] + "请予研究。", who]
        sheet.duplicate_rows = [6, n, n + 1]
    return sheet
