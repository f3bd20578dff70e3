"""Which part of a split unit (拆分) an old case belongs to: the part whose own words its text uses most."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.departments import Department, DepartmentRegistry

_PUNCT = re.compile(r"[\s\W_]+")


def bigrams(text: str) -> dict[str, int]:
    """Counts of the character pairs of ``text``, punctuation and spaces removed."""
    chars = _PUNCT.sub("", text or "")
    out: dict[str, int] = {}
    for i in range(len(chars) - 1):
        out[chars[i:i + 2]] = out.get(chars[i:i + 2], 0) + 1
    return out


def split_part(registry: DepartmentRegistry, dept: Department, text: str) -> str:
    """The part of split ``dept`` whose own words (character pairs of its names and duties, and of the unit that
    carries them today, that the other parts lack) occur most often in ``text``; the main successor on a tie or
    when none occurs."""
    grams = {}
    for part in dept.split_into:
        now, then = registry.current(part), registry.get(part)
        grams[part] = bigrams(" ".join((*now.names(), now.duties, *then.names(), then.duties)))
    text_grams = bigrams(text)
    scores = {}
    for part, own in grams.items():
        others = set().union(*(g for p, g in grams.items() if p != part))
        scores[part] = sum(text_grams.get(g, 0) for g in own.keys() - others)
    best = max(scores.values())
    winners = [p for p, v in scores.items() if v == best]
    return winners[0] if best > 0 and len(winners) == 1 else str(dept.successor)
