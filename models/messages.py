"""Chinese messages for pydantic's validation errors, shared by the API (request errors) and the settings
(start-up errors), so staff and operators never read pydantic's English ``msg``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SIMPLE = {
    "missing": "缺少必填字段",
    "json_invalid": "不是合法的 JSON",
    "json_type": "应为 JSON 文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数（不能有小数部分）",
    "int_parsing_size": "整数过大",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "decimal_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "string_unicode": "应为有效的 Unicode 文本",
    "bytes_type": "应为文本或文件内容",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "dataclass_type": "应为对象",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD），不带时间",
    "datetime_type": "应为日期时间（如 2026-01-20 09:00:00）",
    "datetime_parsing": "日期时间格式应为 YYYY-MM-DD HH:MM:SS",
    "datetime_from_date_parsing": "日期时间格式应为 YYYY-MM-DD HH:MM:SS",
    "time_parsing": "时间格式应为 HH:MM:SS",
    "url_parsing": "应为网址",
    "url_type": "应为网址",
    "uuid_parsing": "应为 UUID",
    "uuid_type": "应为 UUID",
    "none_required": "应为空（null）",
    "extra_forbidden": "不认识的字段",
    "is_instance_of": "类型不对",
    "union_tag_invalid": "类型标记无效",
    "union_tag_not_found": "缺少类型标记",
    "frozen_field": "该字段不能修改",
    "frozen_instance": "该对象不能修改",
}

_BOUNDS = {"greater_than": "应大于", "greater_than_equal": "应不小于", "less_than": "应小于",
           "less_than_equal": "应不大于"}


def _choices(expected: Any) -> str:
    """pydantic's ``"'建议', '提案' or '议案'"`` -> ``“建议”、“提案”、“议案”``."""
    parts = [p.strip().strip("'\"") for p in re.split(r",\s*|\s+or\s+", str(expected)) if p.strip()]
    return "、".join(f"“{p}”" for p in parts)


def describe(err: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as a short Chinese phrase: ``应为整数``.

    ``value_error`` carries the message of our own validators (already Chinese); any type not known here gets a
    generic phrase rather than pydantic's English.
    """
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length") == 1 else f"至少 {ctx.get('min_length')} 个字"
    if kind == "string_too_long":
        return f"过长（最多 {ctx.get('max_length')} 个字）"
    if kind == "string_pattern_mismatch":
        return "格式不对"
    if kind == "too_long":
        return f"条目过多（最多 {ctx.get('max_length')} 条）"
    if kind == "too_short":
        return f"至少需要 {ctx.get('min_length')} 条"
    if kind in _BOUNDS:
        return f"{_BOUNDS[kind]} {next(iter(ctx.values()), '')}"
    if kind == "multiple_of":
        return f"应为 {ctx.get('multiple_of')} 的倍数"
    if kind in ("literal_error", "enum"):
        return f"取值无效，应为 {_choices(ctx.get('expected', ''))} 之一"
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        return str(error) if error else "取值无效"
    return "取值无效"
