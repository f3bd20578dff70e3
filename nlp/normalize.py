"""Text normalisation applied before segmentation, features and search.

Full-width letters and digits become half-width (NFKC), whitespace collapses, and the fixed frame of a proposal
title ("关于……的建议") is separated from its subject so the subject carries the weight.
"""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
# Fixed frames of titles: "关于加快推进…的建议", "建议进一步…", "…的提案（重新办理）".
_TITLE_PREFIX = re.compile(r"^(关于|对于|有关|建议|请求|恳请|呼吁)+")
_TITLE_SUFFIX = re.compile(r"(的)?(建议|提案|议案|意见|请求|提议|报告)(（[^）]*）|\([^)]*\))?$")
# Chinese punctuation that NFKC would turn into ASCII lookalikes; we keep the Chinese forms for readability.
_KEEP = {"，": "，", "：": "：", "；": "；", "！": "！", "？": "？", "（": "（", "）": "）"}


def normalize(text: str | None) -> str:
    """Return ``text`` in NFKC form (full-width ASCII to half-width) with whitespace collapsed.

    Chinese full-width punctuation (，：；！？（）) is kept as it is, so normalised text still reads naturally.
    """
    if not text:
        return ""
    out = []
    for ch in str(text):
        out.append(_KEEP.get(ch) or unicodedata.normalize("NFKC", ch))
    text = "".join(out).replace("\u3000", " ").replace("\ufeff", "")
    return _WS.sub(" ", text).strip()


def title_subject(title: str | None) -> str:
    """Strip the fixed frame of a proposal title: "关于加快老旧小区改造的建议" -> "加快老旧小区改造"."""
    text = normalize(title)
    core = _TITLE_SUFFIX.sub("", _TITLE_PREFIX.sub("", text))
    return core or text


def join_title_body(title: str | None, body: str | None) -> str:
    """One text for models that see title and body together; the title's subject leads."""
    subject = title_subject(title)
    body = normalize(body)
    if subject and body:
        return f"{subject}。{body}"
    return subject or body


def near_duplicate_key(title: str | None, body: str | None) -> str:
    """A grouping key under which reworded copies of one item usually collide (for grouped splits)."""
    return title_subject(title) or normalize(body)[:40]
