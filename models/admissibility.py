"""Admissibility pre-screen at intake: items that raise several unrelated matters (一事一案: suggest a split) and items
that match a not-filing ground (不予立案: personal disputes, matters in litigation, outside the government's remit…).

Both are review reasons with a code, never a rejection: staff decide. The grounds are configurable per locality
(``JIAOBAN_ADMISSIBILITY_GROUNDS``: a JSON file ``[{"code", "name", "patterns": [regex, …]}]``); the defaults below
were written from the public rules and checked on the dev half of the labelled set (docs/reply-aids.md).

Multi-matter: the item is cut into its top-level parts (``一、关于…`` / ``二、…`` sections, or its points); each
part of some length is routed on its own by the model in service; two parts whose routing distributions barely
overlap (dot product below ``MATTER_OVERLAP``), each routed with some confidence, are two matters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nlp.points import numbered

MATTER_OVERLAP = 0.02  # both chosen on the dev half of the labelled set (benchmarks/bench_reply_aids.py)
MIN_CONFIDENCE = 0.3
MIN_PART_CHARS = 40


@dataclass(frozen=True)
class Ground:
    code: str
    name: str
    patterns: tuple[str, ...]


DEFAULT_GROUNDS = (
    Ground("personal_dispute", "个人或家庭纠纷", (
        r"(?:我|本人|我家|我们家|我本人)[^。]{0,30}(?:纠纷|争执|矛盾|欠款|拖欠|赔偿|讨个说法|主持公道)",
        r"(?:邻居|前夫|前妻|兄弟|亲属)[^。]{0,20}(?:纠纷|矛盾|争执)",
        r"(?:帮|为)(?:我|本人)[^。]{0,10}(?:追回|讨回|追讨|讨个说法)")),
    Ground("litigation", "已进入诉讼、仲裁或司法程序", (
        r"(?:法院|仲裁委员会|仲裁委|检察院)[^。]{0,20}(?:判决|裁决|审理|审查起诉|执行|仲裁)",
        r"(?:撤销|推翻|改变|暂停执行)[^。]{0,10}(?:判决|裁决|仲裁|终审)",
        r"(?:重新审理|正在审理|已判决|终审判决|强制执行程序|仲裁正在进行)")),
    Ground("outside_remit", "不属于本级政府职权范围", (
        r"(?:外交政策|军事合作|修改宪法|宪法中|人民币汇率|全国统一(?:高考|税率)|国家将|建议国家|建议我国|由国铁集团|"
        r"邻省|外省|教育部统一|中国人民银行)",)),
    Ground("party_internal", "党内事务", (
        r"(?:市委常委|党员发展|入党积极分子|党支部换届|党费|区委副书记|提拔[^。]{0,8}同志|干部提拔)",)),
    Ground("personal_appeal", "个人诉求（宜走信访或依申请办理）", (
        r"(?:为|给)(?:我|本人|我儿子|我女儿|我家)[^。]{0,12}(?:安排|解决|落实|特批|批准|给予|一个)",
        r"(?:请|请求)政府(?:为|给|特批)(?:我|本人|我家)",
        r"给予(?:我|本人)(?:个人)?[^。]{0,6}(?:补助|补贴|救助|照顾)")),
    Ground("commercial", "推销产品或指定企业", (
        r"(?:统一采购|直接交由|指定由)[^。]{0,15}(?:该品牌|该公司|我公司|本公司)",
        r"(?:该品牌|该公司|我公司|本人所在公司)[^。]{0,30}(?:统一采购|承建|推广)")),
)


def load_grounds(path: str | Path | None) -> tuple[Ground, ...]:
    """The grounds of a locality's JSON file, or the defaults when ``path`` is None.

    Raises:
        ValueError: the file is not a list of {code, name, patterns}, or a pattern is not a valid regex.
    """
    if path is None:
        return DEFAULT_GROUNDS
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for i, g in enumerate(data if isinstance(data, list) else []):
        try:
            ground = Ground(str(g["code"]), str(g["name"]), tuple(str(p) for p in g["patterns"]))
            for p in ground.patterns:
                re.compile(p)
        except (KeyError, TypeError, re.error) as exc:
            raise ValueError(f"不予立案情形文件 {path} 第 {i + 1} 项有误（{exc}）："
                             "每项应有 code、name 和 patterns") from None
        out.append(ground)
    if not out:
        raise ValueError(f"不予立案情形文件 {path} 应是一个非空列表：[{{\"code\", \"name\", \"patterns\"}}]")
    return tuple(out)


@dataclass(frozen=True)
class Flag:
    code: str  # "multi_matter" or a ground's code
    name: str
    reason: str
    evidence: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


_PART = re.compile(r"(?:^|\n)\s*[一二三四五六七八九十]{1,2}、")


def parts(body: str) -> list[str]:
    """The item's top-level parts: 一、二、… sections when there are two or more, else its numbered points."""
    marks = [m.start() for m in _PART.finditer(body)]
    if len(marks) >= 2:
        cuts = marks + [len(body)]
        chunks = [body[a:b].strip() for a, b in zip(cuts, cuts[1:])]
    else:
        chunks = [p.text for p in numbered(body)]
    return [c for c in chunks if len(c) >= MIN_PART_CHARS]


