"""One rule per field, shared by every door that takes a case in: the API's request bodies, spreadsheet imports and
the training data reader.

A rule returns the clean value or raises ``RuleError`` with a Chinese message that says what is wrong and what to
do, without naming the field: each door names it its own way (the API by its JSON field, ``co_handlers[1]``; a sheet
by its header, 协办单位). The API layer turns a RuleError raised inside a pydantic validator into a 422.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from datetime import date

from models.departments import Department, DepartmentRegistry, UnknownDepartmentError
from models.records import CASE_KINDS, FEEDBACK_VALUES

MIN_YEAR, MAX_YEAR = 1990, 2100  # a case's dates and year (the earliest ledgers any site keeps)
MIN_REGISTRY_YEAR = 1949  # a unit's founding or reorganisation date may be older than any case
DATE_LABELS = {"assigned_on": "交办日期", "due_on": "答复期限", "closed_on": "办结日期"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class RuleError(ValueError):
    """A value a field's rule refuses; the message (Chinese) does not name the field, the caller does."""


# -- dates ---------------------------------------------------------------------------------------------------------
def plausible_date(day: date, *, min_year: int = MIN_YEAR) -> date:
    """``day`` when its year lies in ``min_year``..MAX_YEAR (a 1970-01-01 or a 2204 is a typo, not a date)."""
    if not min_year <= day.year <= MAX_YEAR:
        raise RuleError(f"日期“{day.isoformat()}”不在 {min_year}–{MAX_YEAR} 年之间，请核对")
    return day


def iso_date(value: object, *, min_year: int = MIN_YEAR) -> date:
    """A date in a request body: the text ``YYYY-MM-DD`` only, never a number (``0`` is not 1970-01-01)."""
    if isinstance(value, date):  # already a date (a Python caller, not JSON)
        return plausible_date(value, min_year=min_year)
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        shown = value if isinstance(value, str) else repr(value)
        raise RuleError(f"日期应写成文本 YYYY-MM-DD（如 2026-01-20），收到的是 {shown}")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise RuleError(f"日期“{value.strip()}”不存在，请核对年月日") from None
    return plausible_date(day, min_year=min_year)


def order_problem(earlier: str, earlier_day: date | None, later: str, later_day: date | None) -> str | None:
    """The message when ``later_day`` comes before ``earlier_day`` (fields given by name, e.g. ``"assigned_on"``)."""
    if earlier_day is None or later_day is None or later_day >= earlier_day:
        return None
    return (f"{DATE_LABELS[later]}（{later_day.isoformat()}）早于{DATE_LABELS[earlier]}（{earlier_day.isoformat()}），"
            "请核对")


def year(value: int) -> int:
    if not MIN_YEAR <= value <= MAX_YEAR:
        raise RuleError(f"年度“{value}”不在 {MIN_YEAR}–{MAX_YEAR} 之间，请写成四位年份，如 2024")
    return value


# -- text ----------------------------------------------------------------------------------------------------------
def _controls(text: str, allowed: str = "") -> list[str]:
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cf") and c not in allowed]


def case_no(value: str) -> str:
    """A case number: stripped, and no control characters (a line break or tab pasted in from a sheet)."""
    value = value.strip()
    if found := _controls(value):
        raise RuleError(f"编号含有控制字符（{', '.join(repr(c) for c in dict.fromkeys(found))}），"
                        "如换行、制表符，请删去后重试")
    return value


def single_line(value: str) -> str:
    """A name (unit, alias, person): stripped, on one line, without control characters."""
    value = value.strip()
    if _controls(value):
        raise RuleError("不能含有换行、制表符等控制字符")
    return value


def required(value: str) -> str:
    """Stripped text that must not be empty (whitespace alone counts as empty)."""
    value = value.strip()
    if not value:
        raise RuleError("不能为空")
    return value


# -- the same rules as JSON Schema patterns (the API's OpenAPI schema states them; tests check they agree) -------
def _char_class(chars: Iterable[str]) -> str:
    """The inside of a regex character class holding ``chars``, as ranges of escapes Python, ECMA and Rust read."""
    codes = sorted(ord(c) for c in chars)
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])

    def esc(code: int) -> str:
        return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"

    return "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in ranges)


# Unicode puts its spaces and format characters in planes 0, 1 and 14 only.
_PLANES = [chr(c) for r in (range(0x20000), range(0xE0000, 0xE1000)) for c in r]
_SPACE = _char_class(c for c in _PLANES if c.isspace())  # what str.strip() drops
_CONTROL = _char_class(c for c in _PLANES if unicodedata.category(c) in ("Cc", "Cf"))
del _PLANES
# ``required``: something besides spaces.
NONBLANK_PATTERN = f"[^{_SPACE}]"
# ``single_line`` / ``case_no``: spaces around it, and no control character in what remains.
SINGLE_LINE_PATTERN = f"^[{_SPACE}]*(?:[^{_SPACE}{_CONTROL}](?:[^{_CONTROL}]*[^{_SPACE}{_CONTROL}])?)?[{_SPACE}]*$"


