"""Saving and loading a PrecedentIndex: its cases and tokens (JSON lines), passage vectors (npy) and faiss index."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from models.index import VectorIndex, index_kind
from models.passages import FIELDS, PassageField

logger = logging.getLogger(__name__)


def save_index(index, directory: Path) -> None:
    from models.search import FORMAT

    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "cases.jsonl", "w", encoding="utf-8") as fh:
        for p, c in enumerate(index.cases):
            row = {**c, "tokens": index.tokens["items"][p], "reply_tokens": index.tokens["replies"][p],
                   "spans": {f: index.fields[f].spans[p] for f in FIELDS}}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    np.save(directory / "vectors.npy", index.vectors)
    for f in FIELDS:
        np.save(directory / f"passages_{f}.npy", index.fields[f].vectors)
    index.dense.save(directory)
    path = getattr(index.embedder, "path", None)
    meta = {"format": FORMAT, "encoder": index.embedder.name, "encoder_fingerprint": index.embedder.fingerprint,
            "encoder_path": str(path) if path else None, "size": len(index.cases),
            "trainable": sum(bool(c.get("trainable", True)) for c in index.cases),
            "with_reply": int(index.has_reply.sum()),
            "passages": {f: len(index.fields[f].vectors) for f in FIELDS},
            "index_kind": index.dense.kind, "config": index.config.to_dict()}
    (directory / "search.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")


def load_index(cls, directory: Path, embedder, segmenter=None):
    from models.search import FORMAT, SearchConfig, SearchIndexError, SearchIndexFormatError

    meta = json.loads((directory / "search.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise SearchIndexFormatError(f"{directory} 中的检索索引格式为 {meta.get('format')}，本程序读取格式 {FORMAT}："
                               "请用 `jiaoban index` 重建索引")
    if meta["encoder_fingerprint"] != embedder.fingerprint:
        raise SearchIndexError(
            f"{directory} 中的检索索引是用编码器 {meta['encoder_fingerprint']} 建立的，当前编码器为 "
            f"{embedder.fingerprint}：请用 `jiaoban index` 重建索引，"
            "或用 --encoder / JIAOBAN_ENCODER 指定建索引时的编码器")
    obj = cls(embedder, SearchConfig(**meta.get("config", {})), segmenter)
    with open(directory / "cases.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    obj.tokens = {"items": [r.pop("tokens") for r in rows], "replies": [r.pop("reply_tokens") for r in rows]}
    spans = [r.pop("spans") for r in rows]
    obj.cases = rows
    obj.vectors = np.load(directory / "vectors.npy")
    for f in FIELDS:
        field = PassageField.build(embedder.dim, [s[f] for s in spans], [])
        field.vectors = np.load(directory / f"passages_{f}.npy")
        if len(field.vectors) != field.offsets[-1]:
            raise SearchIndexError(f"{directory} 中的检索索引不完整（{f} 段落向量数不符）："
                                   "请用 `jiaoban index` 重建索引")
        obj.fields[f] = field
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
