"""The field rules of models/rules.py as a ledger sees them: read_cases on small CSVs reports each bad row by its
header with a Chinese message, and reads every other row unchanged."""

import re
from datetime import date

import pytest

from models import rules
from models.casefile import read_cases
from models.departments import Department
from models.settings import Settings

HEADER = "编号,类型,年度,标题,内容,主办单位,协办单位,交办日期,答复内容,答复类别,满意度,办结日期\n"
GOOD = "JY2024-0001,建议,2024,关于加装电梯的建议,电梯,住建局,,2024-02-01,已办理,A,满意,2024-05-01\n"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def read(tmp_path, *rows: str, **kwargs):
    path = tmp_path / "ledger.csv"
    path.write_text(HEADER + GOOD + "".join(rows), encoding="utf-8")
    return read_cases(path, **kwargs)


def only_error(result, row: int, field: str):
    """The single error of ``row`` under header ``field``; the good row was read as written."""
    assert [(e.row, e.field) for e in result.errors] == [(row, field)], result.errors
    assert [r.case_no for r in result.records] == ["JY2024-0001"]
    good = result.records[0]
    assert (good.assigned_on, good.closed_on, good.category, good.feedback) == (
        date(2024, 2, 1), date(2024, 5, 1), "A", "满意")
    assert CHINESE.search(result.errors[0].message)
    return result.errors[0]


def test_closed_before_assigned_is_reported_on_the_closing_date(tmp_path):
    res = read(tmp_path, "JY2024-0002,建议,2024,标题二,正文,住建局,,2024-03-01,已办理,A,满意,2024-02-28\n")
    err = only_error(res, 3, "办结日期")
    assert "早于交办日期" in err.message and "2024-02-28" in err.message and "2024-03-01" in err.message
    assert res.total == 2


def test_closed_on_the_day_of_assignment_is_fine(tmp_path):
    res = read(tmp_path, "JY2024-0002,建议,2024,标题二,正文,住建局,,2024-03-01,已办理,A,满意,2024-03-01\n")
    assert res.errors == [] and res.records[1].closed_on == date(2024, 3, 1)


@pytest.mark.parametrize("value", ["1900-01-01", "2204-05-01", "1970-01-01"])
def test_implausible_dates_are_reported(tmp_path, value):
    res = read(tmp_path, f"JY2024-0002,建议,2024,标题二,正文,住建局,,{value},,,,\n")
    err = only_error(res, 3, "交办日期")
    assert "1990–2100" in err.message and value in err.message


@pytest.mark.parametrize("value", ["24", "inf", "1850"])
def test_implausible_years_are_reported_not_crashed_on(tmp_path, value):
    res = read(tmp_path, f"JY2024-0002,建议,{value},标题二,正文,住建局,,,,,,\n")
    err = only_error(res, 3, "年度")
    assert "年" in err.message


@pytest.mark.parametrize("case_no", ['"JY2024\t0002"', "JY2024\u200b0002", '"JY2024\x0b0002"'])
def test_case_numbers_with_control_characters_are_reported(tmp_path, case_no):
    res = read(tmp_path, f"{case_no},建议,2024,标题二,正文,住建局,,,,,,\n")
    err = only_error(res, 3, "编号")
    assert "控制字符" in err.message


def test_case_numbers_are_stripped(tmp_path):
    res = read(tmp_path, '"  JY2024-0002 ",建议,2024,标题二,正文,住建局,,,,,,\n')
    assert res.errors == [] and res.records[1].case_no == "JY2024-0002"


@pytest.mark.parametrize(("value", "stored"), [(" b类 ", "B"), ("ｃ", "C"), ("a", "A")])
def test_categories_are_normalised(tmp_path, value, stored):
    res = read(tmp_path, f"JY2024-0002,建议,2024,标题二,正文,住建局,,2024-02-01,已办理,{value},,\n")
    assert res.errors == [] and res.records[1].category == stored


@pytest.mark.parametrize("value", ["类", "D", "优"])
def test_unknown_categories_are_reported(tmp_path, value):
    res = read(tmp_path, f"JY2024-0002,建议,2024,标题二,正文,住建局,,2024-02-01,已办理,{value},,\n")
    err = only_error(res, 3, "答复类别")
    assert "A、B、C" in err.message


def test_configured_categories_in_any_case_are_the_allowed_ones(tmp_path):
    res = read(tmp_path, "JY2024-0002,建议,2024,标题二,正文,住建局,,2024-02-01,已办理,d类,,\n",
               categories=["a", "b", "C", "d"])
    assert res.errors == [] and res.records[1].category == "D"


def test_unknown_kind_and_feedback_are_reported(tmp_path):
    res = read(tmp_path, "JY2024-0002,意见,2024,标题二,正文,住建局,,2024-02-01,已办理,A,还行,\n")
    assert [(e.row, e.field) for e in res.errors] == [(3, "类型"), (3, "满意度")]
    assert "建议/提案/议案" in res.errors[0].message and "满意/基本满意/不满意" in res.errors[1].message
    assert [r.case_no for r in res.records] == ["JY2024-0001"]


def test_whitespace_only_title_is_empty(tmp_path):
    res = read(tmp_path, 'JY2024-0002,建议,2024,"   ",正文,住建局,,,,,,\n')
    err = only_error(res, 3, "标题")
    assert "标题为空" in err.message


# -- the rules themselves, as the API calls them ----------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 1700000000, True, "2026-01-20T00:00:00", "20260120", "2026/01/20", "2026-2-3",
                                   "2026-02-30", "1989-12-31", None])
def test_iso_date_takes_only_plausible_text_dates(value):
    with pytest.raises(rules.RuleError) as exc:
        rules.iso_date(value)
    assert CHINESE.search(str(exc.value))


def test_iso_date_accepts_iso_text_and_older_registry_dates():
    assert rules.iso_date(" 2026-01-20 ") == date(2026, 1, 20)
    assert rules.iso_date("1983-05-01", min_year=rules.MIN_REGISTRY_YEAR) == date(1983, 5, 1)


def test_co_handler_problems_name_the_position_and_the_unit():
    zjj, cgzf = Department("zjj", "江州市住房和城乡建设局"), Department("cgzf", "江州市城市管理和综合执法局")
    problems = rules.co_handler_problems(("住建局", zjj), [("城管执法局", cgzf), ("市住建局", zjj),
                                                         ("市城管执法局", cgzf)])
    assert [i for i, _ in problems] == [1, 2]
    assert "主办单位“住建局”" in problems[0][1] and "江州市住房和城乡建设局" in problems[0][1]
    assert "“城管执法局”" in problems[1][1] and "只填写一次" in problems[1][1]


def test_settings_categories_follow_the_same_rule():
    assert Settings(_env_file=None, reply_categories=" a, b类 ,Ｃ,a").reply_categories == ["A", "B", "C"]
    assert Settings(_env_file=None, reply_categories=["x", "y "]).reply_categories == ["X", "Y"]
