"""Feature extraction shared by the lead and co-handler models: word and character n-grams over title and body.

Inputs are sequences of (title, body) pairs. The selector functions are module-level so fitted pipelines pickle.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from nlp.normalize import join_title_body, normalize, title_subject
from nlp.segment import tokenize

Item = tuple[str, str]


def full_text(items: Sequence[Item]) -> list[str]:
    return [join_title_body(t, b) for t, b in items]


def title_text(items: Sequence[Item]) -> list[str]:
    """The title's subject; for items without a title, the opening of the body stands in for it."""
    return [title_subject(t) or normalize(b)[:30] for t, b in items]


def make_features(
    *, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] = (2, 3), max_char_features: int = 200_000
) -> FeatureUnion:
    """Word n-grams of the whole text, word n-grams of the title's subject, and character n-grams of the whole text."""

    def words(selector):
        return Pipeline(
            [
                ("select", FunctionTransformer(selector)),
                (
                    "tfidf",
                    TfidfVectorizer(
                        tokenizer=tokenize,
                        token_pattern=None,
                        lowercase=False,
                        ngram_range=word_ngrams,
                        sublinear_tf=True,
                        min_df=1,
                        max_df=0.8,
                    ),
                ),
            ]
        )

    chars = Pipeline(
        [
            ("select", FunctionTransformer(full_text)),
            (
                "tfidf",
                TfidfVectorizer(
                    analyzer="char",
                    ngram_range=char_ngrams,
                    sublinear_tf=True,
                    min_df=2,
                    max_df=0.8,
                    max_features=max_char_features,
                ),
            ),
        ]
    )
    return FeatureUnion([("words", words(full_text)), ("title", words(title_text)), ("chars", chars)])


def feature_terms(features: FeatureUnion) -> list[tuple[str, str]]:
    """(block, term) for every column of the fitted feature matrix, in column order."""
    out: list[tuple[str, str]] = []
    for name, pipe in features.transformer_list:
        out.extend((name, term) for term in pipe.named_steps["tfidf"].get_feature_names_out())
    return out


def word_columns(features: FeatureUnion) -> int:
    """How many leading columns of the fitted feature matrix are word features (the blocks before ``chars``)."""
    names = [name for name, _ in features.transformer_list]
    if names[-1] != "chars":
        raise ValueError(f"expected the character block last, got {names}")
    return sum(len(pipe.named_steps["tfidf"].vocabulary_) for name, pipe in features.transformer_list[:-1])
