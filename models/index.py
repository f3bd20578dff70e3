"""A faiss vector index with stable 64-bit case ids: exact for small collections, HNSW above a size threshold.

Vectors are unit-length, so inner product is cosine similarity. The index kind is chosen from the collection size
when the index is built and recorded (``kind``) so the manifest can show it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

# Up to this many vectors an exact (flat) search is both fast enough and free of recall loss.
EXACT_LIMIT = 50_000
HNSW_M = 32
HNSW_EF_SEARCH = 128


def stable_id(key: str) -> int:
    """A positive int64 id derived from a case key (its number, or a hash of its text), stable across rebuilds."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


def index_kind(size: int) -> str:
    """The index kind chosen automatically for a collection of ``size`` vectors."""
    return "flat" if size <= EXACT_LIMIT else "hnsw"


class VectorIndex:
    """faiss IndexIDMap2 over a flat or HNSW inner-product index."""

    def __init__(self, dim: int, kind: str = "auto", expected_size: int = 0):
        import faiss

        self.dim = dim
        self.kind = kind if kind != "auto" else index_kind(expected_size)
        base: faiss.Index
        if self.kind == "flat":
            base = faiss.IndexFlatIP(dim)
        elif self.kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 80
            hnsw.hnsw.efSearch = HNSW_EF_SEARCH
            base = hnsw
        else:
            raise ValueError(f"unknown index kind {kind!r}: use auto, flat or hnsw")
        self._index = faiss.IndexIDMap2(base)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"vectors must have shape (n, {self.dim}), got {vectors.shape}")
        self._index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the ``k`` nearest vectors per query row; ``allowed`` restricts to those ids.

        Missing results (fewer than ``k`` allowed vectors) have id -1.
        """
        import faiss

        query = np.ascontiguousarray(np.atleast_2d(query), dtype=np.float32)
        k = max(1, min(k, len(self))) if len(self) else 1
        params: faiss.SearchParameters | None = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            if self.kind == "hnsw":
                # faiss's own stubs (1.15) leave out SearchParametersHNSW, which the library has.
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=HNSW_EF_SEARCH)  # type: ignore[attr-defined]
            else:
                params = faiss.SearchParameters()
                params.sel = selector
        scores, ids = self._index.search(query, k, params=params)
        return scores, ids

    def save(self, directory: Path) -> None:
        import faiss

        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(directory / "vectors.faiss"))
        (directory / "vectors.json").write_text(json.dumps({"kind": self.kind, "dim": self.dim, "size": len(self)}))

    @classmethod
    def load(cls, directory: Path) -> VectorIndex:
        import faiss

        info = json.loads((directory / "vectors.json").read_text())
        obj = cls.__new__(cls)
        obj.dim, obj.kind = int(info["dim"]), info["kind"]
        index = faiss.read_index(str(directory / "vectors.faiss"))
        if not isinstance(index, faiss.IndexIDMap2):
            raise ValueError(f"{directory / 'vectors.faiss'} is not an IndexIDMap2 (got {type(index).__name__})")
        obj._index = index
        if obj.kind == "hnsw":
            inner = faiss.downcast_index(index.index)
            if not isinstance(inner, faiss.IndexHNSW):
                raise ValueError(f"{directory / 'vectors.faiss'}: kind hnsw but the index is {type(inner).__name__}")
            inner.hnsw.efSearch = HNSW_EF_SEARCH
        return obj
