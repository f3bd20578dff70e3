"""The precedent searcher the service uses: the active bundle's search index behind the ``api.deps.Searcher`` API.

The index lives inside the model bundle (built by ``jiaoban train``/``jiaoban index``), so it is loaded, and
swapped, together with the bundle. The sentence encoder it needs is loaded once per process.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from models.bundle import Bundle, index_encoder, load_search_index

logger = logging.getLogger(__name__)


class IndexSearcher:
    """Adapts ``models.search.PrecedentIndex`` to the service's Searcher protocol."""

    def __init__(self, index):
        self.index = index

    def search(self, query: str, *, k: int = 10, year: int | None = None, department: str | None = None,
               kind: str | None = None, category: str | None = None) -> list[dict]:
        hits = self.index.search(query, k=k, year=year, department=department, kind=kind, category=category)
        # Index ids are 63-bit; as JSON numbers JavaScript would round them, so they travel as strings.
        return [{**h, "case_id": str(h["case_id"])} for h in hits]

    def duplicates(self, texts: list[str]) -> list[list[int]]:
        return self.index.duplicate_groups([_split(t) for t in texts])

    def repeats(self, texts: list[str]) -> list[dict | None]:
        """For each text, the earlier case it repeats (above the duplicate threshold), or None."""
        found = self.index.repeats([_split(t) for t in texts])
        return [None if r is None else {**r, "case_id": str(r["case_id"])} for r in found]


def _split(text: str) -> tuple[str, str]:
    """(title, body) of a text whose first line is the title, as api.assign.query_text joins them."""
    title, _, body = text.partition("\n")
    return (title, body) if body else ("", title)


@lru_cache(maxsize=2)
def embedder(spec: str, threads: int | None = None):
    from models.embeddings import load_embedder

    if threads and not spec.startswith("hashing"):
        return load_embedder(spec, num_threads=threads)
    return load_embedder(spec)


def load_searcher(bundle: Bundle, encoder: str, threads: int | None = None) -> tuple[IndexSearcher | None, str | None]:
    """(searcher, None), or (None, why not) when the bundle has no index or it cannot be loaded."""
    if not bundle.meta.get("search"):
        return None, f"model {bundle.version} has no precedent index (build one with `jiaoban index`)"
    recorded = index_encoder(bundle.meta)
    if recorded and recorded != encoder:
        # The encoder this bundle's index was built with, e.g. one fine-tuned on the closed cases during training.
        logger.info("model %s: using the encoder its index was built with, %s", bundle.version, recorded)
        encoder = recorded
    try:
        index = load_search_index(bundle, embedder(encoder, threads))
    except Exception as exc:  # the service routes without precedents rather than not at all
        logger.warning("precedent search not loaded for model %s: %s", bundle.version, exc)
        return None, str(exc)
    if index is None:
        return None, f"model {bundle.version} has no precedent index"
    logger.info("precedent index loaded: %d cases", len(index))
    return IndexSearcher(index), None
