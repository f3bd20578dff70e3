"""Fast tests of the embedding layer: the hashing fake, the chunker and the spec loader (no torch model)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.embeddings import Embedder, EmbedderError, HashingEmbedder, load_embedder, split_into_chunks

ROOT = Path(__file__).resolve().parents[2]

ELEVATOR = "关于加快老旧小区加装电梯工作的建议"
ELEVATOR_2 = "建议加快推进老旧小区加装电梯，解决老年人上下楼难题"
WATER = "加强农村饮用水水源地保护，保障群众饮水安全"


def test_hashing_vectors_are_float32_unit_rows() -> None:
    vectors = HashingEmbedder(64).encode_passages([ELEVATOR, WATER, "", "   "])
    assert vectors.shape == (4, 64)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_hashing_is_deterministic_across_instances_and_seeded() -> None:
    first = HashingEmbedder(128).encode_queries([ELEVATOR, WATER])
    again = HashingEmbedder(128).encode_queries([ELEVATOR, WATER])
    other_seed = HashingEmbedder(128, seed=7).encode_queries([ELEVATOR, WATER])
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other_seed)


def test_hashing_queries_and_passages_agree() -> None:
    embedder = HashingEmbedder(128)
    np.testing.assert_array_equal(embedder.encode_queries([ELEVATOR]), embedder.encode_passages([ELEVATOR]))


def test_hashing_ranks_shared_wording_above_another_topic() -> None:
    query, same, other = HashingEmbedder(256).encode_passages([ELEVATOR, ELEVATOR_2, WATER])
    assert query @ same > query @ other + 0.2


def test_hashing_ignores_width_and_whitespace() -> None:
    a, b = HashingEmbedder(64).encode_passages(["ＡＢＣ 加装 电梯", "abc加装电梯"])
    assert a @ b == pytest.approx(1.0)


def test_hashing_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError):
        HashingEmbedder().encode_queries(ELEVATOR)


def test_hashing_satisfies_the_protocol_and_fingerprints_its_settings() -> None:
    embedder = HashingEmbedder(128)
    assert isinstance(embedder, Embedder)
    assert embedder.fingerprint == HashingEmbedder(128).fingerprint
    assert embedder.fingerprint != HashingEmbedder(64).fingerprint
    assert embedder.fingerprint != HashingEmbedder(128, seed=1).fingerprint


def _long_text() -> str:
    ends = "。！？；\n"
    sentences = [f"第{i}条意见：建议{'完善' * (i % 7 + 1)}相关制度，明确部门职责{ends[i % 5]}" for i in range(80)]
    return "".join(sentences) + "最后一段没有句号" + "很长" * 200


@pytest.mark.parametrize("max_chars", [1, 7, 50, 300, 5000])
def test_chunks_cover_the_whole_text_within_the_limit(max_chars: int) -> None:
    text = _long_text()
    chunks = split_into_chunks(text, max_chars)
    assert all(0 < len(chunk) <= max_chars for chunk in chunks)
    assert re.sub(r"\s", "", "".join(chunks)) == re.sub(r"\s", "", text)


def test_chunks_end_at_sentence_boundaries_when_sentences_fit() -> None:
    text = "".join(f"第{i}句话讲的是同一件事情。" for i in range(40))
    chunks = split_into_chunks(text, 60)
    assert len(chunks) > 1
    assert all(chunk.endswith("。") for chunk in chunks)


def test_overlong_sentence_is_cut_at_commas_first() -> None:
    text = "，".join(["一二三四五六七八"] * 10) + "。"
    chunks = split_into_chunks(text, 20)
    assert all(chunk.endswith(("，", "。")) for chunk in chunks)


def test_short_and_blank_texts() -> None:
    assert split_into_chunks(ELEVATOR, 100) == [ELEVATOR]
    assert split_into_chunks(" \n ", 10) == []
    with pytest.raises(ValueError):
        split_into_chunks(ELEVATOR, 0)


def test_load_embedder_hashing_specs(tmp_path: Path) -> None:
    assert isinstance(load_embedder("hashing"), HashingEmbedder)
    assert load_embedder("hashing").dim == 256
    assert load_embedder("hashing:64").dim == 64
    with pytest.raises(EmbedderError):
        load_embedder("hashing:big")
    with pytest.raises(EmbedderError):
        load_embedder(str(tmp_path / "missing"))
    with pytest.raises(EmbedderError, match="不是 sentence-transformers 模型目录"):
        load_embedder(str(tmp_path))


def test_importing_the_encoder_modules_stays_light() -> None:
    code = ("import sys, models.embeddings, models.e5_convert; "
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'openvino') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
