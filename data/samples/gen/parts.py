"""The raw material of one item: weighted draws, the district it happens in, and the bank lines of its body.

All randomness comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

import re

from . import generic as G
from .city import DISTRICT_PROFILE, DISTRICTS
from .units import UNITS

# topics written in the economic / government-affairs register (others speak of residents and their daily life)
ECON_TOPICS = frozenset(G.ECON_TOPICS)


def weighted(rng, pairs):
    r = rng.random() * sum(w for _, w in pairs)
    for v, w in pairs:
        r -= w
        if r <= 0:
            return v
    return pairs[-1][0]


def pick_n(rng, lst, n):
    return rng.sample(lst, min(n, len(lst)))


def place_types(lines):
    keys = set(re.findall(r"\{([a-z]+)\d?(?::|\})", " ".join(lines)))
    return [k for k in ("village", "community", "estate", "road", "school", "market", "park", "hospital", "clinic",
                        "town", "scenic", "indpark")
            if k in keys or (k == "village" and "vname" in keys)]


def pick_district(rng, topic, allowed=None):
    need = {"village": "villages", "community": "communities", "estate": "estates", "road": "roads",
            "school": "schools", "market": "markets", "park": "parks", "hospital": "hospitals", "town": "towns",
            "clinic": "clinics", "scenic": "scenic", "indpark": "indparks"}
    types = place_types(topic.L + topic.T)
    cands = [d for d in (allowed or list(DISTRICTS)) if all(DISTRICTS[d][need[t]] for t in types)]
    cands = cands or (allowed or list(DISTRICTS))
    w = {"dhq": 1.2, "xsq": 1.1, "ljq": 1.0, "gxq": 0.55, "qsx": 1.1, "yxx": 0.95}
    return weighted(rng, [(d, w[d]) for d in cands])


def relevant(lines, theme):
    """The better-matching half (at least two) of ``lines``, by character bigrams shared with ``theme``."""
    def score(line):
        return sum(1 for i in range(len(line) - 1) if line[i:i + 2] in theme)
    ranked = sorted(lines, key=score, reverse=True)
    return ranked[:max(2, (len(ranked) + 1) // 2)]


def body_parts(rng, groups, p, ctx, typ, style, repeat_line=None, boost=0, *, p_shared):
    """Pick the raw bank lines of one body; ``boost`` (0-4) asks for more material to reach a longer target.

    ``p`` is the item's plan (``Generator.plan``), ``groups`` the theme pools by name, ``p_shared`` the chance
    to add lines from the theme's shared pool.
    """
    t, s = p["topic"], p["sib"]
    grp = groups.get(t.grp) if t.grp else None
    n_prob = {"short": (1, 2), "long": (5, 7), "xwj": (2, 4)}.get(style, (2, 4))
    n_sug = {"short": (1, 2), "long": (5, 7)}.get(style, (2, 4))
    kp, ks = min(7, rng.randint(*n_prob) + boost), min(7, rng.randint(*n_sug) + boost)
    if style == "long":
        kp, ks = max(kp, len(t.P)), max(ks, len(t.S))
    if s:  # sibling lines closest to the shared theme, so the mix reads as one matter seen from two sides
        theme = "".join(t.N + t.T + (grp.B + grp.P if grp else []))
        sP, sS = relevant(s.P, theme), relevant(s.S, theme)
    if s and p["mix"] == "genuine":
        probs = pick_n(rng, t.P, (kp + 1) // 2) + pick_n(rng, sP, kp // 2 + 1)
        sugs = pick_n(rng, t.S, (ks + 1) // 2) + pick_n(rng, sS, ks // 2 + 1)
    elif s:  # the sibling's angle as a minority (about a third); the lead follows the emphasis
        kp, ks = max(kp, 3), max(ks, 3)
        kps, kss = max(1, round(kp * rng.uniform(0.3, 0.5))), max(1, round(ks * rng.uniform(0.3, 0.5)))
        probs = pick_n(rng, t.P, kp - kps) + pick_n(rng, sP, kps)
        sugs = pick_n(rng, t.S, ks - kss) + pick_n(rng, sS, kss)
    else:
        probs, sugs = pick_n(rng, t.P, kp), pick_n(rng, t.S, ks)
    if s:
        rng.shuffle(probs)
        rng.shuffle(sugs)
    bg = pick_n(rng, t.B, rng.choice([1, 1, 2]) + (boost > 1)) if t.B else []
    if s and s.B and rng.random() < (0.5 if p["mix"] == "genuine" else 0.2):
        bg.append(rng.choice(s.B))
    if boost and rng.random() < 0.5:
        bg.append(rng.choice(G.PROGRESS))
    if grp and rng.random() < p_shared + 0.1 * boost:
        pool = [("B", x) for x in grp.B] + [("P", x) for x in grp.P]
        for kind, line in pick_n(rng, pool, rng.choice([1, 1, 2])):
            (bg if kind == "B" else probs).insert(0 if kind == "B" else rng.randint(0, len(probs)), line)
    econ = f"{t.lead}/{t.key}" in ECON_TOPICS
    if style != "short" and rng.random() < 0.25 + 0.2 * boost:
        sugs.append(rng.choice(G.GENERIC_SUG_ECON if econ else G.GENERIC_SUG))
    causes = []
    if style == "long":
        causes = pick_n(rng, t.C, rng.randint(2, 3))
    elif style != "short" and rng.random() < 0.55 + 0.15 * boost:
        causes = pick_n(rng, t.C, rng.randint(1, 2) + boost // 2)
    if style != "short" and (not t.C or boost > 2 or rng.random() < 0.15) and (causes or boost > 1):
        causes.append(rng.choice(G.GENERIC_CAUSE))
    nf = {"survey": 2, "long": 2}.get(style, 1 if rng.random() < 0.5 + 0.15 * boost else 0)
    facts = pick_n(rng, t.F, nf)
    local_pool = list(t.L) + (list(grp.L) if grp else [])
    if p["local"]:
        local = pick_n(rng, local_pool, rng.choice([1, 2, 2]))
        if ctx.district and rng.random() < 0.3:
            bg.insert(0, rng.choice(DISTRICT_PROFILE[ctx.district]))
    else:
        local = pick_n(rng, local_pool, 1) if local_pool and rng.random() < 0.4 + 0.1 * boost else []
        if local and rng.random() < 0.4:
            line = local[0]
            if line.startswith("{district}"):
                lead_in = rng.choice(["以{district}为例，", "据了解，", "在{district}，", ""])
                if "{district}" in lead_in:
                    line = line[len("{district}"):]
            else:
                lead_in = rng.choice(["据了解，", ""])
            local[0] = lead_in + line
    opener = []
    if not repeat_line and rng.random() < 0.75 + 0.1 * boost:
        if econ:
            bank = G.OPEN_ECON + (G.OPEN_ECON_JY if typ == "建议" else G.OPEN_ECON_TA) * 2
        else:
            bank = G.OPEN_COMMON + (G.OPEN_JY if typ == "建议" else G.OPEN_TA) * 2
        opener = [rng.choice(bank)]
    closing = [rng.choice(G.CLOSE_ECON if econ else G.CLOSE)] if rng.random() < 0.55 else []
    impact, elsewhere = [], []
    if style != "short":
        if rng.random() < (0.9 if style == "long" else 0.3 + 0.2 * boost):
            impact.append(rng.choice(G.IMPACT_ECON if econ else G.IMPACT))
        if rng.random() < (0.8 if style == "long" else 0.15 + 0.2 * boost):
            elsewhere.append(rng.choice(G.ELSEWHERE))
    signif, long_close = [], []
    if style == "long":
        if rng.random() < 0.7:
            signif = pick_n(rng, G.SIGNIF_ECON if econ else G.SIGNIF, 2)
        if rng.random() < 0.6:
            long_close = [rng.choice(G.LONG_CLOSE)]
        if rng.random() < 0.5:
            sugs += pick_n(rng, [x for x in (G.GENERIC_SUG_ECON if econ else G.GENERIC_SUG) if x not in sugs], 1)
    if style != "short" and rng.random() < 0.08 and p.get("co_ids"):
        who = [p["lead"], p["topic"].lead if p["topic"].lead != "@D" else p["lead"]] + p["co_ids"][:1]
        s1 = UNITS[rng.choice(who)]["sector"]
        s2 = "、".join(UNITS[c]["sector"] for c in p["co_ids"][:2] if UNITS[c]["sector"] != s1)
        if s2:
            sugs.append("｜" + rng.choice(G.SECTOR_SUG).format(s1=s1, s2=s2))
    return {"opener": opener, "bg": bg, "facts": facts, "local": local, "probs": probs[:9], "causes": causes,
            "sugs": sugs[:10], "closing": closing, "impact": impact, "elsewhere": elsewhere,
            "signif": signif, "long_close": long_close, "repeat": [repeat_line] if repeat_line else []}
