"""The handling units of 江州市 (all fictional), with their reorganisation history (data in ``banks/units.json``).

Each entry: id, full name, short name, aliases, kind, duties, since/until/successor, plus two fields used only by
the generator (not written to departments.json): ``self`` (how the unit calls itself in a reply: 我局/我委/我区…)
and ``sector`` (how a proposal refers to it: 住建部门, 教育部门…). The district and county governments
(kind "district") come last.
"""

from __future__ import annotations

from .bank import read_json

U = read_json("units.json")
UNITS = {u["id"]: u for u in U}
DISTRICT_IDS = [u["id"] for u in U if u["kind"] == "district"]
