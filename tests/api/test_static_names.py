"""The page's scripts are classic scripts sharing one global scope: a top-level function declared in two of them is
silently replaced by the later one (office.js's job watcher once replaced the session page's, so a sheet upload
failed with "Cannot read properties of undefined"). Every top-level name is declared once."""

import re
from collections import defaultdict
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
TOP_LEVEL = re.compile(r"^(?:async\s+)?function\s+([A-Za-z_$][\w$]*)|^(?:const|let|var|class)\s+([A-Za-z_$][\w$]*)",
                       re.MULTILINE)


def test_every_top_level_name_is_declared_once_across_the_pages_scripts():
    where = defaultdict(list)
    for script in sorted(STATIC.glob("*.js")):
        for m in TOP_LEVEL.finditer(script.read_text(encoding="utf-8")):
            where[m.group(1) or m.group(2)].append(script.name)
    assert len(where) > 50  # the pattern does find the declarations
    twice = {name: files for name, files in where.items() if len(files) > 1}
    assert twice == {}
