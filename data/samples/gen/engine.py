"""The generator: which topic an item is about, who leads it, how it is worded, what the reply says.

Deterministic for a given seed (``random.Random``); standard library only. The knobs below were tuned so that a
simple baseline (TF-IDF character 1-3-grams + logistic regression, trained on 2021-2024, tested on 2025) lands at
about 0.85-0.9 top-1 and >= 0.95 top-3; see README.md.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

from . import generic as G
from . import topics_district, topics_economy, topics_rural, topics_social, topics_transport, topics_urban
from .bank import parse
from .city import DISTRICT_PROFILE, DISTRICTS, GIVEN_1, GIVEN_2, PARTY_GROUPS, SECTORS, SURNAMES
from .compose import Ctx, compose_body, compose_reply, make_title
from .units import UNITS

SLOT_RE = re.compile(r"\{([a-z]+)(\d?)\}")

SEED = 20260115
YEARS = [2021, 2022, 2023, 2024, 2025]
OPEN_YEAR = 2026

# ---- knobs (tuned so a char-n-gram baseline lands around 0.8-0.9 top-1; see README) --------------------------------
P_JIANYI = 0.55            # share of 建议 (the rest are 提案)
AMB_DEFAULT = 0.10         # chance a themed item is genuinely ambiguous: half its content from a sibling unit's topic,
                           # lead a coin flip between the two
P_MINOR = 0.60             # chance a themed item borrows a minority of sibling content (lead follows the emphasis)
P_SHARED = 0.65            # chance to add a sentence from the theme's shared pool
P_DUP_SEED = 0.025         # chance an item gets 1-2 near-duplicates from other proposers in the same year
P_REPEAT = 0.04            # share of a year's items that follow up an earlier B/C reply
P_SHORT_NAME = 0.2         # lead written as a short name / alias
CAT_P = {"A": 0.47, "B": 0.38, "C": 0.15}
SAT_P = {"A": (0.88, 0.11, 0.01), "B": (0.73, 0.24, 0.03), "C": (0.45, 0.33, 0.22)}
STYLE_P = [("narrative", 0.38), ("sections", 0.34), ("xwj", 0.15), ("survey", 0.13)]  # mid-length items;
# short items (target < 290 chars) are mostly "short", long ones (> 950) mostly "long"

# session calendar: (end of the 人大 session, main 交办 date, second 交办 date)
SESSIONS = {
    2021: (date(2021, 1, 22), date(2021, 2, 24), date(2021, 3, 5)),
    2022: (date(2022, 1, 14), date(2022, 2, 16), date(2022, 2, 28)),
    2023: (date(2023, 1, 13), date(2023, 2, 10), date(2023, 2, 22)),
    2024: (date(2024, 1, 26), date(2024, 2, 23), date(2024, 3, 6)),
    2025: (date(2025, 1, 17), date(2025, 2, 14), date(2025, 2, 26)),
}
SESSION_NAMES = {  # (人大, 政协)
    2021: ("十五届人大五次会议", "政协十届五次会议"), 2022: ("十六届人大一次会议", "政协十一届一次会议"),
    2023: ("十六届人大二次会议", "政协十一届二次会议"), 2024: ("十六届人大三次会议", "政协十一届三次会议"),
    2025: ("十六届人大四次会议", "政协十一届四次会议"), 2026: ("十六届人大五次会议", "政协十一届五次会议"),
}
# topics written in the economic / government-affairs register (others speak of residents and their daily life)
ECON_TOPICS = {
    "fgw/project", "fgw/bizenv", "fgw/energy", "fgw/lowalt", "czj/budget", "czj/purchase", "czj/debt", "gxj/sme",
    "gxj/industry", "gxj/network", "kjj/innovation", "swj/trade", "swj/ecommerce", "gzw/soe", "jrb/finance",
    "swu/tax", "tjj/stats", "shjj/audit", "zwfwb/onewindow", "dsjzx/data", "zwsjj/service", "zwsjj/ai",
    "scjgj/registration",
}
SECTOR_SUG = [
    "建议由{s1}牵头，{s2}配合，制定专项工作方案，明确时间表和路线图。",
    "建议{s1}会同{s2}开展联合调研，拿出切实可行的解决办法。",
    "建议{s1}加强统筹协调，{s2}积极配合，形成工作合力。",
    "建议{s1}把此事列为今年的重点工作，{s2}在政策和资金上给予支持。",
]


def load_topics():
    topics, groups = [], {}
    for mod in (topics_urban, topics_social, topics_transport, topics_rural, topics_economy, topics_district):
        t, g = parse(mod.BANK)
        topics += t
        for k, v in g.items():
            if k in groups:
                for f, lines in v.lines.items():
                    groups[k].lines[f] += lines
            else:
                groups[k] = v
    return topics, groups


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


def written_name(rng, uid: str, d: date, short_p=P_SHORT_NAME) -> str:
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


# ---- one item -----------------------------------------------------------------------------------------------------
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


class Generator:
    def __init__(self, seed=SEED):
        self.rng = random.Random(seed)
        self.topics, self.groups = load_topics()
        self.people = Proposers(self.rng)
        self.siblings = {}
        for t in self.topics:
            if t.grp:
                self.siblings.setdefault(t.grp, []).append(t)
        self._check()

    def _check(self):
        for t in self.topics:
            if t.lead != "@D" and t.lead not in UNITS:
                raise ValueError(f"topic {t.key}: unknown lead {t.lead}")
            for c in t.co + t.dist:
                if c not in UNITS:
                    raise ValueError(f"topic {t.lead}/{t.key}: unknown unit {c}")
            if not (t.N and t.T and t.P and t.S and t.A):
                raise ValueError(f"topic {t.lead}/{t.key}: needs N, T, P, S and A lines")

    def topics_for(self, year):
        y = min(year, 2025)
        return [t for t in self.topics if t.years[0] <= y <= t.years[1]]

    # -- the plan of one item: who leads, which topics feed it, where it happens --------------------------------
    def plan(self, topic, year):
        rng = self.rng
        p = {"topic": topic, "sib": None, "title_topic": topic, "district": None, "local": False}
        lead = topic.lead
        if lead == "@D":
            p["district"] = pick_district(rng, topic, topic.dist)
            p["local"] = True
            lead = p["district"]
        elif topic.loc and rng.random() < topic.loc:
            p["district"] = pick_district(rng, topic)
            p["local"] = True
            lead = p["district"]
        amb = topic.amb or (AMB_DEFAULT if topic.grp else 0)
        sibs = [s for s in self.siblings.get(topic.grp, []) if s is not topic and s.lead != topic.lead
                and s.years[0] <= min(year, 2025) <= s.years[1]]
        p["mix"] = None
        r = rng.random()
        if sibs and not p["local"] and r < amb + P_MINOR:
            s = rng.choice(sibs)
            p["sib"] = s
            p["mix"] = "genuine" if r < amb else "minor"
            if p["mix"] == "genuine":
                if rng.random() < 0.5:
                    lead = s.lead if s.lead != "@D" else pick_district(rng, s, s.dist)
                    if s.lead == "@D":
                        p["district"] = lead
                p["title_topic"] = rng.choice([topic, s])
            elif rng.random() < 0.15:
                p["title_topic"] = s
        if p["district"] is None and topic.lead != "@D":
            p["district"] = pick_district(rng, topic)  # only used if the text names a place
        p["lead"] = lead
        return p

    def parts(self, p, ctx, typ, style, repeat_line=None, boost=0):
        """Pick the raw bank lines of one body; ``boost`` (0-4) asks for more material to reach a longer target."""
        rng = self.rng
        t, s = p["topic"], p["sib"]
        grp = self.groups.get(t.grp) if t.grp else None
        n_prob = {"short": (1, 2), "long": (5, 7), "xwj": (2, 4)}.get(style, (2, 4))
        n_sug = {"short": (1, 2), "long": (5, 7)}.get(style, (2, 4))
        kp, ks = min(7, rng.randint(*n_prob) + boost), min(7, rng.randint(*n_sug) + boost)
        if style == "long":
            kp, ks = max(kp, len(t.P)), max(ks, len(t.S))
        if s:  # sibling lines closest to the shared theme, so the mix reads as one matter seen from two sides
            theme = "".join(t.N + t.T + (grp.B + grp.P if grp else []))
            sP, sS = self.relevant(s.P, theme), self.relevant(s.S, theme)
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
        if grp and rng.random() < P_SHARED + 0.1 * boost:
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
                sugs.append("｜" + rng.choice(SECTOR_SUG).format(s1=s1, s2=s2))
        return {"opener": opener, "bg": bg, "facts": facts, "local": local, "probs": probs[:9], "causes": causes,
                "sugs": sugs[:10], "closing": closing, "impact": impact, "elsewhere": elsewhere,
                "signif": signif, "long_close": long_close, "repeat": [repeat_line] if repeat_line else []}

    def title_core(self, topic, ctx, body):
        """A title core whose places the body already named (so title and body agree), else one without places."""
        ok, free = [], []
        for core in topic.T:
            slots = [m.group(1) + m.group(2) for m in re.finditer(r"\{([a-z]+)(\d?)\}", core)
                     if m.group(1) not in ("district", "year", "py", "ny")]
            if not slots:
                free.append(core)
            elif all(x in ctx.slots and ctx.slots[x] in body for x in slots):
                ok.append(core)
        cands = ok + free if ok else (free or list(topic.T))

        def overlap(core):  # shared character bigrams between the title core and the body
            plain = re.sub(r"\{[^}]*\}", "", core)
            return sum(1 for i in range(len(plain) - 1) if plain[i:i + 2] in body)

        ranked = sorted(cands, key=overlap, reverse=True)
        return self.rng.choice(ranked[:2])

    @staticmethod
    def relevant(lines, theme):
        """The better-matching half (at least two) of ``lines``, by character bigrams shared with ``theme``."""
        def score(line):
            return sum(1 for i in range(len(line) - 1) if line[i:i + 2] in theme)
        ranked = sorted(lines, key=score, reverse=True)
        return ranked[:max(2, (len(ranked) + 1) // 2)]

    def co_handlers(self, p, d):
        rng = self.rng
        pool = list(p["topic"].co)
        if p["sib"]:
            other = p["sib"].lead if p["sib"].lead != "@D" else None
            for extra in (other, p["topic"].lead):
                if extra and extra != "@D" and extra not in pool:
                    pool.insert(0, extra)
        if p["local"] and p["topic"].lead != "@D":
            pool.insert(0, p["topic"].lead)
        k = weighted(rng, [(0, 0.48), (1, 0.27), (2, 0.17), (3, 0.08)])
        if p["local"] or p.get("mix") == "genuine":
            k = max(k, rng.choice([0, 1, 1, 2]))
        out = []
        lead_now = as_of(p["lead"], d)
        for c in pool:
            if len(out) >= k:
                break
            if rng.random() < 0.7:
                cid = as_of(c, d)
                if cid != lead_now and cid not in out:
                    out.append(cid)
        return out

    def make_item(self, topic, year, typ=None, plan=None, ctx_from=None, repeat_of=None, closed=True):
        rng = self.rng
        p = plan or self.plan(topic, year)
        t = p["topic"]
        if typ is None:
            deck = getattr(self, "type_deck", None)
            typ = deck.pop() if deck else ("建议" if rng.random() < P_JIANYI else "提案")
        sess_end, d1, d2 = SESSIONS.get(year, (date(year, 1, 16), date(year, 2, 13), date(year, 2, 25)))
        r = rng.random()
        assigned = d1 if r < 0.8 else d2 if r < 0.95 else sess_end + timedelta(days=rng.randint(12, 35))
        p["co_ids"] = self.co_handlers(p, assigned)
        N = rng.choice(p["title_topic"].N)
        if ctx_from is not None:
            ctx = ctx_from.copy_places(rng, year, N)
        else:
            ctx = Ctx(rng, year, N, p["district"])
        repeat_line = None
        if repeat_of is not None:
            repeat_line = rng.choice(G.REPEAT_OPEN).format(
                py=repeat_of["年度"], N=N, dept=repeat_of["_lead_written_short"], act=repeat_of["_promise"],
                still=rng.choice(t.R + G.REPEAT_STILL if t.R else G.REPEAT_STILL)).replace("将将", "将")
        target = min(1450, max(170, rng.lognormvariate(6.05, 0.52)))
        if target < 290:
            style = weighted(rng, [("short", 0.6), ("narrative", 0.3), ("xwj", 0.1)])
        elif target > 950:
            style = weighted(rng, [("long", 0.6), ("sections", 0.3), ("survey", 0.1)])
        else:
            style = weighted(rng, STYLE_P)
        if repeat_of is not None and style == "short":
            style = "narrative"
        best = None
        for boost in range(5):
            parts = self.parts(p, ctx, typ, style, repeat_line, boost)
            body = compose_body(ctx, parts, typ, "sections" if style == "long" else style)
            if len(body) <= 1500 and (best is None or len(body) > len(best)):
                best = body
            if len(body) >= (target if style == "long" else 0.85 * target):
                break
            if boost == 1 and style == "short":
                style = "narrative"
        body = best or body[:1500]
        while len(body) < 150:
            body += "\n" + rng.choice(G.CLOSE_ECON if f"{t.lead}/{t.key}" in ECON_TOPICS else G.CLOSE)
        core = self.title_core(p["title_topic"], ctx, body)
        dup = p.get("dup_core")
        if dup and rng.random() < 0.5 and all(ctx.slots.get(m.group(1) + m.group(2), "\0") in body
                                               for m in SLOT_RE.finditer(dup) if m.group(1) != "district"):
            core = dup
        p["core"] = core
        if p["local"] and "{" not in core and rng.random() < 0.7:
            core = "{district}" + core if not core.startswith(("关于", "在")) else core
        title = make_title(ctx, core, typ)
        name, addressee, pronoun = self.people.pick(typ)
        item = {"类型": typ, "年度": year, "标题": title, "内容": body, "提案人": name,
                "_topic": t, "_plan": p, "_ctx": ctx, "_assigned": assigned}
        if not closed:
            return item

        lead_id = as_of(p["lead"], assigned)
        lead_unit = UNITS[lead_id]
        co_names = [written_name(rng, c, assigned, 0.35) for c in p["co_ids"]]
        # reply
        cat = weighted(rng, list(CAT_P.items()))
        if p["local"]:
            cat = weighted(rng, [("A", 0.38), ("B", 0.45), ("C", 0.17)])
        if repeat_of is not None:
            cat = weighted(rng, [("A", 0.5), ("B", 0.35), ("C", 0.15)])
        sat = weighted(rng, list(zip(["满意", "基本满意", "不满意"], SAT_P[cat])))
        r = rng.random()
        days = rng.randint(40, 80) if r < 0.6 else rng.randint(80, 92) if r < 0.9 else (
            rng.randint(95, 180) if r < 0.98 else rng.randint(30, 40))
        closed_on = assigned + timedelta(days=days)
        if closed_on.weekday() >= 5:
            closed_on -= timedelta(days=closed_on.weekday() - 4)
        due = rng.choice([f"{year}年底", f"{year}年底", f"{year + 1}年底", f"{year}年{rng.randint(6, 11)}月底",
                          f"{year + 1}年6月底"])
        reply_topic = t if (not p["sib"] or t.lead == "@D" or lead_id == as_of(t.lead, assigned)) else p["sib"]
        acts = list(reply_topic.A)
        xr = reply_topic.X
        title_t = p["title_topic"]
        if title_t is not reply_topic:  # answer the aspect the title names as well
            acts = rng.sample(title_t.A, min(2, len(title_t.A))) + rng.sample(acts, min(2, len(acts)))
            xr = title_t.X + reply_topic.X
        session = SESSION_NAMES[year][0 if typ == "建议" else 1]
        seq = rng.randint(1, 400)
        reply, promise = compose_reply(
            ctx, title=title, lead=lead_unit, co_names=[UNITS[c]["short_name"] for c in p["co_ids"]], cat=cat,
            addressee=addressee, pronoun=pronoun, acts=acts, xreasons=xr, no=seq, session=session,
            sign_date=closed_on - timedelta(days=rng.randint(0, 5)), follow_up_due=due, facts=reply_topic.F,
            kind=typ, mentioned=title + body)
        item.update({
            "主办单位": written_name(rng, lead_id, assigned), "协办单位": "、".join(co_names),
            "交办日期": assigned.isoformat(), "答复内容": reply, "答复类别": cat, "满意度": sat,
            "办结日期": closed_on.isoformat(), "_promise": promise, "_lead": lead_id,
            "_lead_written_short": lead_unit["short_name"], "_reply_no": seq,
        })
        return item

    # -- a whole session ----------------------------------------------------------------------------------------
    def year_items(self, year, n, history, closed=True, n_dup_pairs=None, n_repeat=None):
        rng = self.rng
        pool = self.topics_for(year)
        weights = [(t, t.w) for t in pool]
        # a deck of topics: each topic's expected count (floored), the remainder drawn by weight; keeps unit sizes
        # stable from one draw to the next
        total = sum(t.w for t in pool)
        deck = [t for t in pool for _ in range(int(n * t.w / total))]
        while len(deck) < n:
            deck.append(weighted(rng, weights))
        rng.shuffle(deck)
        n_jy = round((n + 8) * P_JIANYI)
        self.type_deck = ["建议"] * n_jy + ["提案"] * (n + 8 - n_jy)
        rng.shuffle(self.type_deck)
        items = []
        # follow-ups of earlier B/C replies (same topic, same place)
        cands = [c for c in history if c.get("_promise") and c["年度"] in (year - 1, year - 2)]
        cands += [c for c in history if c["答复类别"] == "C" and c["年度"] == year - 1 and c["_plan"]["local"]]
        rng.shuffle(cands)
        if not closed:  # the open batch follows up mostly last year's replies
            cands.sort(key=lambda c: c["年度"] != year - 1 or rng.random() < 0.2)
        k_rep = n_repeat if n_repeat is not None else int(n * P_REPEAT)
        for prev in cands[:k_rep]:
            if not prev.get("_promise"):
                prev["_promise"] = rng.choice(prev["_topic"].A).split("，")[0]
                prev["_promise"] = prev["_ctx"].fill(prev["_promise"])
            plan = dict(prev["_plan"])
            it = self.make_item(plan["topic"], year, plan=plan, ctx_from=prev["_ctx"], repeat_of=prev,
                                closed=closed)
            it["_repeat_of"] = prev.get("编号")
            items.append(it)
        # near-duplicate groups and ordinary items
        dup_budget = n_dup_pairs
        while len(items) < n:
            topic = deck.pop() if deck else weighted(rng, weights)
            it = self.make_item(topic, year, closed=closed)
            items.append(it)
            make_dup = (rng.random() < P_DUP_SEED) if dup_budget is None else dup_budget > 0
            if make_dup and len(items) < n - 1:
                if dup_budget is not None:
                    dup_budget -= 1
                for _ in range(1 if rng.random() < 0.7 or dup_budget is not None else 2):
                    plan = dict(it["_plan"])
                    plan["dup_core"] = it["_plan"]["core"]
                    d = self.make_item(topic, year, plan=plan, ctx_from=it["_ctx"], closed=closed)
                    d["_dup_of"] = id(it)
                    it["_dup_of"] = id(it)
                    items.append(d)
        rng.shuffle(items)
        seq = {"建议": 0, "提案": 0}
        for it in items:
            seq[it["类型"]] += 1
            it["编号"] = f"{'JY' if it['类型'] == '建议' else 'TA'}{year}-{seq[it['类型']]:04d}"
        for it in items:
            if closed:
                no = it["编号"][-4:].lstrip("0")
                it["答复内容"] = it["答复内容"].replace(f"（第{it['_reply_no']}号）", f"（第{no}号）")
        items.sort(key=lambda x: (x["类型"] != "建议", x["编号"]))
        return items

    def run(self, open_size=150):
        """Every closed session (2021-2025) in order, then the open batch of the next session."""
        history = []
        for y in YEARS:
            history += self.year_items(y, self.rng.randint(290, 335), history)
        open_items = self.year_items(OPEN_YEAR, open_size, history, closed=False, n_dup_pairs=5, n_repeat=6)
        return history, open_items
