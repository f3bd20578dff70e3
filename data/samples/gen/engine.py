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
from .bank import load_topics
from .compose import Ctx, compose_body, make_title
from .parts import ECON_TOPICS, body_parts, pick_district, weighted
from .people import Proposers, as_of, written_name
from .reply import compose_reply
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
            parts = body_parts(self.rng, self.groups, p, ctx, typ, style, repeat_line, boost, p_shared=P_SHARED)
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
            "主办单位": written_name(rng, lead_id, assigned, P_SHORT_NAME), "协办单位": "、".join(co_names),
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
