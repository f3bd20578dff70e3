"""Bad files on both upload endpoints are answered 422 (413 for size) with the field ``file`` named, never 500, and
the temporary copy is always deleted."""

import io
import json
import tempfile

import pytest
from fastapi import UploadFile
from fastapi.testclient import TestClient

from api.errors import ApiError
from api.main import create_app
from api.spreadsheets import read_upload, upload_name
from models.casefile import CaseFileError
from tests.api.conftest import H, make_settings
from tests.models.test_casefile_bad_files import BIG, no_sheets, rezip, xlsx_bytes, zip_of

# (path, role) of each upload endpoint: /cases/import is for admins only (api/routes/cases.py: Admin).
ENDPOINTS = [("/api/v1/route/upload", "assigner"), ("/api/v1/cases/import", "admin")]
ENDPOINT_IDS = ["route-upload", "cases-import"]
# A session's sheet (api/routes/sessions.py) is refused the same way; its good files answer 202 (tests/api/test_sessions.py).
REFUSING = [*ENDPOINTS, ("/api/v1/sessions", "assigner")]
REFUSING_IDS = [*ENDPOINT_IDS, "sessions"]

BAD = [
    ("junk.xlsx", bytes(range(256)) * 8, "unreadable_file", "不是 Excel 工作簿"),
    ("truncated.xlsx", BIG[: len(BIG) // 2], "unreadable_file", "不完整或已损坏"),
    ("archive.xlsx", zip_of({"readme.txt": "hi"}), "unreadable_file", "zip 压缩包"),
    ("no_sheets.xlsx", rezip(xlsx_bytes(), no_sheets), "empty_file", "没有工作表"),
    ("empty_sheet.xlsx", xlsx_bytes([]), "empty_file", "第一行是空的"),
    ("header_only.xlsx", xlsx_bytes([["标题", "内容"]]), "empty_file", "只有列名行"),
    ("binary.csv", bytes(range(256)) * 8, "unreadable_file", "不是文本文件"),
    ("no_columns.csv", "甲,乙\n1,2\n".encode("gbk"), "missing_columns", "文件的列为：甲、乙"),
    ("empty.csv", b"", "empty_file", "空的"),
    ("arrays.jsonl", b"[1, 2]\n", "unreadable_file", "没有一行是 JSON 对象"),
    ("notes.doc", b"anything", "unsupported_file", "不支持的文件类型“.doc”"),
    ("notes", b"anything", "unsupported_file", "没有后缀"),
]


@pytest.fixture()
def upload_dir(tmp_path, monkeypatch):
    """Where read_upload's temporary copies go, to check none is left behind."""
    where = tmp_path / "uploads"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


def post(client, endpoint, role, name, content):
    return client.post(endpoint, files={"file": (name, io.BytesIO(content))}, headers=H[role])


@pytest.mark.parametrize("endpoint,role", REFUSING, ids=REFUSING_IDS)
@pytest.mark.parametrize("name,content,code,says", BAD, ids=[b[0] for b in BAD])
def test_bad_files_are_422_naming_the_field_and_the_file(client, upload_dir, endpoint, role, name, content, code,
                                                         says):
    r = post(client, endpoint, role, name, content)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == code and says in error["message"]
    assert error["message"].startswith(f"文件“{name}”：") and "请" in error["message"]
    assert error["details"]["field"] == "file" and error["details"]["filename"] == name
    assert not list(upload_dir.iterdir())


def test_missing_columns_answer_lists_the_columns(client):
    r = post(client, *ENDPOINTS[0], "x.xlsx", xlsx_bytes([["序号", "备注"], [1, "x"]]))
    assert r.status_code == 422 and r.json()["error"]["details"]["columns"] == ["序号", "备注"]


@pytest.mark.parametrize("endpoint,role", REFUSING, ids=REFUSING_IDS)
def test_path_parts_in_the_name_are_dropped(client, upload_dir, endpoint, role):
    r = post(client, endpoint, role, "../../etc/x.csv", b"\x00\x01\x02\x03" * 50)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["details"]["filename"] == "x.csv" and error["message"].startswith("文件“x.csv”：")
    assert "etc" not in error["message"] and not list(upload_dir.iterdir())


SHEET = "编号,标题,内容\nA1,关于加装电梯的建议,老旧小区加装电梯难。\nA2,关于治理白沙河的建议,沿岸排污。\n"


@pytest.mark.parametrize("name", ["a\x00b.csv", "..\\..\\会期 建议(1).csv", "x" * 300 + ".csv"])
def test_odd_names_of_a_good_file_are_read(client, name):
    r = post(client, *ENDPOINTS[0], name, SHEET.encode())
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 2


@pytest.mark.parametrize("raw,shown", [
    ("../../etc/x.csv", "x.csv"), ("..\\..\\x.csv", "x.csv"), ("a\x00b.csv", "ab.csv"), ("a\nb\u202e.csv", "ab.csv"),
    ("", "上传的文件"), (None, "上传的文件"), ("/", "上传的文件"),
])
def test_upload_name(raw, shown):
    assert upload_name(raw) == shown


def test_a_long_name_keeps_its_suffix():
    name = upload_name("长" * 200 + ".xlsx")
    assert len(name) == 80 and name.endswith("长.xlsx") and "…" in name


@pytest.mark.parametrize("endpoint,role", ENDPOINTS, ids=ENDPOINT_IDS)
def test_mixed_encoding_csv_keeps_the_good_rows(client, endpoint, role):
    raw = SHEET.encode() + "A3,关于课后服务的提案,课后服务时间短。\n".encode("gbk")
    r = post(client, endpoint, role, "mixed.csv", raw)
    assert r.status_code == 200, r.text
    out = r.json()
    assert [e["row"] for e in out["errors"]] == [4] and "UTF-8" in out["errors"][0]["message"]
    assert (out["count"] if endpoint.endswith("upload") else out["created"]) == 2


@pytest.mark.parametrize("endpoint,role", ENDPOINTS, ids=ENDPOINT_IDS)
def test_jsonl_array_line_is_a_row_error(client, endpoint, role):
    good = json.dumps({"title": "关于加装电梯的建议", "body": "老旧小区加装电梯难。"}, ensure_ascii=False)
    r = post(client, endpoint, role, "c.jsonl", f'{good}\n["关于", "数组"]\nnot json\n'.encode())
    assert r.status_code == 200, r.text
    out = r.json()
    messages = {e["row"]: e["message"] for e in out["errors"]}
    assert sorted(messages) == [2, 3]
    assert "这一行是 JSON 数组，不是对象" in messages[2] and "不是合法的 JSON" in messages[3]
    assert (out["count"] if endpoint.endswith("upload") else out["created"]) == 1


def test_import_needs_the_admin_key(client):
    r = post(client, "/api/v1/cases/import", "assigner", "junk.xlsx", b"junk")
    assert r.status_code == 403  # the role is checked before the file is looked at


@pytest.fixture()
def small_limit_client(tmp_path, models_dir):
    with TestClient(create_app(make_settings(tmp_path, models_dir, max_upload_mb=1))) as c:
        yield c


@pytest.mark.parametrize("endpoint,role", REFUSING, ids=REFUSING_IDS)
def test_over_the_limit_is_413(small_limit_client, upload_dir, endpoint, role):
    big = SHEET.encode() + b"A9,x,y\n" * 150_000  # just over 1 MB
    assert len(big) > 1 << 20
    r = post(small_limit_client, endpoint, role, "big.csv", big)
    assert r.status_code == 413
    error = r.json()["error"]
    assert error["code"] == "file_too_large" and "1 MB" in error["message"] and "big.csv" in error["message"]
    assert error["details"] == {"field": "file", "filename": "big.csv", "max_mb": 1}
    assert not list(upload_dir.iterdir())
    assert post(small_limit_client, endpoint, role, "small.csv", SHEET.encode()).status_code in (200, 202)


class Stream(io.BytesIO):
    """An upload body that counts what is read of it."""

    def __init__(self, size: int):
        super().__init__(b"x" * size)
        self.taken = 0

    def read(self, n=-1):
        data = super().read(n)
        self.taken += len(data)
        return data


def test_size_unknown_is_refused_while_copying_before_it_is_read_whole(upload_dir):
    body = Stream(5 << 20)
    with pytest.raises(ApiError) as info:
        read_upload(UploadFile(body, filename="big.csv"), max_mb=1)
    assert info.value.status == 413 and body.taken <= 2 << 20
    assert not list(upload_dir.iterdir())


def test_size_known_is_refused_before_anything_is_copied(upload_dir):
    body = Stream(5 << 20)
    with pytest.raises(ApiError):
        read_upload(UploadFile(body, filename="big.csv", size=5 << 20), max_mb=1)
    assert body.taken == 0 and not list(upload_dir.iterdir())


def test_the_copy_is_deleted_when_the_reader_fails_unexpectedly(upload_dir, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr("api.spreadsheets.read_cases", boom)
    with pytest.raises(RuntimeError):
        read_upload(UploadFile(io.BytesIO(SHEET.encode()), filename="x.csv"), max_mb=1)
    assert not list(upload_dir.iterdir())


def test_read_upload_names_the_upload_not_the_copy(upload_dir):
    with pytest.raises(CaseFileError) as info:
        read_upload(UploadFile(io.BytesIO(b"PK\x03\x04 cut short"), filename="../会期建议.xlsx"), max_mb=1)
    assert info.value.filename == "会期建议.xlsx" and "jiaoban-upload" not in str(info.value)
