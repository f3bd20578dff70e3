"""The patterns the OpenAPI schema states (models.rules) say what the rules themselves accept, no more, no less."""

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from models import rules

# Spaces str.strip() drops (some also control characters), other control and format characters, and ordinary text.
ALPHABET = " \t\n\r\x0b\x1c\x1f\x85\xa0\u2003\u3000\x00\x01\x7f\u200b\u200d\ufeff\U000e0001aZ0-_江州市住建局"
texts = st.text(alphabet=ALPHABET, max_size=8)


def accepts(rule, value) -> bool:
    try:
        rule(value)
    except rules.RuleError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(texts)
@example("\x1d")
@example("\ufeff")
def test_nonblank_pattern_is_required(value):
    assert bool(re.search(rules.NONBLANK_PATTERN, value)) == accepts(rules.required, value)


@settings(max_examples=400, deadline=None)
@given(texts)
@example(" a\n")
@example("a\tb")
@example("\x85")
def test_single_line_pattern_is_single_line_and_case_no(value):
    matches = bool(re.fullmatch(rules.SINGLE_LINE_PATTERN, value))
    assert matches == accepts(rules.single_line, value) == accepts(rules.case_no, value)


@settings(max_examples=400, deadline=None)
@given(texts, st.sampled_from([1, 2]))
@example("a ", 2)
@example(" 江州 ", 2)
def test_name_pattern_is_a_single_line_of_enough_characters(value, min_chars):
    expected = accepts(rules.single_line, value) and len(value.strip()) >= min_chars
    assert bool(re.fullmatch(rules.name_pattern(min_chars), value)) == expected


@pytest.mark.parametrize("min_year", [rules.MIN_YEAR, rules.MIN_REGISTRY_YEAR])
def test_date_pattern_takes_the_years_iso_date_takes(min_year):
    for year in range(1000, 2300):
        text = f"{year}-01-31"
        assert bool(re.fullmatch(rules.date_pattern(min_year), text)) == accepts(
            lambda v: rules.iso_date(v, min_year=min_year), text), text
