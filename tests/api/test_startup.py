"""An invalid JIAOBAN_* setting stops the service with one Chinese line naming the variable, not a traceback."""

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from api.config import Settings, settings_error_message
from tests.conftest import ROOT


def start(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``args`` in a clean environment (no JIAOBAN_* from outside, no .env: the working directory is empty)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JIAOBAN_")}
    clean.update(env, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], cwd=tmp_path, env=clean, capture_output=True, text=True,
                          timeout=120)


def one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    output = (proc.stdout + proc.stderr).strip()
    assert "Traceback" not in output and "\n" not in output, output
    return output


def test_production_without_keys_names_jiaoban_api_keys(tmp_path):
    line = one_line(start(tmp_path, "-c", "import api.main", JIAOBAN_ENV="production"))
    assert line.startswith("[jiaoban] 配置错误：") and "JIAOBAN_API_KEYS" in line and "JIAOBAN_ENV=production" in line


def test_uvicorn_stops_with_the_same_line(tmp_path):
    proc = start(tmp_path, "-m", "uvicorn", "api.main:app", "--port", "0", JIAOBAN_ENV="production")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "JIAOBAN_API_KEYS" in proc.stderr
    assert proc.stderr.count("配置错误") == 1


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("JIAOBAN_TOP_K", "abc", "JIAOBAN_TOP_K（当前为“abc”）：应为整数"),
    ("JIAOBAN_ENV", "prod", "JIAOBAN_ENV（当前为“prod”）：取值无效，应为 “development”、“production” 之一"),
    ("JIAOBAN_REVIEW_THRESHOLD", "2", "JIAOBAN_REVIEW_THRESHOLD（当前为“2”）：应不大于 1"),
])
def test_any_invalid_setting_is_named(tmp_path, name, value, expected):
    assert expected in one_line(start(tmp_path, "-c", "import api.main", **{name: value}))


def test_a_bad_key_is_named_but_never_echoed(monkeypatch):
    monkeypatch.delenv("JIAOBAN_API_KEYS", raising=False)
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None, env="production", api_keys="admin:tooshort,assigner")
    message = settings_error_message(info.value)
    assert message.startswith("配置错误：JIAOBAN_API_KEYS：第 1 项（admin）的密钥不足 12 个字符")
    assert "tooshort" not in message and "\n" not in message


def test_several_problems_make_one_line(monkeypatch):
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None, top_k="many", due_months=0)
    message = settings_error_message(info.value)
    assert "JIAOBAN_TOP_K" in message and "JIAOBAN_DUE_MONTHS" in message and "Input should" not in message
    assert message.endswith("请修改环境变量或 .env 文件后重新启动")
