"""Uploaded spreadsheets (CSV in UTF-8/GBK, XLSX, JSONL) read with the same reader the command line uses."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import UploadFile

from api.errors import ApiError, Unprocessable
from models.casefile import ReadResult, read_cases

SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".jsonl", ".ndjson")
CHUNK = 1 << 20


def read_upload(upload: UploadFile, *, max_mb: int, categories: list[str] | None = None) -> ReadResult:
    """Copy the upload to a temporary file (bounded size), read every row, and delete the copy.

    Raises:
        Unprocessable: no file, an unsupported type, or an empty file.
        ApiError (413): larger than ``max_mb``.
        CaseFileError: the file as a whole cannot be read (translated to 422 at the edge).
    """
    name = upload.filename or ""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise Unprocessable(f"字段“file”：不支持的文件类型“{suffix or name}”，请上传 CSV、XLSX 或 JSONL 文件",
                            code="unsupported_file", details={"field": "file", "filename": name})
    fd, tmp = tempfile.mkstemp(suffix=suffix, prefix="jiaoban-upload-")
    try:
        size = 0
        with os.fdopen(fd, "wb") as fh:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > max_mb * CHUNK:
                    raise ApiError(f"上传文件超过 {max_mb} MB 上限，请拆分后分批上传", code="file_too_large",
                                   status=413, details={"field": "file", "max_mb": max_mb})
                fh.write(chunk)
        if size == 0:
            raise Unprocessable("字段“file”：上传的文件是空的", code="empty_file", details={"field": "file"})
        return read_cases(tmp, categories=categories)
    finally:
        os.unlink(tmp)
