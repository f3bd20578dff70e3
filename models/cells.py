"""Spreadsheet cells that are safe to open: text that Excel would run as a formula is written as text.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel and LibreOffice
(CSV/formula injection: ``=HYPERLINK(...)`` in a proposal title). Writers prefix such text with an apostrophe, as
OWASP advises, and in XLSX also store it as a plain string; readers drop that apostrophe again, so an export read
back (for retraining) gives the text as it was written.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` made safe for a spreadsheet cell (non-text values pass unchanged)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def sheet_name(name: str, taken: set[str]) -> str:
    """An Excel sheet name (at most 31 characters, none of []:*?/\\), unique within the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'") or "单位"
    out, n = base[:31], 1
    while out in taken:
        n += 1
        suffix = f"({n})"
        out = base[: 31 - len(suffix)] + suffix
    taken.add(out)
    return out


def unescape_cell(text: str) -> str:
    """The text a writer escaped with :func:`safe_cell`."""
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def write_table(path: str | Path, header: Sequence[str], rows: Iterable[Sequence], *, sheet: str = "Sheet1") -> int:
    """Write a table as XLSX (by the ``.xlsx`` suffix: frozen header, readable widths) or as UTF-8 CSV with a BOM
    (opens in Excel), every text cell made safe. Returns the number of data rows."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return _write_xlsx(path, header, rows, sheet)
    n = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([safe_cell(h) for h in header])
        for row in rows:
            w.writerow(["" if v is None else safe_cell(v) for v in row])
            n += 1
    return n


def _write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence], sheet: str) -> int:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [max(4, len(str(h))) for h in header]
    n = 0
    for n, row in enumerate(rows, start=1):
        for col, value in enumerate(row, start=1):
            cell = ws.cell(row=n + 1, column=col, value=None if value is None else safe_cell(value))
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever it starts with
                widths[col - 1] = max(widths[col - 1], min(60, len(value)))
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = width * 1.6 + 2
    ws.freeze_panes = "A2"
    wb.save(path)
    return n
