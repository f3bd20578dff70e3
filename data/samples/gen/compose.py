"""Turn a topic's phrase bank into one item: title, body and the reply letter.

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
VERBISH = (
    "加快", "加强", "推进", "完善", "解决", "建立", "优化", "提升", "规范", "破解", "做好", "促进", "支持", "扩大",
    "增设", "设立", "实施", "开展", "提高", "落实", "强化", "鼓励", "推动", "改善", "整治", "治理", "保障", "打造",
    "发展", "构建", "健全", "降低", "增加", "新建", "改造", "拓宽", "修建", "恢复", "尽快", "进一步", "切实", "重视",
    "关注", "关心", "探索", "引导", "统筹", "盘活", "延长", "调整", "放宽", "简化", "缓解", "减轻", "防范", "严厉",
    "助力", "培育", "壮大", "用好", "补齐", "畅通", "便利", "推广", "维护", "保护", "整合", "设置", "增开", "开通",
    "取消", "明确", "提档", "筑牢", "激活", "传承", "挖掘", "拓展", "扶持", "帮助", "关爱", "守护", "创建", "营造",
)
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


def _ordinal(style: str, i: int) -> str:
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
            piece = (_ordinal(style, min(i, 5)) + (f"要{h.rstrip('。')}。" if h else "")
                     + (end(d) if use_detail or not h else ""))
        else:
            piece = _ordinal(style, i) + (end(h) if h else "") + (end(d) if use_detail or not h else "")
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


# ---------------------------------------------------------------------------------------------------------------
def frame_act(rng, act, mode, due=None):
    act = act.rstrip("。")
    if mode == "done":
        return rng.choice(["已", "已经", "先后", "已", "积极"]) + act if not act.startswith(("已", "先后")) else act
    if mode == "doing":
        return rng.choice(["正在", "正抓紧", "目前正在"]) + act
    if mode == "plan":
        return rng.choice(["将", "将进一步", "还将"]) + act
    if mode == "due":
        return f"计划于{due}前{act}"
    return act


def compose_reply(ctx: Ctx, *, title, lead, co_names, cat, addressee, pronoun, acts, xreasons, no, session,
                  sign_date, follow_up_due, facts=(), kind="建议", mentioned="") -> tuple[str, str | None]:
    """Returns (reply text, promised action or None)."""
    rng = ctx.rng
    f = ctx.fill
    selfw = lead["self"]
    fmt = {"title": title.strip("《》"), "self": selfw, "kind": kind, "N": ctx.N, "no": no, "session": session,
           "year": ctx.year, "py": ctx.year - 1}

    def F(t, **kw):
        return f(t.format(**{**fmt, **kw}))

    lines = [addressee + "："]
    if co_names and rng.random() < 0.5:
        opening = F(rng.choice(G.REPLY_OPEN_CO), co="、".join(co_names))
    else:
        opening = F(rng.choice(G.REPLY_OPEN))
    extra = []
    if rng.random() < 0.45:
        extra.append(F(rng.choice(G.REPLY_CONTACT)))
    if rng.random() < 0.4:
        extra.append(F(rng.choice(G.REPLY_AGREE)))
    lines.append(opening + "".join(extra))
    frame = []
    rich = rng.random() < 0.15
    if rich or rng.random() < 0.6:
        frame.append(F(rng.choice(G.REPLY_POLICY)))
    neutral = [x for x in facts if x.startswith("全市")
               and not any(w in x for w in ("仅", "不足", "流失", "离开", "低于", "缺口", "投诉", "超过", "仍"))]
    if neutral and (rich or rng.random() < 0.5):
        frame.append(F(rng.choice(G.REPLY_SITUATION_PREFIX)) + f(rng.choice(neutral)))
    if frame:
        lines.append(join_para(end(x) for x in frame))

    def names_known_places(line):  # an act naming a place the item never mentioned would read as a non sequitur
        return all(ctx.slots.get(m.group(1) + m.group(2), "\0") in mentioned
                   for m in SLOT.finditer(line) if m.group(1) in PLACE_KEYS)

    acts = [a for a in acts if names_known_places(a)] or [a for a in acts if "{" not in a] or list(acts)
    rng.shuffle(acts)
    promise = None
    items = []
    lead_in = F(rng.choice(G.REPLY_DONE_LEAD))
    def done(a):
        x = frame_act(rng, f(a), "done")
        return x + "，" + rng.choice(G.REPLY_EFFECT) if rng.random() < 0.35 else x

    if cat == "A":
        k = rng.choice([2, 3, 3, 4, 4]) + 2 * rich
        for i, a in enumerate(acts[:k]):
            items.append((lead_in if i == 0 else "") + done(a))
        tail = F(rng.choice(G.REPLY_A_END))
        if len(acts) < 2 or rng.random() < 0.6:
            tail += F(rng.choice(G.REPLY_NEXT))
    elif cat == "B":
        k = rng.choice([1, 2, 2, 3]) + rich
        for i, a in enumerate(acts[:k]):
            framed = done(a) if rng.random() < 0.65 else frame_act(rng, f(a), "doing")
            items.append((lead_in if i == 0 else "") + framed)
        plan_act = f(acts[k]).rstrip("。") if len(acts) > k else rng.choice(G.GENERIC_PLAN_ACTS)
        tail = F(rng.choice(G.REPLY_B_PLAN), act=plan_act, due=follow_up_due)
        if len(acts) > k + 1 and rng.random() < 0.4:
            tail += "同时，" + frame_act(rng, f(acts[k + 1]), "plan") + "。"
        if rng.random() < 0.45:
            tail += F(rng.choice(G.REPLY_NEXT))
        promise = plan_act
    else:
        k = rng.choice([0, 1, 1, 2])
        for i, a in enumerate(acts[:k]):
            items.append((lead_in if i == 0 else "") + done(a))
        reason = f(rng.choice(xreasons)) if xreasons and rng.random() < 0.8 else rng.choice(G.C_GENERIC_REASON)
        tail = end(reason) + rng.choice(G.REPLY_C_END)
        if rng.random() < 0.5:
            tail += rng.choice(G.REPLY_C_ALT)

    style = rng.choice(["cn", "cn", "paren", "shi", "prose"])
    if items:
        if style == "prose":
            lines.append("；".join(items) + "。")
        elif style == "shi":
            lines.append("".join(f"{CN[i]}是{x}。" for i, x in enumerate(items)))
        else:
            lines.extend(_ordinal(style, i) + end(x) for i, x in enumerate(items))
    lines.append(tail)
    if sum(len(x) for x in lines) < 140:  # replies are rarely this terse: add what the unit will keep doing
        so_far = "".join(lines)
        lines.append(rng.choice([x for x in (F(y) for y in G.REPLY_NEXT) if x not in so_far]))
    lines.append(F(rng.choice(G.REPLY_CLOSE)))
    text = "\n".join(lines).replace("正在在", "正在").replace("已在在", "已在").replace("将将", "将")
    text = text.replace("您", pronoun) if pronoun != "您" else text
    if rng.random() < 0.3:
        text += f"\n{lead['name']}\n{sign_date.year}年{sign_date.month}月{sign_date.day}日"
    return text, promise
