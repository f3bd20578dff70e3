"""Turn a topic's phrase bank into one item: slot filling, the title and the body (the reply is in reply.py).

All randomness comes from the ``random.Random`` passed in, so a fixed seed gives the same files every run.
"""

from __future__ import annotations

import re

from . import generic as G
from .city import CITY_PLACES, DISTRICTS

SLOT = re.compile(r"\{([a-zA-Z]+)(\d?)(?::([\d.]+)-([\d.]+))?\}")
PLACE_KEYS = {
    "town": "towns", "village": "villages", "community": "communities", "estate": "estates", "road": "roads",
    "school": "schools", "market": "markets", "park": "parks", "hospital": "hospitals", "river": "rivers",
    "clinic": "clinics", "scenic": "scenic", "indpark": "indparks",
}
DISTRICT_NAMES = [v["name"] for v in DISTRICTS.values()]


def town_of(name, district):
    """The town a place is named after ("龙潭镇中心小学" -> "龙潭镇"), if any."""
    for t in DISTRICTS[district]["towns"]:
        if name.startswith(t):
            return t
    return None


CN = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
VERBISH = tuple(G.VERBISH)  # a title core starting with one of these reads as a verb phrase
END_PUNCT = "。！？；："
# facts that name their own source get no "据统计，" in front
SOURCED = ("据", "一项", "12345", "抽查", "问卷", "调研", "对全市", "在已", "截至", "预计", "近三年", "{")


def end(s: str) -> str:
    s = s.strip()
    if not s:
        return s
    if s[-1] == "”":
        return s if len(s) > 1 and s[-2] in "。！？" else s + "。"
    return s if s[-1] in END_PUNCT else s + "。"


def head_detail(line: str) -> tuple[str, str]:
    if "｜" in line:
        h, d = line.split("｜", 1)
        return h.strip(), d.strip()
    return "", line.strip()


class Ctx:
    """Everything one item needs to stay consistent: its year, district and the places already named."""

    def __init__(self, rng, year, N, district=None, slots=None):
        self.rng = rng
        self.year = year
        self.N = N
        self.district = district
        self.slots = dict(slots or {})
        self.filled = {}

    def copy_places(self, rng, year, N):
        return Ctx(rng, year, N, self.district, {k: v for k, v in self.slots.items() if not k.startswith("_")})

    def _district_for(self, key):
        if self.district is None:
            cands = [d for d, v in DISTRICTS.items() if v[key]]
            self.district = self.rng.choice(cands)
        return self.district

    def _place(self, base, idx):
        name = base + idx
        if name in self.slots:
            return self.slots[name]
        key = PLACE_KEYS[base]
        d = self._district_for(key)
        pool = DISTRICTS[d][key]
        if not pool:
            pool = DISTRICTS[self.rng.choice([k for k, v in DISTRICTS.items() if v[key]])][key]
        used = {v for k, v in self.slots.items() if k.startswith(base)}
        town = self.slots.get("town")
        if base == "town" and "village" in self.slots and not idx:
            val = self.slots["_vtown"]
        elif base == "village":
            choices = [p for p in pool if p[0] + p[1] not in used] or pool
            if town and not idx:
                choices = [p for p in choices if p[0] == town] or choices
            vtown, vil = self.rng.choice(choices)
            self.slots.setdefault("town", vtown)
            self.slots["_vtown"] = vtown
            self.slots["vname" + idx] = vil
            val = vtown + vil
        else:
            choices = [p for p in pool if p not in used] or pool
            if town and base != "town":  # a place named after a town must agree with the town already named
                choices = [p for p in choices if town_of(p, d) in (None, town)] or choices
            val = self.rng.choice(choices)
            if base != "town" and not idx:
                t = town_of(val, d)
                if t:
                    self.slots.setdefault("town", t)
        self.slots[name] = val
        return val

    def fill(self, text: str) -> str:
        """Fill the slots of one bank line. A line naming {district} together with a kind of place the item's
        district does not have (a village in an urban district) is rendered for another district that has it."""
        need = [PLACE_KEYS[m.group(1)] for m in SLOT.finditer(text) if m.group(1) in PLACE_KEYS]
        if "{district}" in text and need:
            if self.district is None:
                cands = [d for d, v in DISTRICTS.items() if all(v[k] for k in need)]
                if cands:
                    self.district = self.rng.choice(cands)
            elif not all(DISTRICTS[self.district][k] for k in need):
                cands = [d for d, v in DISTRICTS.items() if all(v[k] for k in need)]
                if cands:
                    other = Ctx(self.rng, self.year, self.N, self.rng.choice(cands))
                    return other.fill(text)
        if text in self.filled:
            return self.filled[text]
        out = self._fill(text)
        if text.startswith(("全市", "截至", "据", "一项", "{")) or "{int" in text or "{pct" in text:
            self.filled[text] = out  # a fact keeps its numbers when the reply quotes it again
        return out

    def _fill(self, text: str) -> str:
        rng = self.rng

        def rep(m):
            base, idx, a, b = m.groups()
            if base in PLACE_KEYS:
                return self._place(base, idx)
            if base == "vname":
                if "vname" + idx not in self.slots:
                    self._place("village", idx)
                return self.slots["vname" + idx]
            if base == "district":
                if self.district is None:
                    self.district = rng.choice(list(DISTRICTS))
                return DISTRICTS[self.district]["name"]
            if base in CITY_PLACES:
                key = base + idx
                if key not in self.slots:
                    self.slots[key] = rng.choice(CITY_PLACES[base])
                return self.slots[key]
            if base == "int":
                return str(rng.randint(int(float(a)), int(float(b))))
            if base == "pct":
                v = rng.uniform(float(a), float(b))
                return f"{v:.1f}%" if rng.random() < 0.5 else f"{round(v)}%"
            if base == "dec":
                return f"{rng.uniform(float(a), float(b)):.1f}"
            if base == "year":
                return str(self.year)
            if base == "py":
                return str(self.year - 1)
            if base == "ny":
                return str(self.year + 1)
            if base == "N":
                return self.N
            raise KeyError(f"unknown slot {m.group(0)}")

        out = SLOT.sub(rep, text)
        for d in DISTRICT_NAMES:
            out = out.replace(d + d, d)
        return out


