"""Read the data files in ``banks/``: the topic phrase banks, the generic phrase lists, and the JSON tables.

A topic bank (``banks/topics_*.txt``) is plain UTF-8 text. ``=== lead key attr=value ...`` opens a topic;
``=== @grp name`` opens the shared pool of a theme that several departments' topics draw on. Each following line
is ``X text`` where X says what the text is:

    N  the topic as a noun phrase ("老旧小区加装电梯"), fits "{N}工作" / "{N}问题"
    T  a title core ("加快推进老旧小区加装电梯工作"), becomes "关于…的建议" etc.
    B  background sentence          P  problem ("短标题｜展开" or a sentence)
    C  cause                        S  suggestion ("动词短语｜展开")
    F  fact with numbers            L  local detail naming a place
    A  action a reply can report (verb phrase: 已… / 将… / 计划于…前…)
    X  reason a C reply gives for not acting now
    R  what a follow-up proposal says is still unsolved

Attributes: w (weight), co (co-handler ids, most likely first), grp (theme), years (2021-2025), amb (chance the item
mixes in a sibling topic of its theme), loc (chance the item is a district's local matter), dist (districts for
district-led topics, lead "@D"). Text may hold slots: {road} {estate} {village} {int:3-9} {pct:10-30} {year}….
Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

FIELDS = "NTBPCSFLAXR"
BANKS = Path(__file__).parent / "banks"
# The topic banks in load order (the order fixes the topic deck and how the theme pools are merged).
TOPIC_BANKS = (
    "topics_urban.txt",      # housing and urban construction, city management, planning, housing fund, city investment
    "topics_social.txt",     # education, health, medical insurance, civil affairs, jobs, federations, veterans, sport
    "topics_transport.txt",  # the shared theme pools (=== @grp), then transport, bus company, public security and
                             # traffic police, emergency, fire, power supply
    "topics_rural.txt",      # agriculture and rural affairs, rural revitalisation (乡村振兴局 until 2023), water,
                             # forestry, co-ops
    "topics_economy.txt",    # development & reform, finance, industry, science, commerce, market regulation,
                             # environment, culture and tourism, government services and data, justice, state assets,
                             # local finance, tax, statistics, audit
    "topics_district.txt",   # local matters whose lead is a district or county government (lead "@D")
)


def read_bank(name: str) -> str:
    """The text of ``banks/<name>``."""
    return (BANKS / name).read_text(encoding="utf-8")


def read_json(name: str):
    return json.loads(read_bank(name))


@dataclass
class Topic:
    lead: str
    key: str
    w: float = 1.0
    co: list = field(default_factory=list)
    grp: str | None = None
    years: tuple = (2021, 2025)
    amb: float = 0.0
    loc: float = 0.0
    dist: list = field(default_factory=list)
    lines: dict = field(default_factory=lambda: {k: [] for k in FIELDS})

    def __getattr__(self, name):
        if len(name) == 1 and name in FIELDS:
            return self.lines[name]
        raise AttributeError(name)


def parse(text: str) -> tuple[list[Topic], dict[str, Topic]]:
    topics: list[Topic] = []
    groups: dict[str, Topic] = {}
    cur: Topic | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("==="):
            parts = line[3:].split()
            if parts[0] == "@grp":
                cur = groups.setdefault(parts[1], Topic(lead="", key=parts[1]))
                continue
            cur = Topic(lead=parts[0], key=parts[1])
            for attr in parts[2:]:
                k, v = attr.split("=", 1)
                if k == "w":
                    cur.w = float(v)
                elif k == "co":
                    cur.co = v.split(",")
                elif k == "grp":
                    cur.grp = v
                elif k == "years":
                    a, b = v.split("-")
                    cur.years = (int(a), int(b))
                elif k in ("amb", "loc"):
                    setattr(cur, k, float(v))
                elif k == "dist":
                    cur.dist = v.split(",")
                else:
                    raise ValueError(f"bank line {n}: unknown attribute {k}")
            topics.append(cur)
            continue
        key, _, body = line.partition(" ")
        if key not in FIELDS or cur is None or not body.strip():
            raise ValueError(f"bank line {n}: cannot parse {line!r}")
        cur.lines[key].append(body.strip())
    return topics, groups


def load_topics(names=TOPIC_BANKS) -> tuple[list[Topic], dict[str, Topic]]:
    """Every topic of the banks ``names``, in order, and the theme pools (a pool named in several banks is merged)."""
    topics, groups = [], {}
    for name in names:
        t, g = parse(read_bank(name))
        topics += t
        for k, v in g.items():
            if k in groups:
                for f, lines in v.lines.items():
                    groups[k].lines[f] += lines
            else:
                groups[k] = v
    return topics, groups


def parse_lists(text: str) -> dict[str, list[str]]:
    """Named phrase lists (``banks/generic.txt``): ``=== NAME`` opens a list, each following line is one entry.

    A line holding only ``""`` is the empty entry; blank lines and lines starting with ``#`` are skipped.
    """
    lists: dict[str, list[str]] = {}
    cur: list[str] | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("==="):
            name = line[3:].strip()
            if not name or name in lists:
                raise ValueError(f"list line {n}: missing or repeated list name {name!r}")
            cur = lists[name] = []
        elif cur is None:
            raise ValueError(f"list line {n}: entry before the first === NAME")
        else:
            cur.append("" if line == '""' else line)
    return lists
