"""The reply letter of an item: opening, what the unit did or plans, the A/B/C ending and the close.

All randomness comes from the ``random.Random`` of the item's ``Ctx``.
"""

from __future__ import annotations

from . import generic as G
from .compose import CN, PLACE_KEYS, SLOT, Ctx, end, join_para, ordinal


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
            lines.extend(ordinal(style, i) + end(x) for i, x in enumerate(items))
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
