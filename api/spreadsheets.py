"""Uploaded spreadsheets (CSV in UTF-8/GBK, XLSX, JSONL) read with the same reader the command line uses."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass

from fastapi import UploadFile

from api.errors import ApiError
from models.casefile import CaseFileError, ReadResult, file_suffix, read_cases

CHUNK = 1 << 20


def upload_name(filename: str | None) -> str:
    """The name the browser sent, fit to quote back: no folders, no control characters, at most 80 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > 80:
        name = name[:60] + "…" + name[-19:]
    return name or "上传的文件"


def read_upload(upload: UploadFile, *, max_mb: int, categories: list[str] | None = None) -> ReadResult:
    """Copy the upload to a temporary file (bounded size), read every row, and delete the copy.

    Raises:
        CaseFileError: an unsupported type, an empty, damaged or unusable file (422 at the edge, field ``file``).
        ApiError (413): larger than ``max_mb``; refused before the rest of it is copied.
    """
    return receive_upload(upload, max_mb=max_mb, categories=categories).read


@dataclass
class Received:
    read: ReadResult
    name: str  # as the browser sent it, fit to quote back
    sha256: str  # of the file's bytes: the same sheet uploaded twice is recognised


def receive_upload(upload: UploadFile, *, max_mb: int, categories: list[str] | None = None) -> Received:
    """:func:`read_upload`, with the file's name and hash."""
    name = upload_name(upload.filename)
    try:
        suffix = file_suffix(name)
    except CaseFileError as exc:
        exc.filename = name
        raise
    limit = max_mb * CHUNK
    if upload.size is not None and upload.size > limit:
        raise _too_large(name, max_mb)
    fd, tmp = tempfile.mkstemp(suffix=suffix, prefix="jiaoban-upload-")
    digest = hashlib.sha256()
    try:
        size = 0
        with os.fdopen(fd, "wb") as fh:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _too_large(name, max_mb)
                digest.update(chunk)
                fh.write(chunk)
        return Received(read_cases(tmp, categories=categories, name=name), name, digest.hexdigest())
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _too_large(name: str, max_mb: int) -> ApiError:
    return ApiError(f"文件“{name}”超过上传上限 {max_mb} MB；请拆分后分批上传，或请管理员调高 JIAOBAN_MAX_UPLOAD_MB",
                    code="file_too_large", status=413, details={"field": "file", "filename": name, "max_mb": max_mb})