def grounds_flags(title: str, body: str, grounds: Sequence[Ground]) -> list[Flag]:
    text = f"{title}\n{body}"
    out = []
    for g in grounds:
        hits = [m.group() for p in g.patterns for m in re.finditer(p, text)]
        if hits:
            shown = "、".join(f"“{h}”" for h in dict.fromkeys(hits[:3]))
            reason = f"疑似{g.name}（{shown}），可能不予立案，请人工判断"
            out.append(Flag(g.code, g.name, reason, list(dict.fromkeys(hits))))
    return out


def matter_flag(body: str, proba: Callable[[list[str]], np.ndarray], labels: Sequence[str],
                name_of: Callable[[str], str] = str, *, overlap: float | None = None,
                confidence: float | None = None) -> Flag | None:
    """The multi-matter flag when two parts of ``body`` route to unrelated units (``proba`` of each part)."""
    chunks = parts(body)
    if len(chunks) < 2:
        return None
    return _matter(chunks, np.asarray(proba(chunks)), labels, name_of,
                   MATTER_OVERLAP if overlap is None else overlap, MIN_CONFIDENCE if confidence is None else confidence)


def _matter(chunks: list[str], p: np.ndarray, labels: Sequence[str], name_of: Callable[[str], str],
            max_overlap: float, min_confidence: float) -> Flag | None:
    top = p.argmax(axis=1)
    best: tuple[float, int, int] | None = None
    for i in range(len(chunks)):
        for j in range(i + 1, len(chunks)):
            if top[i] == top[j] or min(p[i, top[i]], p[j, top[j]]) < min_confidence:
                continue
            overlap = float(p[i] @ p[j])
            if overlap < max_overlap and (best is None or overlap < best[0]):
                best = (overlap, i, j)
    if best is None:
        return None
    _, i, j = best
    a, b = name_of(labels[top[i]]), name_of(labels[top[j]])
    return Flag("multi_matter", "一件多事", f"第 {i + 1} 部分（{a}）与第 {j + 1} 部分（{b}）涉及不相关的事项，"
                "按一事一案可建议提出人分件提出", [chunks[i][:30], chunks[j][:30]])


def screen(title: str, body: str, *, grounds: Sequence[Ground] = DEFAULT_GROUNDS,
           proba: Callable[[list[str]], np.ndarray] | None = None, labels: Sequence[str] = (),
           name_of: Callable[[str], str] = str) -> list[Flag]:
    """Every admissibility flag of one item (none: []); without ``proba`` only the grounds are checked."""
    flags = grounds_flags(title, body, grounds)
    if proba is not None:
        if (flag := matter_flag(body, proba, labels, name_of)) is not None:
            flags.insert(0, flag)
    return flags


def screen_batch(items: Sequence[tuple[str, str]], *, grounds: Sequence[Ground] = DEFAULT_GROUNDS,
                 proba: Callable[[list[str]], np.ndarray] | None, labels: Sequence[str],
                 name_of: Callable[[str], str] = str) -> list[list[Flag]]:
    """``screen`` for a batch of (title, body): the parts of every item routed in one ``proba`` call (None: the
    grounds only)."""
    chunked = [parts(body) if proba is not None else [] for _, body in items]
    flat = [c for chunks in chunked if len(chunks) >= 2 for c in chunks]
    p = np.asarray(proba(flat)) if flat and proba is not None else np.zeros((0, len(labels)))
    out, pos = [], 0
    for (title, body), chunks in zip(items, chunked):
        flags = grounds_flags(title, body, grounds)
        if len(chunks) >= 2:
            flag = _matter(chunks, p[pos:pos + len(chunks)], labels, name_of, MATTER_OVERLAP, MIN_CONFIDENCE)
            pos += len(chunks)
            if flag is not None:
                flags.insert(0, flag)
        out.append(flags)
    return out
