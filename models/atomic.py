"""Files that a reader may open while they are being written (a job's result.json polled by the page, a bundle's
manifest): written to a sibling and renamed into place, so a reader sees the old file or the whole new one, never
a half-written one."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` by a rename; the sibling is removed when the write fails."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj, indent: int = 1) -> None:
    write_text_atomic(path, json.dumps(obj, ensure_ascii=False, indent=indent))


__all__ = ["write_json_atomic", "write_text_atomic"]