# ---------------------------------------------------------------------------------------------------------------
def make_title(ctx: Ctx, core: str, typ: str) -> str:
    rng = ctx.rng
    core = ctx.fill(core)
    for frame in ("的建议", "的提案"):
        core = core.removesuffix(frame)
    core = core.removeprefix("关于")
    suffix = "建议" if typ == "建议" else "提案"
    verbish = core.startswith(VERBISH)
    r = rng.random()
    if verbish and r < 0.09:
        further = rng.random() < 0.3 and not core.startswith(("进一步", "尽快", "切实"))
        return "建议" + ("进一步" if further else "") + core
    if typ == "提案" and r < 0.15:
        return core
    if verbish and not core.startswith(("进一步", "尽快", "切实")) and r < 0.27:
        return f"关于进一步{core}的{suffix}"
    if r < 0.33:
        return f"关于{core}的几点建议"
    if typ == "建议" and r < 0.36:
        return f"关于{core}的意见和建议"
    return f"关于{core}的{suffix}"


def ordinal(style: str, i: int) -> str:
    if style == "cn":
        return f"{CN[i]}、"
    if style == "paren":
        return f"（{CN[i]}）"
    if style == "num":
        return f"{i + 1}．"
    if style == "shi":
        return f"{CN[i]}是"
    if style == "seq":
        return ["首先，", "其次，", "再次，", "此外，", "最后，", "另外，"][i]
    return ""


def enumerate_items(rng, items, style, sep="\n", detail_p=0.8):
    """items: lines "head｜detail"; returns text with each item numbered."""
    out = []
    for i, line in enumerate(items):
        h, d = head_detail(line)
        use_detail = d and (not h or rng.random() < detail_p)
        if style == "shi":
            if h:
                piece = f"{CN[i]}是{h.rstrip('。')}" + (f"。{end(d)}" if use_detail else "。")
            else:
                piece = f"{CN[i]}是{end(d)}"
        elif style == "seq":
            piece = (ordinal(style, min(i, 5)) + (f"要{h.rstrip('。')}。" if h else "")
                     + (end(d) if use_detail or not h else ""))
        else:
            piece = ordinal(style, i) + (end(h) if h else "") + (end(d) if use_detail or not h else "")
        out.append(piece)
    return sep.join(out)


def plain_sentences(items):
    return "".join(end(head_detail(x)[1]) for x in items)


def join_para(parts):
    return "".join(p for p in parts if p)


