"""Searchable fields of a case, cut into passages, with max pooling over their vectors.

A case is searched in two fields: ``items`` (its title subject and body: "cases like this one") and ``replies``
(its official reply: "replies that answered something like this"). For dense search each field is held as one or
more passages, consecutive spans of the field's normalised text: in ``lead``/``title``/``full`` mode one span (the
text the encoder has always seen: a prefix of the field), in ``chunks`` mode sentence-aligned spans of about
``chunk_chars`` characters. A case scores as its best passage (max pooling), so a long proposal whose matching
paragraph sits on page three still ranks, and that passage is what the result shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from models.departments import DepartmentRegistry, UnknownDepartmentError
from models.embeddings import split_into_chunks
from models.index import stable_id
from models.records import CaseRecord
from nlp.normalize import normalize, title_subject

FIELDS = ("items", "replies")
DENSE_TEXTS = ("title", "lead", "full", "chunks")


def content_hash(title: str, body: str) -> str:
    return hashlib.sha1(f"{title}\n{body}".encode()).hexdigest()[:16]


def case_meta(rec: CaseRecord, registry: DepartmentRegistry | None) -> dict:
    def dept(name: str, dept_id: str | None) -> dict:
        if registry is not None:
            try:
                d = registry.resolve(name) if dept_id is None else registry.get(dept_id)
                return {"id": d.id, "name": d.name, "as_written": name}
            except (UnknownDepartmentError, KeyError):
                pass
        return {"id": dept_id or name, "name": name, "as_written": name}

    key = rec.case_no or content_hash(rec.title, rec.body)
    co_ids: Sequence[str | None] = rec.co_ids or [None] * len(rec.co_handlers)
    return {
        "case_id": stable_id(key), "case_no": rec.case_no, "year": rec.year, "kind": rec.kind, "title": rec.title,
        "body": rec.body, "proposer": rec.proposer, "lead": dept(rec.lead, rec.lead_id) if rec.lead else None,
        "co_handlers": [dept(n, i) for n, i in zip(rec.co_handlers, co_ids)], "reply": rec.reply,
        "category": rec.category, "feedback": rec.feedback, "hash": content_hash(rec.title, rec.body),
        # a case usable for training has a lead unit the registry knows (or any lead without a registry)
        "trainable": bool(rec.lead_id) if registry is not None else bool(rec.lead),
    }


# Every search result shows its passage, so an index's case texts are normalised again and again (a 2,000-row
# sheet asks for 10,000 passages); the texts are pure functions of the strings, which cache their own hashes.
@lru_cache(maxsize=8192)
def item_text(title: str, body: str) -> str:
    """The ``items`` field: title subject and body, normalised (every dense passage is a span of it)."""
    subject, body = title_subject(title), normalize(body)
    return f"{subject}。{body}" if subject and body else subject or body


@lru_cache(maxsize=8192)
def _reply_text(reply: str) -> str:
    return normalize(reply)


def field_text(case: dict, field: str) -> str:
    if field == "items":
        return item_text(case["title"], case["body"])
    return _reply_text(case.get("reply") or "")


def chunk_spans(text: str, chunk_chars: int) -> list[tuple[int, int]]:
    """(start, end) of each sentence-aligned chunk of ``text`` (``models.embeddings.split_into_chunks``)."""
    out: list[tuple[int, int]] = []
    pos = 0
    for chunk in split_into_chunks(text, chunk_chars):
        start = text.index(chunk, pos)
        out.append((start, start + len(chunk)))
        pos = start + len(chunk)
    return out


def dense_spans(text: str, field: str, dense_text: str, lead_chars: int, chunk_chars: int,
                subject_len: int = 0) -> list[tuple[int, int]]:
    """The spans of a field that get a vector, as configured by ``dense_text``."""
    if not text:
        return []
    if dense_text == "chunks":
        return chunk_spans(text, chunk_chars)
    if dense_text == "full":
        return [(0, len(text))]
    if field == "items" and dense_text == "title" and subject_len:
        return [(0, subject_len)]
    if field == "items" and subject_len:  # lead: the subject, "。" and the body's opening
        return [(0, min(len(text), subject_len + 1 + lead_chars))]
    return [(0, min(len(text), lead_chars))]


class PassageField:
    """One field's passages for every case: vectors stacked in case order, ``offsets[p]:offsets[p+1]`` those of
    case ``p``, and their spans."""

    def __init__(self, dim: int):
        self.dim = dim
        self.vectors = np.zeros((0, dim), dtype=np.float32)
        self.offsets = np.zeros(1, dtype=np.int64)
        self.spans: list[list[tuple[int, int]]] = []

    @classmethod
    def build(cls, dim: int, spans: Sequence[list[tuple[int, int]]], vectors: Sequence[np.ndarray]) -> PassageField:
        obj = cls(dim)
        obj.spans = [[(int(a), int(b)) for a, b in s] for s in spans]
        counts = np.array([len(s) for s in obj.spans], dtype=np.int64)
        obj.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        parts = [np.asarray(v, dtype=np.float32).reshape(-1, dim) for v in vectors]
        obj.vectors = np.vstack(parts) if parts else np.zeros((0, dim), dtype=np.float32)
        return obj

    def case_vectors(self, p: int) -> np.ndarray:
        return self.vectors[self.offsets[p] : self.offsets[p + 1]]

    def best_per_case(self, query: np.ndarray) -> np.ndarray:
        """Each case's best passage similarity to the unit vector ``query`` (``-inf`` for a case without one)."""
        n = len(self.offsets) - 1
        best = np.full(n, -np.inf, dtype=np.float32)
        if not len(self.vectors):
            return best
        sims = self.vectors @ np.asarray(query, dtype=np.float32).reshape(-1)
        has = self.offsets[1:] > self.offsets[:-1]
        best[has] = np.maximum.reduceat(sims, self.offsets[:-1][has])
        return best

    def ranking(self, query: np.ndarray, mask: np.ndarray | None, n: int) -> list[tuple[int, float]]:
        best = self.best_per_case(query)
        if mask is not None:
            best = np.where(mask, best, -np.inf)
        n = min(n, len(best))
        if n <= 0:
            return []
        top = np.argpartition(-best, n - 1)[:n]
        top = top[np.argsort(-best[top], kind="stable")]
        return [(int(p), float(best[p])) for p in top if np.isfinite(best[p])]

    def best_span(self, p: int, query: np.ndarray) -> tuple[tuple[int, int], float] | None:
        vecs = self.case_vectors(p)
        if not len(vecs):
            return None
        sims = vecs @ np.asarray(query, dtype=np.float32).reshape(-1)
        i = int(np.argmax(sims))
        return self.spans[p][i], float(sims[i])


def pooled(vectors: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """One unit vector from a case's passage vectors: their mean weighted by span length (duplicates, repeats)."""
    weights = np.array([max(e - s, 1) for s, e in spans], dtype=np.float32)
    v = (vectors * weights[:, None]).sum(axis=0)
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


@lru_cache(maxsize=16384)
def result_spans(text: str, chunk_chars: int) -> tuple[tuple[int, int], ...]:
    """``chunk_spans`` of a result's field, cut once: a sheet's precedents show the same past cases again and again."""
    return tuple(chunk_spans(text, chunk_chars))


def lexical_span(text: str, spans: Sequence[tuple[int, int]], weight: dict[str, float]) -> tuple[int, int] | None:
    """The span holding the most query weight (``weight``: a shared word -> its idf), for a result found by words.

    Words are looked up as substrings, so a result is never segmented again."""
    best, best_score = None, 0.0
    for s, e in spans:
        piece = text[s:e]
        score = sum(w for t, w in weight.items() if t in piece)
        if score > best_score:
            best, best_score = (s, e), score
    return best
