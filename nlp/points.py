"""A proposal's numbered suggestions and a reply's paragraphs, as plain text pieces.

A proposal's points are the items of its suggestion part: the text after its last suggestion heading (建议如下、
对策建议、为此建议…) when it has one, else the whole body. Inside it the first list marker style found decides the
items: 一是/二是…, （一）（二）…, 1. 2. / 1、 / （1）, 第一/第二…, 一、二、…; a part without numbering falls back to
its sentences. Each point keeps its characters' offsets so a page can mark it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN = "一二三四五六七八九十"
# Headings after which a proposal lists what it asks for; the last one found wins (problems are often numbered too).
_SUGGESTION_HEAD = re.compile(
    r"(?:对策建议|几点建议|具体建议|意见建议|建议如下|提出(?:以下|如下|几点)?建议|为此[，,]?\s*(?:特)?建议|"
    r"(?:^|\n)\s*(?:[一二三四五六七八九十]+[、.．]\s*)?建议[：:]|对此[，,]?\s*建议|我们建议|现建议|特建议)(?:如下)?[：:]?")
# One pattern per marker style, most specific first. Each must match at the start of a point.
_STYLES: list[tuple[str, re.Pattern]] = [
    ("shi", re.compile(rf"(?<![{_CN}])[{_CN}]{{1,3}}是(?=[^\s，,。；;])")),
    ("paren_cn", re.compile(rf"[（(][{_CN}]{{1,3}}[）)]")),
    ("paren_num", re.compile(r"[（(]\d{1,2}[）)]")),
    ("num", re.compile(r"(?:(?<=^)|(?<=[\n。；;：:\s]))\d{1,2}\s*[.．、](?!\d)")),
    ("di", re.compile(rf"第[{_CN}]{{1,3}}[，,、]|(?:首先|其次|再次|最后)[，,]")),
    ("cn_dun", re.compile(rf"(?:(?<=^)|(?<=[\n。；;：:]))[{_CN}]{{1,3}}[、．.]")),
]
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
MIN_POINT_CHARS = 4
MAX_SENTENCE_POINTS = 12


@dataclass(frozen=True)
class Piece:
    """A span of the source text: its text and its [start, end) offsets."""

    text: str
    start: int
    end: int


def _suggestion_part(body: str) -> tuple[str, int]:
    heads = list(_SUGGESTION_HEAD.finditer(body))
    if not heads:
        return body, 0
    last = heads[-1]
    rest = body[last.end():]
    if len(rest.strip()) < MIN_POINT_CHARS:  # a heading at the very end: the points came before it
        return body, 0
    return rest, last.end()


def _by_marker(text: str, offset: int, pattern: re.Pattern) -> list[Piece]:
    marks = list(pattern.finditer(text))
    pieces = []
    for i, m in enumerate(marks):
        stop = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        chunk = text[m.start():stop]
        # the last point ends at its paragraph (a closing line such as 以上建议供参考 is not part of it)
        if i + 1 == len(marks) and "\n" in chunk.strip():
            chunk = chunk[:chunk.strip().find("\n") + (len(chunk) - len(chunk.lstrip()))]
        stripped = chunk.strip()
        if len(stripped) >= MIN_POINT_CHARS:
            start = offset + m.start() + (len(chunk) - len(chunk.lstrip()))
            pieces.append(Piece(stripped, start, start + len(stripped)))
    return pieces


def sentences(text: str, offset: int = 0) -> list[Piece]:
    out = []
    for m in _SENTENCE.finditer(text):
        s = m.group().strip()
        if len(s) >= MIN_POINT_CHARS:
            start = offset + m.start() + (len(m.group()) - len(m.group().lstrip()))
            out.append(Piece(s, start, start + len(s)))
    return out


def numbered(text: str, offset: int = 0) -> list[Piece]:
    """The items of the first marker style that occurs at least twice in ``text`` (none: [])."""
    for _, pattern in _STYLES:
        if len(pattern.findall(text)) >= 2:
            pieces = _by_marker(text, offset, pattern)
            if len(pieces) >= 2:
                return pieces
    return []


def proposal_points(body: str) -> list[Piece]:
    """The suggestions a proposal makes, in order, with their offsets in ``body``."""
    part, offset = _suggestion_part(body)
    points = numbered(part, offset)
    if not points and offset:  # a heading without a list: the sentences after it
        points = sentences(part, offset)
    if not points:
        asks = [p for p in sentences(body) if "建议" in p.text or "应" in p.text or "要" in p.text]
        points = asks or sentences(body)
    return points[:MAX_SENTENCE_POINTS] if not numbered(part, offset) else points


_SALUTATION = re.compile(r"^[^。，,]{1,30}[：:]$")
_CLOSING = re.compile(r"^(?:衷心|再次|最后[，,]?)?(?:感谢|谢谢|欢迎)"
                      r"|^[^。]{0,20}(?:年\d{1,2}月\d{1,2}日|人民政府|局|委员会|办公室)$")


def reply_paragraphs(reply: str) -> list[Piece]:
    """A reply's paragraphs (each numbered item counts as one), without the salutation and the closing lines."""
    out: list[Piece] = []
    pos = 0
    for line in reply.split("\n"):
        start = pos + (len(line) - len(line.lstrip()))
        pos += len(line) + 1
        text = line.strip()
        if not text or _SALUTATION.match(text) or _CLOSING.search(text):
            continue
        items = numbered(text, start) or [Piece(text, start, start + len(text))]
        out.extend(q for item in items if (q := _without_frame(item)))
    return out


_FRAME = re.compile(r"[^。；]*(?:收悉|答复如下|感谢您|感谢你们|感谢贵会|高度重视)[^。；：:]*[。；：:]?")


def _without_frame(piece: Piece) -> Piece | None:
    """The paragraph without its letter-frame sentences (…收悉, 现答复如下, 感谢…), which repeat the title."""
    text = piece.text
    m = _FRAME.match(text)
    while m and m.end() > 0:
        text = text[m.end():]
        m = _FRAME.match(text)
    text = text.strip()
    if len(text) < MIN_POINT_CHARS:
        return None
    start = piece.end - len(text)
    return Piece(text, start, piece.end)
