"""The unit registry through time (renames and merges) and the people who submit items.

All randomness comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

from datetime import date

from .city import GIVEN_1, GIVEN_2, PARTY_GROUPS, SECTORS, SURNAMES
from .units import UNITS


# ---- the registry through time ----------------------------------------------------------------------------------
def as_of(uid: str, d: date) -> str:
    """The unit that carried ``uid``'s duties on day ``d`` (renames and merges, both directions)."""
    u = UNITS[uid]
    if u["until"] and d > date.fromisoformat(u["until"]):
        return as_of(u["successor"], d)
    if u["since"] and d < date.fromisoformat(u["since"]):
        preds = [p for p in UNITS.values() if p["successor"] == uid]
        return as_of(preds[0]["id"], d)
    return uid


def written_name(rng, uid: str, d: date, short_p: float) -> str:
    """How a ledger wrote the unit ``uid`` on day ``d``: its full name, or with chance ``short_p`` a short
    name or alias."""
    u = UNITS[uid]
    # the year after a rename, some ledgers still use the old short name
    preds = [p for p in UNITS.values() if p["successor"] == uid and p["until"]]
    if preds and u["since"] and d.year == date.fromisoformat(u["since"]).year and rng.random() < 0.12:
        return preds[0]["short_name"]
    if rng.random() < short_p:
        return rng.choice([u["short_name"]] * 2 + u["aliases"][:2])
    return u["name"]


# ---- people ------------------------------------------------------------------------------------------------------
def make_people(rng, n):
    out = []
    seen = set()
    while len(out) < n:
        s = rng.choice(SURNAMES)
        pairs = [GIVEN_1[i:i + 2] for i in range(0, len(GIVEN_1) - 1, 2)]
        g = rng.choice(pairs) if rng.random() < 0.45 else (
            rng.choice(GIVEN_2) + (rng.choice(GIVEN_2) if rng.random() < 0.6 else ""))
        name = s + g
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


class Proposers:
    def __init__(self, rng):
        self.rng = rng
        self.deputies = make_people(rng, 280)
        self.members = make_people(rng, 240)

    def pick(self, typ):
        rng = self.rng
        if typ == "建议":
            name = rng.choice(self.deputies)
            if rng.random() < 0.2:
                return f"{name}等{rng.randint(2, 16)}名代表", f"{name}代表", "您"
            return name, f"{name}代表", "您"
        r = rng.random()
        if r < 0.12:
            g = rng.choice(PARTY_GROUPS)
            return g, g, "贵会"
        if r < 0.21:
            s = rng.choice(SECTORS)
            return s, s, "你们"
        name = rng.choice(self.members)
        if r < 0.29:
            other = rng.choice(self.members)
            if other != name:
                return f"{name}、{other}", f"{name}委员", "您"
        return name, f"{name}委员", "您"
