"""Chinese word segmentation with jieba, a policy vocabulary and the department registry's names.

The tokenizer is a module-level function so scikit-learn pipelines that use it pickle and reload under the same
import path. jieba's dictionary loads once per process, on first use.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from importlib import resources

from nlp.normalize import normalize

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_tokenizer = None  # jieba.Tokenizer, created on first use
_user_words: set[str] = set()
_stopwords: frozenset[str] | None = None

_CJK = re.compile(r"[\u4e00-\u9fff]")
_KEEP_TOKEN = re.compile(r"[\u4e00-\u9fffA-Za-z]")


def _read_resource(name: str) -> list[str]:
    text = resources.files("nlp.resources").joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def stopwords() -> frozenset[str]:
    """The stopword list: function words plus the fixed phrases of proposals and replies."""
    global _stopwords
    if _stopwords is None:
        _stopwords = frozenset(_read_resource("stopwords.txt"))
    return _stopwords


def policy_terms() -> list[str]:
    """Policy vocabulary kept whole by the segmenter (乡村振兴, 营商环境, 老旧小区改造 ...)."""
    return [line.split()[0] for line in _read_resource("policy_terms.txt")]


def _get_tokenizer():
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                for word in policy_terms():
                    tok.add_word(word, freq=20000)
                for word in _user_words:
                    tok.add_word(word, freq=20000)
                _tokenizer = tok
    return _tokenizer


def add_user_words(words: Iterable[str]) -> int:
    """Teach the segmenter extra whole words (department names, place names). Returns how many were new."""
    new = {w.strip() for w in words if w and len(w.strip()) >= 2} - _user_words
    if not new:
        return 0
    with _lock:
        _user_words.update(new)
        if _tokenizer is not None:
            for word in new:
                _tokenizer.add_word(word, freq=20000)
    return len(new)


def user_words() -> list[str]:
    """The extra words added so far, sorted (saved with a model so it segments the same way when reloaded)."""
    return sorted(_user_words)


def cut(text: str) -> list[str]:
    """Raw jieba segmentation of normalised text, punctuation and stopwords included."""
    return [t for t in _get_tokenizer().lcut(normalize(text), HMM=True) if t.strip()]


def tokenize(text: str) -> list[str]:
    """Content tokens of ``text``: stopwords, punctuation, bare numbers and single characters removed.

    >>> tokenize("关于加快老旧小区改造的建议")
    ['老旧小区改造']
    """
    stop = stopwords()
    out = []
    for tok in cut(text):
        tok = tok.strip()
        if len(tok) < 2 or tok in stop or not _KEEP_TOKEN.search(tok):
            continue
        out.append(tok.lower() if not _CJK.search(tok) else tok)
    return out
