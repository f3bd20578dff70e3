"""Precedent search: past cases that are about the same problem, with their official replies.

Hybrid ranking: BM25 over jieba tokens (exact names of roads, schools and programmes matter to staff) fused with a
dense ranking from a sentence encoder by reciprocal rank fusion. Filters by year, department, type and reply
category apply to both rankings before they are cut. Documents are embedded once, as configured by ``dense_text``
(title only, title + opening of the body, or the whole text in chunks), and the vectors are reused on rebuilds for
cases whose text has not changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from models.departments import DepartmentRegistry, UnknownDepartmentError
from models.duplicates import group_by_similarity
from models.embeddings import Embedder
from models.index import VectorIndex, index_kind, stable_id
from models.records import CaseRecord
from nlp.normalize import normalize, title_subject
from nlp.segment import Doc, Segmenter, default_segmenter

logger = logging.getLogger(__name__)

FORMAT = 1


class SearchIndexError(RuntimeError):
    """A saved search index that does not fit the encoder in use, or is incomplete."""


@dataclass
class SearchConfig:
    dense_text: str = "lead"  # "title", "lead" (title + opening of the body) or "full" (all of it, chunked)
    lead_chars: int = 200
    rrf_k: int = 60
    candidates: int = 100
    dense_weight: float = 1.0
    duplicate_threshold: float = 0.93  # cosine; replaced by a threshold chosen on data when one is calibrated
    duplicate_calibration: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def case_text(title: str, body: str, config: SearchConfig) -> str:
    """What the encoder sees for a case or a query."""
    subject, body = title_subject(title), normalize(body)
    if config.dense_text == "title":
        return subject or body[: config.lead_chars]
    if config.dense_text == "lead":
        body = body[: config.lead_chars]
    return f"{subject}。{body}" if subject and body else subject or body


def _content_hash(title: str, body: str) -> str:
    return hashlib.sha1(f"{title}\n{body}".encode()).hexdigest()[:16]


def _case_meta(rec: CaseRecord, registry: DepartmentRegistry | None) -> dict:
    def dept(name: str, dept_id: str | None) -> dict:
        if registry is not None:
            try:
                d = registry.resolve(name) if dept_id is None else registry.get(dept_id)
                return {"id": d.id, "name": d.name, "as_written": name}
            except (UnknownDepartmentError, KeyError):
                pass
        return {"id": dept_id or name, "name": name, "as_written": name}

    key = rec.case_no or _content_hash(rec.title, rec.body)
    co_ids: Sequence[str | None] = rec.co_ids or [None] * len(rec.co_handlers)
    return {
        "case_id": stable_id(key),
        "case_no": rec.case_no,
        "year": rec.year,
        "kind": rec.kind,
        "title": rec.title,
        "body": rec.body,
        "proposer": rec.proposer,
        "lead": dept(rec.lead, rec.lead_id) if rec.lead else None,
        "co_handlers": [dept(n, i) for n, i in zip(rec.co_handlers, co_ids)],
        "reply": rec.reply,
        "category": rec.category,
        "feedback": rec.feedback,
        "hash": _content_hash(rec.title, rec.body),
    }


class PrecedentIndex:
    """Past cases, their tokens for BM25, and their vectors for dense search."""

    def __init__(self, embedder: Embedder, config: SearchConfig | None = None, segmenter: Segmenter | None = None):
        self.embedder = embedder
        self.config = config or SearchConfig()
        self.segmenter = segmenter or default_segmenter()
        self.cases: list[dict] = []
        self.tokens: list[list[str]] = []
        self.vectors = np.zeros((0, embedder.dim), dtype=np.float32)
        self._refresh()

    # -- building ------------------------------------------------------------------------------------------------
    def add(
        self,
        records: Sequence[CaseRecord],
        registry: DepartmentRegistry | None = None,
        *,
        reuse: PrecedentIndex | None = None,
        progress: Callable[[int, int], None] | None = None,
        batch: int = 64,
    ) -> int:
        """Add cases (replacing any with the same id); only texts without a reusable vector are encoded.

        Returns the number of texts encoded.
        """
        metas = [_case_meta(r, registry) for r in records]
        cached: dict[str, np.ndarray] = {}
        for src in (self, reuse):
            if src is not None and src.embedder.fingerprint == self.embedder.fingerprint:
                cached.update({c["hash"]: src.vectors[i] for i, c in enumerate(src.cases)})
        todo = [i for i, m in enumerate(metas) if m["hash"] not in cached]
        new_vecs = np.zeros((len(metas), self.embedder.dim), dtype=np.float32)
        for start in range(0, len(todo), batch):
            part = todo[start : start + batch]
            texts = [case_text(metas[i]["title"], metas[i]["body"], self.config) for i in part]
            new_vecs[part] = self.embedder.encode_passages(texts)
            if progress:
                progress(min(start + batch, len(todo)), len(todo))
        for i, m in enumerate(metas):
            if m["hash"] in cached:
                new_vecs[i] = cached[m["hash"]]
        replace = {m["case_id"] for m in metas}
        keep = [i for i, c in enumerate(self.cases) if c["case_id"] not in replace]
        appending = len(keep) == len(self.cases)  # nothing replaced: the vector index can grow in place
        self.cases = [self.cases[i] for i in keep] + metas
        self.tokens = [self.tokens[i] for i in keep] + [list(self.segmenter.prepare(m["title"], m["body"]).tokens)
                                                         for m in metas]
        self.vectors = np.vstack([self.vectors[keep], new_vecs]) if keep else new_vecs
        grown = None
        if appending and len(self.dense) and self.dense.kind == index_kind(len(self.cases)):
            self.dense.add(np.array([m["case_id"] for m in metas], dtype=np.int64), new_vecs)
            grown = self.dense
        self._refresh(dense=grown)
        return len(todo)

    def _refresh(self, dense: VectorIndex | None = None) -> None:
        """Rebuild the BM25 matrix and the look-up tables from cases/tokens/vectors, and the faiss index unless an
        up-to-date one is given (loaded from disk, or grown in place by ``add``)."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.ids = np.array([c["case_id"] for c in self.cases], dtype=np.int64)
        self._pos = {int(i): p for p, i in enumerate(self.ids)}
        self.df = Counter(t for toks in self.tokens for t in set(toks))
        self.bm25 = None
        if self.cases:
            self.bm25 = bm25s.BM25()
            self.bm25.index([toks or ["<empty>"] for toks in self.tokens], show_progress=False)
        if dense is not None and len(dense) == len(self.cases):
            self.dense = dense
            return
        self.dense = VectorIndex(self.embedder.dim, "auto", len(self.cases))
        if self.cases:
            self.dense.add(self.ids, self.vectors)

    def __len__(self) -> int:
        return len(self.cases)

    # -- searching -----------------------------------------------------------------------------------------------
    def _mask(self, year=None, department=None, kind=None, category=None) -> np.ndarray | None:
        if not any(v not in (None, "") for v in (year, department, kind, category)):
            return None
        def ok(c: dict) -> bool:
            if year and c["year"] != int(year):
                return False
            if kind and c["kind"] != kind:
                return False
            if category and c["category"] != category:
                return False
            if department:
                units = [c["lead"]] + c["co_handlers"] if c["lead"] else c["co_handlers"]
                if not any(department in (u["id"], u["name"], u["as_written"]) for u in units):
                    return False
            return True
        return np.array([ok(c) for c in self.cases], dtype=bool)

    def bm25_ranking(self, query_tokens: list[str], mask: np.ndarray | None, n: int) -> list[tuple[int, float]]:
        if self.bm25 is None or not query_tokens:
            return []
        known = [t for t in query_tokens if t in self.df]
        if not known:
            return []
        scores = self.bm25.get_scores(known)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores)[:n]
        return [(int(p), float(scores[p])) for p in top if scores[p] > 0]

    def dense_ranking(self, query_vec: np.ndarray, mask: np.ndarray | None, n: int) -> list[tuple[int, float]]:
        if not self.cases:
            return []
        allowed = self.ids[mask] if mask is not None else None
        if allowed is not None and len(allowed) == 0:
            return []
        scores, ids = self.dense.search(query_vec, n, allowed=allowed)
        return [(self._pos[int(i)], float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: str = "hybrid",
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
            mode: "hybrid" (default), "bm25" or "dense".
            department: a unit id or name; matches cases it led or co-handled.
            exclude: case ids to leave out (e.g. the case being answered).
            tokens, vector: the query's tokens and its ``(1, dim)`` vector when the caller already has them (a
                routed item is segmented and encoded once for precedents, repeats and 并案 alike).
            dense_hits: the dense ranking of ``vector`` when the caller has it (:meth:`search_many`).
        """
        if mode not in ("hybrid", "bm25", "dense"):
            raise ValueError(f"未知的检索方式“{mode}”（--mode）：可选 hybrid、bm25、dense")
        mask = self._mask(year, department, kind, category)
        n = max(self.config.candidates, k + len(exclude))
        q_tokens = list(tokens) if tokens is not None else self.segmenter.tokenize(query)
        lexical = self.bm25_ranking(q_tokens, mask, n) if mode != "dense" else []
        dense: list[tuple[int, float]] = []
        cosine: dict[int, float] = {}
        if mode != "bm25":
            qvec = vector if vector is not None else self.embedder.encode_queries([case_text("", query, self.config)])
            dense = self.dense_ranking(qvec, mask, n) if dense_hits is None or mask is not None else dense_hits
            cosine = dict(dense)
        fused: dict[int, float] = {}
        for weight, ranking in ((1.0, lexical), (self.config.dense_weight, dense)):
            for rank, (p, _) in enumerate(ranking):
                fused[p] = fused.get(p, 0.0) + weight / (self.config.rrf_k + rank + 1)
        excluded = set(exclude)
        order = [p for p in sorted(fused, key=lambda p: -fused[p]) if self.cases[p]["case_id"] not in excluded][:k]
        if order and mode != "bm25":
            missing = [p for p in order if p not in cosine]
            if missing:
                sims = self.vectors[missing] @ qvec[0]
                cosine.update(zip(missing, map(float, sims)))
        bm25_scores = dict(lexical)
        return [self._result(p, fused[p], cosine.get(p), bm25_scores.get(p), q_tokens, full_reply) for p in order]

    def search_many(self, tokens: Sequence[Sequence[str]], vectors: np.ndarray, *, k: int = 10) -> list[list[dict]]:
        """``search("", k=k, tokens=tokens[i], vector=vectors[i : i + 1])`` for each query of a batch (hybrid, no
        filters), with one dense search for all of them: the precedents of a routed sheet of thousands of rows."""
        if len(tokens) != len(vectors):
            raise ValueError(f"{len(tokens)} token lists for {len(vectors)} vectors")
        n = max(self.config.candidates, k)
        scores = ids = np.zeros((len(vectors), 0))
        if self.cases and len(vectors):
            scores, ids = self.dense.search(np.asarray(vectors, dtype=np.float32), n)
        return [self.search("", k=k, tokens=q_tokens, vector=vectors[i : i + 1],
                            dense_hits=[(self._pos[int(c)], float(s)) for s, c in zip(scores[i], ids[i]) if c >= 0])
                for i, q_tokens in enumerate(tokens)]

    def _result(self, p: int, score: float, cosine, bm25, q_tokens: list[str], full_reply: bool) -> dict:
        c = self.cases[p]
        doc = set(self.tokens[p])
        n = max(len(self.cases), 1)
        matched = sorted({t for t in q_tokens if t in doc}, key=lambda t: -math.log(n / self.df.get(t, 1)))[:8]
        reply = c["reply"] or ""
        out = {k: c[k] for k in ("case_id", "case_no", "year", "kind", "title", "lead", "co_handlers", "category",
                                 "feedback")}
        out.update(
            reply_excerpt=reply[:160] + ("……" if len(reply) > 160 else ""),
            score=round(score, 5),
            similarity=None if cosine is None else round(cosine, 4),
            bm25=None if bm25 is None else round(bm25, 3),
            matched_terms=matched,
        )
        if full_reply:
            out["reply"] = reply
            out["body"] = c["body"]
        return out

    def get(self, case_id: int) -> dict | None:
        p = self._pos.get(int(case_id))
        return None if p is None else self.cases[p]

    # -- duplicates ----------------------------------------------------------------------------------------------
    def embed_items(self, items: Sequence[tuple[str, str]]) -> np.ndarray:
        """One vector per item, of the kind the index holds (passages), in one batched encoder call. The same vector
        serves the item's precedents, its repeat check and 并案, and the duplicate threshold is calibrated on it."""
        if not items:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return self.embedder.encode_passages([case_text(t, b, self.config) for t, b in items])

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

    # -- persistence ---------------------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "cases.jsonl", "w", encoding="utf-8") as fh:
            for c, toks in zip(self.cases, self.tokens):
                fh.write(json.dumps({**c, "tokens": toks}, ensure_ascii=False) + "\n")
        np.save(directory / "vectors.npy", self.vectors)
        self.dense.save(directory)
        path = getattr(self.embedder, "path", None)
        meta = {"format": FORMAT, "encoder": self.embedder.name, "encoder_fingerprint": self.embedder.fingerprint,
                "encoder_path": str(path) if path else None,
                "size": len(self.cases), "index_kind": self.dense.kind, "config": self.config.to_dict()}
        (directory / "search.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, embedder: Embedder, segmenter: Segmenter | None = None) -> PrecedentIndex:
        meta = json.loads((directory / "search.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise SearchIndexError(f"{directory} 中的检索索引格式为 {meta.get('format')}，本程序读取格式 {FORMAT}："
                                   "请用 `jiaoban index` 重建索引")
        if meta["encoder_fingerprint"] != embedder.fingerprint:
            raise SearchIndexError(
                f"{directory} 中的检索索引是用编码器 {meta['encoder_fingerprint']} 建立的，当前编码器为 "
                f"{embedder.fingerprint}：请用 `jiaoban index` 重建索引，"
                "或用 --encoder / JIAOBAN_ENCODER 指定建索引时的编码器")
        obj = cls(embedder, SearchConfig(**meta.get("config", {})), segmenter)
        with open(directory / "cases.jsonl", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        obj.tokens = [r.pop("tokens") for r in rows]
        obj.cases = rows
        obj.vectors = np.load(directory / "vectors.npy")
        obj._refresh(dense=_saved_dense(directory, len(rows)))
        return obj


def _saved_dense(directory: Path, size: int) -> VectorIndex | None:
    """The saved faiss index, when it is there and matches the cases (an HNSW graph takes minutes to rebuild)."""
    if not (directory / "vectors.faiss").exists() or not (directory / "vectors.json").exists():
        return None
    try:
        dense = VectorIndex.load(directory)
    except Exception as exc:  # a damaged or foreign file: rebuild from vectors.npy instead
        logger.warning("saved vector index in %s unreadable (%s); rebuilding it", directory, type(exc).__name__)
        return None
    return dense if len(dense) == size and dense.kind == index_kind(size) else None
