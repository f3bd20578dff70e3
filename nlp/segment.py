"""Chinese word segmentation with jieba, a policy vocabulary and a model's own words (department and place names).

A :class:`Segmenter` is an object with its user words: a model carries its segmenter and pickles with it, so the
backtest, the final model and the service segment identically (jieba's own dictionary is process-global; ours are
not). jieba's base dictionary loads once per process and each segmenter starts from a copy of it.

``tokenize``/``cut`` at module level use a segmenter with the policy vocabulary only (benchmarks, tools).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from nlp.normalize import join_title_body, normalize, title_subject

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_base = None  # jieba.Tokenizer with the policy vocabulary, created on first use
_stopwords: frozenset[str] | None = None

_CJK = re.compile(r"[\u4e00-\u9fff]")
_KEEP_TOKEN = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_WORD_FREQ = 20000
# Items without a title use the opening of their body as the title's subject, this many characters at most.
_SUBJECT_FALLBACK_CHARS = 30


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


def _base_tokenizer():
    global _base
    if _base is None:
        with _lock:
            if _base is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                for word in policy_terms():
                    tok.add_word(word, freq=_WORD_FREQ)
                _base = tok
    return _base


def _clean_words(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({w.strip() for w in words if w and len(w.strip()) >= 2}))


@dataclass(frozen=True)
class Doc:
    """One item as the models see it, segmented once: the title's subject, the joined text and their tokens.

    ``tokens`` are the content tokens of ``text`` (the subject, then the body); ``subject_tokens`` those of the
    subject (for an item without a title, of the opening of its body).
    """

    title: str
    body: str
    subject: str
    text: str
    tokens: tuple[str, ...]
    subject_tokens: tuple[str, ...]


class Segmenter:
    """jieba with the policy vocabulary and ``user_words``; pickles as its words, never as jieba's state."""

    def __init__(self, user_words: Iterable[str] = ()):
        self.user_words = _clean_words(user_words)
        self._tok = None
        self._tok_lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"user_words": list(self.user_words)}

    def __setstate__(self, state: dict) -> None:
        Segmenter.__init__(self, state.get("user_words", ()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Segmenter) and other.user_words == self.user_words

    def __hash__(self) -> int:
        return hash(self.user_words)

    def __repr__(self) -> str:
        return f"Segmenter({len(self.user_words)} user words)"

    def _tokenizer(self):
        if self._tok is None:
            with self._tok_lock:
                if self._tok is None:
                    import jieba

                    base = _base_tokenizer()
                    tok = jieba.Tokenizer()
                    tok.FREQ, tok.total, tok.initialized = dict(base.FREQ), base.total, True
                    for word in self.user_words:
                        tok.add_word(word, freq=_WORD_FREQ)
                    self._tok = tok
        return self._tok

    def cut(self, text: str) -> list[str]:
        """Raw jieba segmentation of normalised text, punctuation and stopwords included."""
        return [t for t in self._tokenizer().lcut(normalize(text), HMM=True) if t.strip()]

    def tokenize(self, text: str) -> list[str]:
        """Content tokens of ``text``: stopwords, punctuation, bare numbers and single characters removed.

        >>> Segmenter().tokenize("关于加快老旧小区改造的建议")
        ['老旧小区改造']
        """
        return _content(self.cut(text))

    def prepare(self, title: str, body: str) -> Doc:
        """Segment one item once. jieba splits at punctuation first, so segmenting the subject and the body apart
        gives the tokens of ``subject。body``."""
        subject, body_n = title_subject(title), normalize(body)
        subject_tokens = self.tokenize(subject) if subject else []
        body_tokens = self.tokenize(body_n) if body_n else []
        text = join_title_body(title, body)
        if not subject:
            subject_tokens = _opening(body_tokens, _SUBJECT_FALLBACK_CHARS)
        return Doc(title=title, body=body, subject=subject, text=text,
                   tokens=tuple(subject_tokens + body_tokens if subject else body_tokens),
                   subject_tokens=tuple(subject_tokens))

    def prepare_many(self, items: Iterable[tuple[str, str]]) -> list[Doc]:
        return [self.prepare(t, b) for t, b in items]


def _content(raw: list[str]) -> list[str]:
    stop = stopwords()
    out = []
    for tok in raw:
        tok = tok.strip()
        if len(tok) < 2 or tok in stop or not _KEEP_TOKEN.search(tok):
            continue
        out.append(tok.lower() if not _CJK.search(tok) else tok)
    return out


def _opening(tokens: list[str], max_chars: int) -> list[str]:
    out, used = [], 0
    for t in tokens:
        if used + len(t) > max_chars:
            break
        out.append(t)
        used += len(t)
    return out


_default: Segmenter | None = None


def default_segmenter() -> Segmenter:
    """A segmenter with the policy vocabulary only."""
    global _default
    if _default is None:
        _default = Segmenter()
    return _default


def cut(text: str) -> list[str]:
    return default_segmenter().cut(text)


def tokenize(text: str) -> list[str]:
    """Content tokens of ``text`` with the policy vocabulary only (see :meth:`Segmenter.tokenize`).

    >>> tokenize("关于加快老旧小区改造的建议")
    ['老旧小区改造']
    """
    return default_segmenter().tokenize(text)