def compose_body(ctx: Ctx, parts: dict, typ: str, style: str) -> str:
    """parts: opener, bg, facts, local, probs, causes, sugs, closing, repeat (lists of raw bank lines)."""
    rng = ctx.rng
    f = ctx.fill
    opener = [f(x) for x in parts["opener"]]
    bg = [f(x) for x in parts["bg"]]
    facts = []
    for x in parts["facts"]:
        text = f(x)
        sourced = x.startswith(SOURCED)
        facts.append(text if sourced else rng.choice(G.FACT_PREFIX) + text)
    local = [f(x) for x in parts["local"]]
    probs = [f(x) for x in parts["probs"]]
    causes = [f(x) for x in parts["causes"]]
    sugs = [f(x) for x in parts["sugs"]]
    closing = [f(x) for x in parts["closing"]]
    impact = [f(x) for x in parts.get("impact", [])]
    elsewhere = [f(x) for x in parts.get("elsewhere", [])]
    ew = "".join(elsewhere)
    repeat = [f(x) for x in parts.get("repeat", [])]

    intro_bits = repeat + opener + bg
    rng.shuffle(intro_bits) if not repeat and rng.random() < 0.3 else None
    intro = join_para(end(x) for x in intro_bits)

    if style == "short":
        p = plain_sentences(probs[:2])
        heads = [head_detail(s)[0] or head_detail(s)[1] for s in sugs[:2]]
        heads = [h.rstrip("。") for h in heads]
        tail = "建议" + "，".join(heads) + "。" if heads else ""
        return join_para([intro, join_para(local[:1]), p, tail])

    if style == "narrative":
        paras = [join_para([intro] + facts)]
        pi = rng.choice(G.PROB_INTRO)
        if len(probs) >= 2 and rng.random() < 0.6:
            paras.append(join_para([pi, *local]) + enumerate_items(rng, probs, "shi", sep="", detail_p=0.95))
        else:
            paras.append(join_para([pi, plain_sentences(probs), *local]))
        paras[-1] += "".join(impact)
        if causes:
            paras.append(rng.choice(G.CAUSE_INTRO) + plain_sentences(causes))
        sstyle = rng.choice(["shi", "shi", "seq", "num"])
        sep = "" if sstyle in ("shi", "seq") else "\n"
        paras.append(ew + rng.choice(G.SUG_INTRO) + (sep or "\n") + enumerate_items(rng, sugs, sstyle, sep=sep,
                                                                                       detail_p=0.9))
        if closing:
            paras.append(closing[0])
        return "\n".join(p for p in paras if p)

    if style == "xwj":  # 现状—问题—建议
        label = rng.choice([("【现状】", "【问题】", "【建议】"), ("一、现状\n", "二、问题\n", "三、建议\n"),
                            ("现状：", "问题：", "建议：")])
        s1 = join_para([intro, *facts, *local])
        s2 = plain_sentences(probs) + (plain_sentences(causes) if causes else "") + "".join(impact)
        s3 = (ew + "\n" if ew else "") + enumerate_items(rng, sugs, rng.choice(["num", "paren"]), sep="\n")
        out = f"{label[0]}{s1}\n{label[1]}{s2}\n{label[2]}{s3}"
        return out + ("\n" + closing[0] if closing else "")

    if style == "survey":
        who = "我们" if typ == "提案" else "本人"
        s1 = join_para([intro, f"近期，{who}就{ctx.N}进行了走访调研。", *facts])
        s2 = "调研发现：\n" + enumerate_items(rng, probs, "num", sep="\n", detail_p=0.6)
        s3 = join_para(local + impact)
        s4 = ew + rng.choice(G.SUG_INTRO) + "\n" + enumerate_items(rng, sugs, "num", sep="\n")
        return "\n".join(x for x in [s1, s2, s3, s4] + closing[:1] if x)

    # "sections" (and "long"): numbered sections with sub-items
    N = ctx.N
    secs = []
    n = 0
    if parts.get("signif"):
        heading = rng.choice(G.SEC_SIGNIF).replace("{N}", N)
        secs.append(f"{CN[n]}、{heading}\n" + join_para(end(f(x)) for x in parts["signif"]))
        n += 1
    if rng.random() < 0.45 and (facts or local):
        secs.append(f"{CN[n]}、{f(rng.choice(G.SEC_SITUATION).replace('{N}', N))}\n" + join_para([*facts, *local]))
        n += 1
        head = intro
    else:
        head = join_para([intro, *facts, *local])
    pstyle = rng.choice(["paren", "paren", "num", "shi"])
    secs.append(f"{CN[n]}、{rng.choice(G.SEC_PROBLEM)}\n"
                + enumerate_items(rng, probs, pstyle, sep="" if pstyle == "shi" else "\n", detail_p=0.95)
                + ("\n" + "".join(impact) if impact else ""))
    n += 1
    if causes:
        secs.append(f"{CN[n]}、{rng.choice(G.SEC_CAUSE)}\n" + plain_sentences(causes))
        n += 1
    sstyle = rng.choice(["paren", "paren", "num"])
    secs.append(f"{CN[n]}、{rng.choice(G.SEC_SUGG)}\n" + (ew + "\n" if ew else "")
                + enumerate_items(rng, sugs, sstyle, sep="\n", detail_p=0.95))
    return "\n".join([head] + secs + [f(x) for x in parts.get("long_close", [])] + closing[:1])
