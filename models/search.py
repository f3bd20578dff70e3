"""Precedent search: past cases that are about the same problem, with their official replies.

Two targets: ``items`` ranks cases by title and body ("cases like this one"), ``replies`` by their official reply
("replies that answered something like this"). Each fuses BM25 over jieba tokens of the field (exact names of roads,
schools and programmes matter to staff) with a dense ranking (a case scores as its best passage, ``models.passages``)
by reciprocal rank fusion, with per-target weights chosen on the archive's own pairs (``models.search_weights``).
Filters apply to every ranking before it is cut; vectors are reused for passages whose text has not changed. Cases
without a lead unit (an archive of old replies) are indexed too, flagged ``trainable: false``.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from models.departments import DepartmentRegistry
from models.duplicates import group_by_similarity
from models.embeddings import Embedder
from models.index import VectorIndex, index_kind
from models.passages import FIELDS, PassageField, case_meta, dense_spans, field_text, lexical_span, pooled, result_spans
from models.records import CaseRecord
from models.vector_cache import RecentVectors
from nlp.normalize import normalize, title_subject
from nlp.segment import Doc, Segmenter, default_segmenter

logger = logging.getLogger(__name__)

FORMAT = 2
TARGETS = FIELDS
MODES = ("hybrid", "bm25", "dense")


class SearchIndexError(RuntimeError):
    """A saved search index that does not fit the encoder in use, or is incomplete."""


class SearchIndexFormatError(SearchIndexError):
    """A saved search index of another format: it must be rebuilt, whatever the encoder."""


@dataclass
class SearchConfig:
    dense_text: str = "lead"  # "title", "lead" (title + opening), "full" (all, one vector) or "chunks" (max-pooled)
    lead_chars: int = 200
    chunk_chars: int = 256  # passages of "chunks" mode, and of the passage a result shows
    rrf_k: int = 60
    candidates: int = 100
    # per target: [BM25 weight, dense weight] of the fusion; replaced by weights chosen on data (search_weights)
    weights: dict = field(default_factory=lambda: {t: [1.0, 1.0] for t in TARGETS})
    weight_calibration: dict = field(default_factory=dict)
    duplicate_threshold: float = 0.93  # cosine; replaced by a threshold chosen on data when one is calibrated
    duplicate_calibration: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def case_text(title: str, body: str, config: SearchConfig) -> str:
    """What the encoder sees for a case or a query (as one text; ``chunks`` mode cuts it into passages)."""
    subject, body = title_subject(title), normalize(body)
    if config.dense_text == "title":
        return subject or body[: config.lead_chars]
    if config.dense_text == "lead":
        body = body[: config.lead_chars]
    return f"{subject}。{body}" if subject and body else subject or body


class PrecedentIndex:
    """Past cases, their tokens for BM25 per field, and their passage vectors for dense search."""

    def __init__(self, embedder: Embedder, config: SearchConfig | None = None, segmenter: Segmenter | None = None):
        self.embedder = embedder
        self.config = config or SearchConfig()
        self.segmenter = segmenter or default_segmenter()
        self.cases: list[dict] = []
        self.tokens: dict[str, list[list[str]]] = {f: [] for f in FIELDS}
        self.fields = {f: PassageField(embedder.dim) for f in FIELDS}
        self.vectors = np.zeros((0, embedder.dim), dtype=np.float32)  # one per case: repeats and 并案
        self.recent = RecentVectors()  # routed items' passages, so a sheet's repeats are encoded once
        self._refresh()

    # -- building ------------------------------------------------------------------------------------------------
    def spans(self, case: dict, field: str) -> list[tuple[int, int]]:
        c = self.config
        text = field_text(case, field)
        subject_len = len(title_subject(case["title"])) if field == "items" else 0
        return dense_spans(text, field, c.dense_text, c.lead_chars, c.chunk_chars, subject_len)

    def passage_cache(self) -> dict[str, np.ndarray]:
        """Passage text -> vector, for every passage this index holds."""
        out: dict[str, np.ndarray] = {}
        for f in FIELDS:
            for p, case in enumerate(self.cases):
                text = field_text(case, f)
                out.update(zip((text[s:e] for s, e in self.fields[f].spans[p]), self.fields[f].case_vectors(p)))
        return out

    def add(
        self,
        records: Sequence[CaseRecord],
        registry: DepartmentRegistry | None = None,
        *,
        reuse: PrecedentIndex | None = None,
        progress: Callable[[int, int], None] | None = None,
        batch: int = 64,
    ) -> int:
        """Add cases (replacing any with the same id); only passages without a reusable vector are encoded.

        Returns the number of cases that needed encoding.
        """
        metas = [case_meta(r, registry) for r in records]
        cached: dict[str, np.ndarray] = {}
        for src in (self, reuse):
            if src is not None and src.embedder.fingerprint == self.embedder.fingerprint \
                    and src.config.dense_text == self.config.dense_text:
                cached.update(src.passage_cache())
        spans = {f: [self.spans(m, f) for m in metas] for f in FIELDS}
        texts = {f: [field_text(m, f) for m in metas] for f in FIELDS}
        pieces = [texts[f][i][s:e] for f in FIELDS for i in range(len(metas)) for s, e in spans[f][i]]
        todo = list(dict.fromkeys(t for t in pieces if t not in cached))
        for start in range(0, len(todo), batch):
            part = todo[start : start + batch]
            cached.update(zip(part, self.embedder.encode_passages(part)))
            if progress:
                progress(min(start + batch, len(todo)), len(todo))
        new = set(todo)
        encoded = sum(any(texts[f][i][s:e] in new for f in FIELDS for s, e in spans[f][i]) for i in range(len(metas)))
        dim = self.embedder.dim
        vecs = {f: [np.array([cached[texts[f][i][s:e]] for s, e in spans[f][i]], dtype=np.float32).reshape(-1, dim)
                    for i in range(len(metas))] for f in FIELDS}
        new_case_vecs = np.array([pooled(v, s) if len(v) else np.zeros(dim, np.float32)
                                  for v, s in zip(vecs["items"], spans["items"])], dtype=np.float32).reshape(-1, dim)
        replace = {m["case_id"] for m in metas}
        keep = [i for i, c in enumerate(self.cases) if c["case_id"] not in replace]
        appending = len(keep) == len(self.cases)  # nothing replaced: the vector index can grow in place
        for f in FIELDS:
            old = self.fields[f]
            self.fields[f] = PassageField.build(dim, [old.spans[i] for i in keep] + spans[f],
                                                [old.case_vectors(i) for i in keep] + vecs[f])
            tokenize = self.segmenter.tokenize
            made = ([list(self.segmenter.prepare(m["title"], m["body"]).tokens) for m in metas] if f == "items"
                    else [tokenize(m["reply"]) if m["reply"] else [] for m in metas])
            self.tokens[f] = [self.tokens[f][i] for i in keep] + made
        self.cases = [self.cases[i] for i in keep] + metas
        self.vectors = np.vstack([self.vectors[keep], new_case_vecs]) if keep else new_case_vecs
        grown = None
        if appending and len(self.dense) and self.dense.kind == index_kind(len(self.cases)):
            self.dense.add(np.array([m["case_id"] for m in metas], dtype=np.int64), new_case_vecs)
            grown = self.dense
        self._refresh(dense=grown)
        return encoded

    def _refresh(self, dense: VectorIndex | None = None) -> None:
        """Rebuild the BM25 matrices and the look-up tables from cases/tokens/vectors, and the faiss index of case
        vectors unless an up-to-date one is given (loaded from disk, or grown in place by ``add``)."""
        import bm25s
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.ids = np.array([c["case_id"] for c in self.cases], dtype=np.int64)
        self._pos = {int(i): p for p, i in enumerate(self.ids)}
        self.has_reply = np.array([bool(t) for t in self.tokens["replies"]], dtype=bool)
        self.df = {f: Counter(t for toks in self.tokens[f] for t in set(toks)) for f in FIELDS}
        self.bm25: dict[str, bm25s.BM25 | None] = {f: None for f in FIELDS}
        for f in FIELDS:
            if self.cases and any(self.tokens[f]):
                retriever = self.bm25[f] = bm25s.BM25()
                retriever.index([toks or ["<empty>"] for toks in self.tokens[f]], show_progress=False)
        if dense is not None and len(dense) == len(self.cases):
            self.dense = dense
            return
        self.dense = VectorIndex(self.embedder.dim, "auto", len(self.cases))
        if self.cases:
            self.dense.add(self.ids, self.vectors)

    def __len__(self) -> int:
        return len(self.cases)

    # -- searching -----------------------------------------------------------------------------------------------
    def _mask(self, year=None, department=None, kind=None, category=None, target="items") -> np.ndarray | None:
        if not any(v not in (None, "") for v in (year, department, kind, category)):
            return self.has_reply if target == "replies" else None

        def ok(c: dict) -> bool:
            if (year and c["year"] != int(year)) or (kind and c["kind"] != kind) or \
                    (category and c["category"] != category):
                return False
            units = [c["lead"]] + c["co_handlers"] if c["lead"] else c["co_handlers"]
            return not department or any(department in (u["id"], u["name"], u["as_written"]) for u in units)
        mask = np.array([ok(c) for c in self.cases], dtype=bool)
        return mask & self.has_reply if target == "replies" else mask

    def bm25_ranking(self, query_tokens: Sequence[str], mask: np.ndarray | None, n: int,
                     target: str = "items") -> list[tuple[int, float]]:
        known = [t for t in query_tokens if t in self.df[target]]
        retriever = self.bm25[target]
        if retriever is None or not known:
            return []
        scores = retriever.get_scores(known)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores)[:n]
        hit = scores[top] > 0
        return list(zip(top[hit].tolist(), scores[top][hit].tolist()))

    def dense_ranking(self, query_vec: np.ndarray, mask: np.ndarray | None, n: int,
                      target: str = "items") -> list[tuple[int, float]]:
        if not self.cases or (mask is not None and not mask.any()):
            return []
        if target == "replies" or self.config.dense_text == "chunks":
            return self.fields[target].ranking(query_vec, mask, n)
        allowed = self.ids[mask] if mask is not None else None
        scores, ids = self.dense.search(query_vec, n, allowed=allowed)
        return [(self._pos[int(i)], float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def query_vector(self, query: str) -> np.ndarray:
        """The ``(1, dim)`` query vector: in ``chunks`` mode the pooled vector of its passages (all of its text)."""
        return self.query_vectors([query])

    def query_vectors(self, queries: Sequence[str]) -> np.ndarray:
        """One vector per query, in one encoder call."""
        texts = [case_text("", q, self.config) for q in queries]
        if self.config.dense_text != "chunks":
            return self.embedder.encode_queries(texts)
        spans = [list(result_spans(t, self.config.chunk_chars)) or [(0, len(t))] for t in texts]
        vecs = self.embedder.encode_queries([t[s:e] for t, sp in zip(texts, spans) for s, e in sp])
        bounds = np.cumsum([0] + [len(sp) for sp in spans])
        return np.array([pooled(vecs[a:b], sp) for a, b, sp in zip(bounds[:-1], bounds[1:], spans)], dtype=np.float32)

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: str = "hybrid",
        target: str = "items",
        year: int | None = None,
        department: str | None = None,
        kind: str | None = None,
        category: str | None = None,
        full_reply: bool = False,
        exclude: Sequence[int] = (),
        tokens: Sequence[str] | None = None,
        vector: np.ndarray | None = None,
        dense_hits: list[tuple[int, float]] | None = None,
    ) -> list[dict]:
        """The ``k`` past cases most like ``query`` (a title, a pasted proposal, or a few words).

        Args:
            mode: "hybrid" (default: the fusion with the weights of ``target``), "bm25" or "dense".
            target: "items" (cases like this one) or "replies" (replies that answered something like this).
            department: a unit id or name; matches cases it led or co-handled.
            exclude: case ids to leave out (e.g. the case being answered).
            tokens, vector: the query's tokens and its ``(1, dim)`` vector when the caller already has them (a
                routed item is segmented and encoded once for precedents, repeats and 并案 alike).
            dense_hits: the dense ranking of ``vector`` when the caller has it (:meth:`search_many`).
        """
        if mode not in MODES:
            raise ValueError(f"未知的检索方式“{mode}”（--mode）：可选 {'、'.join(MODES)}")
        if target not in TARGETS:
            raise ValueError(f"未知的检索对象“{target}”（--target）：可选 items（类似案件）、replies（类似答复）")
        w_lex, w_dense = self.config.weights.get(target, (1.0, 1.0)) if mode == "hybrid" else \
            ((1.0, 0.0) if mode == "bm25" else (0.0, 1.0))
        mask = self._mask(year, department, kind, category, target)
        n = max(self.config.candidates, k + len(exclude))
        q_tokens = list(tokens) if tokens is not None else self.segmenter.tokenize(query)
        lexical = self.bm25_ranking(q_tokens, mask, n, target) if w_lex else []
        dense: list[tuple[int, float]] = []
        qvec = None
        if w_dense:
            qvec = vector if vector is not None else self.query_vector(query)
            reusable = dense_hits is not None and mask is None and target == "items"
            dense = dense_hits if reusable and dense_hits is not None else self.dense_ranking(qvec, mask, n, target)
        fused: dict[int, float] = {}
        for weight, ranking in ((w_lex, lexical), (w_dense, dense)):
            for rank, (p, _) in enumerate(ranking):
                fused[p] = fused.get(p, 0.0) + weight / (self.config.rrf_k + rank + 1)
        excluded = set(exclude)
        order = [p for p in sorted(fused, key=lambda p: -fused[p]) if self.cases[p]["case_id"] not in excluded][:k]
        cosine, bm25 = dict(dense), dict(lexical)
        return [self._result(p, fused[p], cosine.get(p), bm25.get(p), q_tokens, qvec, target, full_reply)
                for p in order]

    def search_many(self, tokens: Sequence[Sequence[str]], vectors: np.ndarray, *, k: int = 10) -> list[list[dict]]:
        """``search("", k=k, tokens=tokens[i], vector=vectors[i : i + 1])`` for each query of a batch (hybrid, items,
        no filters), with one dense search for all of them: the precedents of a routed sheet of thousands of rows."""
        if len(tokens) != len(vectors):
            raise ValueError(f"{len(tokens)} token lists for {len(vectors)} vectors")
        n = max(self.config.candidates, k)
        hits: list[list[tuple[int, float]] | None] = [None] * len(vectors)
        if self.cases and len(vectors) and self.config.dense_text != "chunks":
            scores, ids = self.dense.search(np.asarray(vectors, dtype=np.float32), n)
            hits = [[(self._pos[int(c)], float(s)) for s, c in zip(scores[i], ids[i]) if c >= 0]
                    for i in range(len(vectors))]
        return [self.search("", k=k, tokens=q_tokens, vector=vectors[i : i + 1], dense_hits=hits[i])
                for i, q_tokens in enumerate(tokens)]

    def _result(self, p: int, score: float, cosine, bm25, q_tokens: list[str], qvec, target: str,
                full_reply: bool) -> dict:
        c = self.cases[p]
        doc, df = set(self.tokens[target][p]), self.df[target]
        n = max(len(self.cases), 1)
        idf = {t: math.log(n / df.get(t, 1)) + 1e-3 for t in set(q_tokens) if t in doc}
        matched = sorted(idf, key=lambda t: (-idf[t], t))[:8]
        if cosine is None and qvec is not None:
            best = self.fields[target].best_span(p, qvec)
            cosine = None if best is None else best[1]
        reply = c["reply"] or ""
        out = {k: c[k] for k in ("case_id", "case_no", "year", "kind", "title", "lead", "co_handlers", "category",
                                 "feedback")}
        out.update(
            reply_excerpt=reply[:160] + ("……" if len(reply) > 160 else ""),
            score=round(score, 5),
            similarity=None if cosine is None else round(cosine, 4),
            bm25=None if bm25 is None else round(bm25, 3),
            matched_terms=matched,
            passage=self._passage(p, target, qvec, idf),
            target=target,
            trainable=c.get("trainable", True),
        )
        if full_reply:
            out["reply"] = reply
            out["body"] = c["body"]
        return out

    def _passage(self, p: int, target: str, qvec, idf: dict[str, float]) -> dict | None:
        """The passage of the target field that matches best: by vector in ``chunks`` mode, else by shared words."""
        text = field_text(self.cases[p], target)
        if not text:
            return None
        span = None
        if qvec is not None and self.config.dense_text == "chunks":
            best = self.fields[target].best_span(p, qvec)
            span = best[0] if best else None
        if span is None:
            span = lexical_span(text, result_spans(text, self.config.chunk_chars), idf)
        start, end = span or result_spans(text, self.config.chunk_chars)[0]
        return {"field": target, "text": text[start:end], "start": start, "end": end, "length": len(text)}

    def get(self, case_id: int) -> dict | None:
        p = self._pos.get(int(case_id))
        return None if p is None else self.cases[p]

    # -- duplicates ----------------------------------------------------------------------------------------------
    def embed_items(self, items: Sequence[tuple[str, str]]) -> np.ndarray:
        """One vector per item, of the kind the index holds per case, in one batched encoder call. The same vector
        serves the item's precedents, its repeat check and 并案, and the duplicate threshold is calibrated on it."""
        cases = [{"title": t, "body": b} for t, b in items]
        spans = [self.spans(c, "items") for c in cases]
        texts = [field_text(c, "items") for c in cases]
        pieces = [t[s:e] for t, sp in zip(texts, spans) for s, e in sp]
        vecs = self.recent.vectors(pieces, self.embedder.encode_passages, self.embedder.dim)
        out, at = np.zeros((len(items), self.embedder.dim), dtype=np.float32), 0
        for i, sp in enumerate(spans):
            if sp:
                out[i] = pooled(vecs[at : at + len(sp)], sp)
            at += len(sp)
        return out

    def embed_docs(self, docs: Sequence[Doc]) -> np.ndarray:
        return self.embed_items([(d.title, d.body) for d in docs])

    def duplicate_groups(self, items: Sequence[tuple[str, str]] = (), threshold: float | None = None, *,
                         vectors: np.ndarray | None = None) -> list[list[int]]:
        """Groups (indices into ``items``, two or more each) of near-duplicate items within a batch (并案)."""
        vecs = self.embed_items(items) if vectors is None else vectors
        if len(vecs) < 2:
            return []
        return group_by_similarity(vecs, threshold or self.config.duplicate_threshold)

    def repeats(self, items: Sequence[tuple[str, str]] = (), threshold: float | None = None, *,
                vectors: np.ndarray | None = None) -> list[dict | None]:
        """For each item, the most similar earlier case if it is close enough to be a repeat, else None."""
        vecs = self.embed_items(items) if vectors is None else vectors
        if not self.cases or not len(vecs):
            return [None] * len(vecs)
        t = threshold or self.config.duplicate_threshold
        scores, ids = self.dense.search(vecs, 1)
        out: list[dict | None] = []
        for s, i in zip(scores[:, 0], ids[:, 0]):
            c = self.get(int(i)) if i >= 0 and s >= t else None
            out.append(None if c is None else {"case_id": c["case_id"], "case_no": c["case_no"], "year": c["year"],
                                               "title": c["title"], "similarity": round(float(s), 4)})
        return out

    # -- persistence (models.search_io) --------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        from models.search_io import save_index

        save_index(self, directory)

    @classmethod
    def load(cls, directory: Path, embedder: Embedder, segmenter: Segmenter | None = None) -> PrecedentIndex:
        from models.search_io import load_index

        return load_index(cls, directory, embedder, segmenter)
