"""Topic-independent phrase banks: openings, connectives, closings and the frames of reply letters.

The lists live in ``banks/generic.txt``; each ``=== NAME`` list there is read as ``generic.NAME`` (a list of str).
{N} is the topic noun phrase, {year}/{py}/{ny} the session year, the year before and the year after.
"""

from __future__ import annotations

from .bank import parse_lists, read_bank

LISTS = parse_lists(read_bank("generic.txt"))


def __getattr__(name):
    try:
        return LISTS[name]
    except KeyError:
        raise AttributeError(f"no list {name!r} in banks/generic.txt") from None
