"""The encoder's precision: settings, names, what an index records, and bfloat16 vectors (tiny local model, slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from models import precision as precision_mod
from models import service
from models.embeddings import EmbedderError, load_embedder
from models.precision import PrecisionError, precision_of, resolve_precision
from models.settings import Settings

TEXTS = ["关于加快推进老旧小区加装电梯工作的建议", "农村饮用水源地保护", "交通红绿灯", "关于加快推进老旧小区加装电梯工作的建议"]


def test_auto_means_bfloat16_only_where_the_cpu_computes_it(monkeypatch):
    monkeypatch.setattr(precision_mod, "native_bfloat16", lambda: True)
    assert resolve_precision("auto") == "bfloat16"
    monkeypatch.setattr(precision_mod, "native_bfloat16", lambda: False)
    assert resolve_precision("auto") == "float32"
    assert [resolve_precision(p) for p in ("float32", "bfloat16", "int8")] == ["float32", "bfloat16", "int8"]
    with pytest.raises(PrecisionError, match="fp16"):
        resolve_precision("fp16")


def test_an_index_records_its_precision_in_the_encoder_name():
    assert precision_of("multilingual-e5-small+bf16") == "bfloat16"
    assert precision_of("multilingual-e5-small+int8") == "int8"
    assert precision_of("multilingual-e5-small") == "float32"
    assert precision_of("hashing-256") == precision_of("") == "float32"


def test_a_bad_precision_is_refused_before_the_encoder_directory_is_read(tmp_path):
    with pytest.raises(EmbedderError, match="JIAOBAN_ENCODER_PRECISION"):
        load_embedder(str(tmp_path / "no-such-encoder"), precision="fp16")
    assert load_embedder("hashing:64", precision="bfloat16").dim == 64  # the hashing encoder has one precision


def test_the_precision_setting(monkeypatch):
    assert Settings(_env_file=None).encoder_precision == "auto"
    monkeypatch.setenv("JIAOBAN_ENCODER_PRECISION", "bfloat16")
    assert Settings(_env_file=None).encoder_precision == "bfloat16"
    monkeypatch.setenv("JIAOBAN_ENCODER_PRECISION", "fp16")
    with pytest.raises(ValidationError, match="encoder_precision"):
        Settings(_env_file=None)


def test_queries_are_encoded_at_the_precision_the_index_was_built_with(tmp_path, monkeypatch):
    from models.bundle import Bundle

    asked = []
    monkeypatch.setattr(service, "cached_embedder", lambda spec, threads=None, batching=False, precision="float32":
                        asked.append((spec, precision)) or spec)
    monkeypatch.setattr(service, "load_search_index", lambda bundle, emb: None)
    for name in ("multilingual-e5-small+bf16", "multilingual-e5-small", "multilingual-e5-small+int8"):
        meta = {"version": "v1", "search": {"encoder": name, "encoder_path": None}}
        service.load_index(Bundle(path=tmp_path, meta=meta, model=None, registry=None), "var/encoders/e5")
    assert asked == [("var/encoders/e5", "bfloat16"), ("var/encoders/e5", "float32"), ("var/encoders/e5", "int8")]


def test_cached_embedder_passes_the_precision_on(monkeypatch):
    import models.embeddings

    seen = []
    monkeypatch.setattr(models.embeddings, "load_embedder", lambda spec, **kw: seen.append(kw) or spec)
    service.cached_embedder.cache_clear()
    try:
        service.cached_embedder("var/encoders/x", 2, False, "bfloat16")
        service.cached_embedder("var/encoders/x", None, False, "float32")
    finally:
        service.cached_embedder.cache_clear()
    assert seen == [{"precision": "bfloat16", "num_threads": 2}, {}]


def test_bfloat16_pools_and_normalises_in_float32():
    torch = pytest.importorskip("torch")
    from transformers.tokenization_utils_base import BatchEncoding

    class Tokens(torch.nn.Module):  # stands in for sentence-transformers' Transformer module
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(4, 4)

        def forward(self, features):
            features["token_embeddings"] = self.proj(features["x"].to(self.proj.weight.dtype))
            return features

    model = precision_mod.to_bfloat16(torch.nn.Sequential(Tokens()))
    assert model[0].proj.weight.dtype == torch.bfloat16
    for features in ({"x": torch.ones(2, 3, 4)}, BatchEncoding({"x": torch.ones(2, 3, 4)})):
        assert model(features)["token_embeddings"].dtype == torch.float32


# -- a tiny sentence-transformers model made here (random weights, never downloaded) -------------------------------
@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    from tests.tiny_encoder import build_tiny_encoder

    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"), TEXTS)


@pytest.mark.slow
def test_bfloat16_vectors_are_close_unit_float32_rows_with_their_own_fingerprint(tiny_encoder):
    from models.embeddings import SentenceTransformerEmbedder

    # torch's own bfloat16 (OpenVINO's is tests/models/test_openvino_backend.py)
    full = SentenceTransformerEmbedder(tiny_encoder, backend="torch")
    half = SentenceTransformerEmbedder(tiny_encoder, precision="bfloat16", backend="torch")
    a, b = full.encode_passages(TEXTS), half.encode_passages(TEXTS)
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-6)  # normalised in float32
    assert (a * b).sum(axis=1).min() > 0.999 and not np.array_equal(a, b)
    assert half.name == full.name + "+bf16" and half.precision == "bfloat16"
    assert half.fingerprint != full.fingerprint
    assert SentenceTransformerEmbedder(tiny_encoder, precision="float32").fingerprint == full.fingerprint
    assert SentenceTransformerEmbedder(tiny_encoder, quantize=True).precision == "int8"


@pytest.mark.slow
def test_a_text_repeated_in_a_batch_is_encoded_once(tiny_encoder):
    from models.embeddings import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(tiny_encoder)
    calls = []
    encode = embedder._model.encode
    embedder._model.encode = lambda texts, **kw: calls.append(list(texts)) or encode(texts, **kw)
    vectors = embedder.encode_passages(TEXTS)
    assert calls == [TEXTS[:3]]
    np.testing.assert_array_equal(vectors[3], vectors[0])
    np.testing.assert_allclose(vectors[:3], embedder.encode_passages(TEXTS[:3]), atol=1e-6)


@pytest.mark.slow
def test_an_index_built_in_bfloat16_refuses_float32_queries(tiny_encoder, tmp_path):
    from models.embeddings import SentenceTransformerEmbedder
    from models.records import CaseRecord
    from models.search import PrecedentIndex, SearchIndexError

    half = SentenceTransformerEmbedder(tiny_encoder, precision="bfloat16")
    index = PrecedentIndex(half)
    index.add([CaseRecord(row=2, case_no="JY1", year=2024, kind="建议", title=TEXTS[0], body=TEXTS[1], lead="住建局")])
    index.save(tmp_path / "search")
    assert PrecedentIndex.load(tmp_path / "search", half).vectors.shape == (1, 32)
    with pytest.raises(SearchIndexError, match=r"\+bf16"):
        PrecedentIndex.load(tmp_path / "search", SentenceTransformerEmbedder(tiny_encoder))
