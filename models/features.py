"""Feature extraction shared by the lead and co-handler models: word and character n-grams over title and body.

The pipeline's first step segments (title, body) items into :class:`nlp.segment.Doc` with the model's own
:class:`nlp.segment.Segmenter`, which pickles with the pipeline; the feature union reads the tokens it made. A caller
that already holds the docs (the routing service segments an item once and reuses the tokens for search) calls
:func:`doc_features` directly. Selector functions are module-level so fitted pipelines pickle.
"""

from __future__ import annotations

from collections.abc import Sequence

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
        ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=char_ngrams, sublinear_tf=True, min_df=2, max_df=0.8,
                                  max_features=max_char_features)),
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