def name_pattern(min_chars: int = 1) -> str:
    """``single_line`` and at least ``min_chars`` (1 or 2) characters once the spaces around it are dropped."""
    inner = f"[^{_CONTROL}]*[^{_SPACE}{_CONTROL}]"
    return f"^[{_SPACE}]*[^{_SPACE}{_CONTROL}]" + (f"(?:{inner})?" if min_chars <= 1 else inner) + f"[{_SPACE}]*$"


def year_pattern(min_year: int = MIN_YEAR, max_year: int = MAX_YEAR) -> str:
    """A regex for the four-digit years ``min_year``..``max_year``: ``(?:199\\d|20\\d\\d|2100)`` for 1990–2100."""
    parts = []
    for century in range(min_year // 100, max_year // 100 + 1):
        lo, hi = max(min_year, century * 100), min(max_year, century * 100 + 99)
        if (lo, hi) == (century * 100, century * 100 + 99):
            parts.append(f"{century}\\d\\d")
            continue
        for decade in range(lo // 10, hi // 10 + 1):
            a, b = max(lo, decade * 10) % 10, min(hi, decade * 10 + 9) % 10
            parts.append(f"{decade}" + ("\\d" if (a, b) == (0, 9) else str(a) if a == b else f"[{a}-{b}]"))
    return "(?:" + "|".join(parts) + ")"


def date_pattern(min_year: int = MIN_YEAR) -> str:
    """``iso_date``'s rule as a pattern beside ``format: date``: YYYY-MM-DD with a year in range."""
    return f"^{year_pattern(min_year)}-\\d{{2}}-\\d{{2}}$"


# -- closed lists --------------------------------------------------------------------------------------------------
def kind(value: str) -> str:
    value = value.strip()
    if value not in CASE_KINDS:
        raise RuleError(f"类型“{value}”无效，应为 {'/'.join(CASE_KINDS)}")
    return value


def normalize_category(value: str) -> str:
    """``" ｂ类 "`` -> ``"B"``: full-width letters folded, spaces and the trailing 类 dropped, upper case."""
    return unicodedata.normalize("NFKC", value).strip().removesuffix("类").strip().upper()


def category(value: str, allowed: Collection[str]) -> str:
    """A reply category among the configured ones (``Settings.reply_categories``), normalised first."""
    value, allowed = normalize_category(value), [normalize_category(a) for a in allowed]
    if value not in allowed:
        raise RuleError(f"答复类别“{value}”无效，应为 {'、'.join(allowed)}")
    return value


def feedback(value: str) -> str:
    value = value.strip()
    if value not in FEEDBACK_VALUES:
        raise RuleError(f"满意度“{value}”无效，应为 {'/'.join(FEEDBACK_VALUES)}")
    return value


# -- co-handlers ---------------------------------------------------------------------------------------------------
def co_handler_problems(lead: tuple[str, Department], co: Sequence[tuple[str, Department]]) -> list[tuple[int, str]]:
    """The position and message of each co-handler that is the lead unit or repeats an earlier co-handler.

    Entries are (name as written, the unit it denotes). The API passes today's units (a decision is made among
    today's units); ledgers and training data pass the units as written, so two units that were distinct when the
    case was handled and have merged since are not a mistake (they are counted once as today's unit).
    """
    lead_name, lead_dept = lead
    first: dict[str, str] = {}  # unit id -> the name it was first written as
    out = []
    for i, (name, dept) in enumerate(co):
        if dept.id == lead_dept.id:
            out.append((i, f"协办单位“{name}”与主办单位“{lead_name}”是同一单位（{dept.name}），请删去或改选其他单位"))
        elif dept.id in first:
            out.append((i, f"协办单位“{name}”与“{first[dept.id]}”是同一单位（{dept.name}），请只填写一次"))
        else:
            first[dept.id] = name
    return out


def ledger_handlers(registry: DepartmentRegistry, lead: str, co_handlers: Sequence[str],
                    ) -> tuple[str | None, list[str], list[tuple[str, str]]]:
    """A ledger row's lead and co-handlers as today's unit ids, and what is wrong with them as (field, message),
    field ``"lead"`` or ``"co_handlers"``: unknown names, and repeats as written (``co_handler_problems``).

    Units that were distinct when the case was handled and have merged since are kept once, as today's unit.
    """
    problems: list[tuple[str, str]] = []

    def unit(name: str, fld: str) -> Department | None:
        dept = registry.find(name)
        if dept is None:
            problems.append((fld, str(UnknownDepartmentError(name, registry.suggest(name)))))
        return dept

    lead_dept = unit(lead, "lead") if lead else None
    co = [(name, d) for name in co_handlers if (d := unit(name, "co_handlers"))]
    if lead_dept is not None:
        problems += [("co_handlers", message) for _, message in co_handler_problems((lead, lead_dept), co)]
    if problems:
        return None, [], problems
    lead_id = registry.current(lead_dept.id).id if lead_dept else None
    co_ids = dict.fromkeys(registry.current(d.id).id for _, d in co)
    return lead_id, [c for c in co_ids if c != lead_id], []
