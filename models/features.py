"""Feature extraction shared by the lead and co-handler models: word and character n-grams over title and body.

The pipeline's first step segments (title, body) items into :class:`nlp.segment.Doc` with the model's own
:class:`nlp.segment.Segmenter`, which pickles with the pipeline; the feature union reads the tokens it made. A caller
that already holds the docs (the routing service segments an item once and reuses the tokens for search) calls
:func:`doc_features` directly. Selector functions are module-level so fitted pipelines pickle.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from nlp.segment import Doc, Segmenter

Item = tuple[str, str]


def doc_tokens(docs: Sequence[Doc]) -> list[tuple[str, ...]]:
    return [d.tokens for d in docs]


def doc_subject_tokens(docs: Sequence[Doc]) -> list[tuple[str, ...]]:
    return [d.subject_tokens for d in docs]


def doc_text(docs: Sequence[Doc]) -> list[str]:
    return [d.text for d in docs]


def given_tokens(tokens: tuple[str, ...]) -> list[str]:
    """The vectorizer's tokenizer: the tokens were made by the segmenter step."""
    return list(tokens)


def unchanged(doc):
    return doc


CHAR_MIN_DF = 2  # a character n-gram is a feature when at least this many training items contain it


def make_features(
    segmenter: Segmenter | None = None,
    *,
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] = (2, 3),
    max_char_features: int = 200_000,
) -> Pipeline:
    """Segment, then word n-grams of the whole text, word n-grams of the title's subject, character n-grams."""

    def words(selector):
        tfidf = TfidfVectorizer(tokenizer=given_tokens, preprocessor=unchanged, token_pattern=None, lowercase=False,
                                ngram_range=word_ngrams, sublinear_tf=True, min_df=1, max_df=0.8)
        return Pipeline([("select", FunctionTransformer(selector)), ("tfidf", tfidf)])

    chars = Pipeline([
        ("select", FunctionTransformer(doc_text)),
        ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=char_ngrams, sublinear_tf=True, min_df=CHAR_MIN_DF,
                                  max_df=0.8, max_features=max_char_features)),
    ])
    union = FeatureUnion([("words", words(doc_tokens)), ("title", words(doc_subject_tokens)), ("chars", chars)])
    segment = FunctionTransformer((segmenter or Segmenter()).prepare_many)
    return Pipeline([("segment", segment), ("features", union)])


def segmenter_of(features: Pipeline) -> Segmenter:
    return features.named_steps["segment"].func.__self__


def doc_features(features: Pipeline) -> FeatureUnion:
    return features.named_steps["features"]


def feature_terms(features: Pipeline) -> list[tuple[str, str]]:
    """(block, term) for every column of the fitted feature matrix, in column order."""
    out: list[tuple[str, str]] = []
    for name, pipe in doc_features(features).transformer_list:
        out.extend((name, term) for term in pipe.named_steps["tfidf"].get_feature_names_out())
    return out


def word_columns(features: Pipeline) -> int:
    """How many leading columns of the fitted feature matrix are word features (the blocks before ``chars``)."""
    blocks = doc_features(features).transformer_list
    names = [name for name, _ in blocks]
    if names[-1] != "chars":
        raise ValueError(f"expected the character block last, got {names}")
    return sum(len(pipe.named_steps["tfidf"].vocabulary_) for _, pipe in blocks[:-1])


def blocks(features: Pipeline) -> list[tuple[int, int, int]]:
    """(start, stop, min_df) of each block's columns in the fitted feature matrix, in column order."""
    out, start = [], 0
    for _, pipe in doc_features(features).transformer_list:
        tfidf = pipe.named_steps["tfidf"]
        stop = start + len(tfidf.vocabulary_)
        out.append((start, stop, int(tfidf.min_df)))
        start = stop
    return out


def as_unseen(X, known_df: np.ndarray, bounds: list[tuple[int, int, int]]):
    """Rows of ``X`` as a vocabulary fitted without them would have made them.

    The vocabulary was fitted on every training item; a model fitted on part of them (a fold) would have had a
    vocabulary of that part only: the terms fewer than ``min_df`` of its items contain would not exist, and each
    block's row would be l2-normalised over the remaining terms (so a new item's known terms weigh more than they do
    while its unknown ones still count in the norm). ``known_df``: each column's document frequency in that part.
    """
    X = sparse.csr_matrix(X, copy=True)
    min_df = np.zeros(X.shape[1])
    for start, stop, m in bounds:
        min_df[start:stop] = m
    X.data[known_df[X.indices] < min_df[X.indices]] = 0.0
    X.eliminate_zeros()
    stops = np.array([stop for _, stop, _ in bounds])
    block = np.searchsorted(stops, X.indices, side="right")
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    norms = np.zeros((X.shape[0], len(bounds)))
    np.add.at(norms, (rows, block), X.data ** 2)
    X.data /= np.sqrt(norms[rows, block])
    return X
