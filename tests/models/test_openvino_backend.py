"""The encoder's OpenVINO backend: the same vectors as torch's, settings, and what happens where it cannot run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from models import openvino_backend
from models.embeddings import EmbedderError, load_embedder
from models.openvino_backend import BackendError, requested
from models.settings import Settings

SHORT = ["关于加快推进老旧小区加装电梯工作的建议", "交通红绿灯", "农村饮用水源地保护"]
# Longer than the tiny model's 64-token window: chunked, pooled, and padded beside the short ones in a batch.
LONG = "。".join(["关于加快推进老旧小区加装电梯工作的建议", "农村饮用水源地保护要加强巡查", "交通红绿灯配时不合理"] * 4)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("openvino")
    from tests.tiny_encoder import build_tiny_encoder

    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder-ov"), SHORT + [LONG])


def test_the_setting_is_checked_and_read_from_the_environment(monkeypatch):
    monkeypatch.delenv(openvino_backend.ENV, raising=False)
    assert requested(None) == "auto"
    monkeypatch.setenv(openvino_backend.ENV, " OpenVINO ")
    assert requested(None) == "openvino"
    assert requested("torch") == "torch"  # an argument wins over the environment
    with pytest.raises(BackendError, match="JIAOBAN_ENCODER_BACKEND"):
        requested("onnx")
    monkeypatch.setenv("JIAOBAN_ENCODER_BACKEND", "cuda")
    with pytest.raises(ValidationError, match="encoder_backend"):
        Settings()


@pytest.mark.slow
def test_openvino_gives_torchs_vectors_under_the_same_name_and_fingerprint(tiny_encoder):
    torch_side = load_embedder(str(tiny_encoder), backend="torch")
    ov_side = load_embedder(str(tiny_encoder), backend="openvino")
    assert (torch_side.backend, ov_side.backend) == ("torch", "openvino")
    texts = SHORT + [LONG]
    a, b = torch_side.encode_passages(texts), ov_side.encode_passages(texts)
    assert b.dtype == np.float32 and b.shape == a.shape
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.99999
    q_a, q_b = torch_side.encode_queries([LONG, SHORT[1]]), ov_side.encode_queries([LONG, SHORT[1]])
    assert (q_a * q_b).sum(axis=1).min() > 0.99999
    assert ov_side.name == torch_side.name and ov_side.fingerprint == torch_side.fingerprint


@pytest.mark.slow
def test_a_text_padded_in_a_batch_gets_its_vector_alone(tiny_encoder):
    embedder = load_embedder(str(tiny_encoder), backend="openvino")
    embedder.batch_size = 8
    batch = embedder.encode_passages([SHORT[1], LONG, SHORT[0]])  # the short texts are padded to the long chunk
    alone = embedder.encode_passages([SHORT[1]])
    assert float(batch[0] @ alone[0]) > 0.99999


@pytest.mark.slow
def test_bfloat16_runs_on_openvino_close_to_float32(tiny_encoder):
    full = load_embedder(str(tiny_encoder), backend="torch")
    half = load_embedder(str(tiny_encoder), precision="bfloat16", backend="openvino")
    assert half.backend == "openvino" and half.name == full.name + "+bf16"
    assert (full.encode_passages(SHORT) * half.encode_passages(SHORT)).sum(axis=1).min() > 0.99


@pytest.mark.slow
def test_int8_stays_on_torch_and_cannot_be_forced_onto_openvino(tiny_encoder):
    assert load_embedder(str(tiny_encoder), precision="int8").backend == "torch"
    with pytest.raises(EmbedderError, match="int8"):
        load_embedder(str(tiny_encoder), precision="int8", backend="openvino")


@pytest.mark.slow
def test_without_openvino_auto_falls_back_to_torch_and_openvino_says_how_to_install(tiny_encoder, monkeypatch):
    monkeypatch.setattr(openvino_backend, "available", lambda: False)
    assert load_embedder(str(tiny_encoder)).backend == "torch"
    with pytest.raises(EmbedderError, match="pip install openvino"):
        load_embedder(str(tiny_encoder), backend="openvino")


@pytest.mark.slow
def test_a_model_openvino_cannot_convert_stays_on_torch_unless_openvino_is_required(tiny_encoder, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operation")

    monkeypatch.setattr(openvino_backend, "_compile", broken)
    embedder = load_embedder(str(tiny_encoder))
    assert embedder.backend == "torch" and embedder.encode_passages(SHORT).shape[0] == 3
    with pytest.raises(EmbedderError, match="JIAOBAN_ENCODER_BACKEND=torch"):
        load_embedder(str(tiny_encoder), backend="openvino")


@pytest.mark.slow
def test_fine_tuning_after_an_openvino_encoder_gets_every_core_back(tiny_encoder):
    import torch

    from models.embeddings import available_cores
    from training.finetune import FineTuneParams, _train

    before = torch.get_num_threads()
    try:
        load_embedder(str(tiny_encoder), backend="openvino")
        assert torch.get_num_threads() == 1  # torch only pools beside OpenVINO
        pairs = [(SHORT[0], SHORT[1]), (SHORT[2], LONG[:30])]
        _train(tiny_encoder, pairs, ("", ""), FineTuneParams(batch_size=2), None)
        assert torch.get_num_threads() == available_cores()
    finally:
        torch.set_num_threads(before)
