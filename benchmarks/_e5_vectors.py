"""e5 passage vectors of TipDM items, encoded once and cached under /tmp (bench_e5_stack)."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger("bench_e5_stack")

CACHE = Path("/tmp/jiaoban-e5-vectors")


def lead_texts(cases, lead_chars: int) -> list[str]:
    """The service's ``items`` text (title subject, "。", body), cut to its first ``lead_chars`` characters."""
    from models.passages import item_text

    return [item_text(c.title, c.body)[:lead_chars] or "空" for c in cases]


def cached_vectors(texts: list[str], encoder: Path, tag: str, cache: Path = CACHE) -> tuple[np.ndarray, dict]:
    """One normalised passage vector per text; read from the cache when these texts were encoded before.

    Returns the vectors and the cost (seconds, items, whether it came from the cache).
    """
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = cache / f"{tag}-{encoder.name}-{digest}.npy"
    meta = path.with_suffix(".seconds")
    if path.is_file() and meta.is_file():
        return np.load(path), {"items": len(texts), "seconds": float(meta.read_text()), "cached": True}
    from models.embeddings import load_embedder

    embedder = load_embedder(str(encoder))
    start = time.perf_counter()
    vectors = embedder.encode_passages(texts, show_progress=False)
    seconds = time.perf_counter() - start
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors.astype(np.float32))
    meta.write_text(f"{seconds:.2f}")
    logger.info("encoded %d %s texts in %.0f s", len(texts), tag, seconds)
    return vectors, {"items": len(texts), "seconds": seconds, "cached": False}
