"""Rejected variants of the dense side for message → own reply (task (b) of bench_precedents), with their MRR@10.

Query side: the message's first 200 characters (``lead``), its passages averaged (``chunks``, what the index does),
the title alone, title + message, each query passage against each reply passage (max-max), and the first query
passage. Reply side: the reply's first 200 characters, or its best passage (max pooling). Score fusion: cosine plus
``beta`` times BM25 normalised by the query's top score. Vectors come from bench_precedents' on-disk cache (texts
missing there are encoded). Prints a Markdown table; docs/search-quality.md quotes it with this command::

    nice -n 10 .venv/bin/python benchmarks/search_variants.py --data ../shared/datasets/tipdm2020c --n 200
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _common import DEFAULT_ENCODER, setup_logging
from bench_precedents import CachedEmbedder, tipdm_pairs


def mrr(scores: np.ndarray) -> float:
    own = np.diag(scores)
    rank = (scores > own[:, None]).sum(axis=1)
    return float(np.where(rank < 10, 1.0 / (rank + 1), 0.0).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=Path("/tmp"))
    ap.add_argument("--encoder-dir", type=Path, default=DEFAULT_ENCODER)
    args = ap.parse_args()
    setup_logging()
    import bm25s

    from models.embeddings import SentenceTransformerEmbedder
    from models.passages import chunk_spans, item_text, pooled
    from models.search import SearchConfig, case_text
    from nlp.normalize import normalize
    from nlp.segment import default_segmenter

    if not (args.data / "messages_with_replies.csv").is_file():
        print(f"no messages_with_replies.csv in {args.data}: skipped")
        return
    enc = CachedEmbedder(SentenceTransformerEmbedder(args.encoder_dir, num_threads=1), args.cache)
    pairs = tipdm_pairs(args.data, args.n, args.seed)
    lead, chunks = SearchConfig(), SearchConfig(dense_text="chunks")

    def pieces(text: str) -> list[str]:
        return [text[s:e] for s, e in (chunk_spans(text, chunks.chunk_chars) or [(0, len(text))])]

    messages = [item_text(t, b) for t, b, _ in pairs]
    m_lead = enc.encode_queries([case_text("", m, lead) for m in messages])
    titles = enc.encode_queries([case_text("", t, lead) for t, _, _ in pairs])
    m_chunks = [enc.encode_queries(pieces(case_text("", m, chunks))) for m in messages]
    r_lead = enc.encode_passages([normalize(r)[: lead.lead_chars] for _, _, r in pairs])
    r_chunks = [enc.encode_passages(pieces(normalize(r))) for _, _, r in pairs]
    enc.save()

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    def against_chunks(queries: np.ndarray) -> np.ndarray:
        return np.array([[float((c @ q).max()) for c in r_chunks] for q in queries])

    spans = [chunk_spans(case_text("", m, chunks), chunks.chunk_chars) for m in messages]
    pooled_queries = np.array([pooled(q, sp) if sp else q[0] for q, sp in zip(m_chunks, spans)])
    both = unit(m_lead + titles)
    rows = {
        "message lead → reply lead (index `lead`)": m_lead @ r_lead.T,
        "message lead → best reply passage": against_chunks(m_lead),
        "message passages averaged → best reply passage (index `chunks`)": against_chunks(pooled_queries),
        "title → reply lead": titles @ r_lead.T,
        "title + message lead → reply lead": both @ r_lead.T,
        "each message passage × each reply passage, max": np.array(
            [[float((q @ c.T).max()) for c in r_chunks] for q in m_chunks]),
        "first message passage → best reply passage": against_chunks(np.array([q[0] for q in m_chunks])),
    }
    seg = default_segmenter()
    bm25 = bm25s.BM25()
    bm25.index([seg.tokenize(r) or ["<empty>"] for _, _, r in pairs], show_progress=False)
    vocab = set(bm25.vocab_dict)
    lexical = np.array([bm25.get_scores([t for t in seg.tokenize(m) if t in vocab] or ["<empty>"])
                        for m in messages])
    lexical = lexical / np.maximum(lexical.max(axis=1, keepdims=True), 1e-9)
    rows["BM25 over the reply"] = lexical
    cosine = rows["message lead → reply lead (index `lead`)"]
    for beta in (0.02, 0.05, 0.1, 0.2):
        rows[f"cosine (lead) + {beta} × normalised BM25"] = cosine + beta * lexical
    print(f"| variant ({len(pairs)} TipDM pairs, seed {args.seed}) | MRR@10 |\n|---|---:|")
    for name, scores in rows.items():
        print(f"| {name} | {mrr(scores):.3f} |")


if __name__ == "__main__":
    main()
