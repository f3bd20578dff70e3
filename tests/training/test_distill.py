"""Distilling a shallower encoder: which layers it keeps, and that training moves it toward the teacher's vectors."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

TEXTS = ["关于加快推进老旧小区加装电梯工作的建议", "农村饮用水源地保护", "交通红绿灯设置不合理", "校外培训机构收费不规范",
         "白沙河黑臭水体治理", "滨江路行人过街危险", "社区养老服务中心建设", "农贸市场食品安全检查"]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    from tests.tiny_encoder import build_tiny_encoder

    return build_tiny_encoder(tmp_path_factory.mktemp("teacher"), TEXTS, layers=4, seed=1, init_range=0.5)


def _encode(model, texts):
    return np.asarray(model.encode(texts, convert_to_numpy=True, normalize_embeddings=True), dtype=np.float32)


def test_the_student_keeps_the_named_layers_of_the_teacher(teacher):
    import torch
    from sentence_transformers import SentenceTransformer

    from training.distill import shallow_copy

    full = SentenceTransformer(str(teacher), device="cpu")
    student = shallow_copy(teacher, (0, 3))
    layers = student[0].auto_model.encoder.layer
    assert len(layers) == 2 and student[0].auto_model.config.num_hidden_layers == 2
    for mine, theirs in zip(layers, [full[0].auto_model.encoder.layer[i] for i in (0, 3)]):
        for a, b in zip(mine.parameters(), theirs.parameters()):
            assert torch.equal(a, b)
    for bad in [(), (3, 0), (0, 0), (0, 4), (-1, 2)]:
        with pytest.raises(ValueError, match="keep"):
            shallow_copy(teacher, bad)


@pytest.mark.slow
def test_distilling_brings_the_student_toward_the_teachers_vectors(teacher):
    from sentence_transformers import SentenceTransformer

    from training.distill import DistillParams, distill, shallow_copy

    texts = [f"{a}，{b}" for a in TEXTS for b in TEXTS]  # 64 texts
    targets = _encode(SentenceTransformer(str(teacher), device="cpu"), texts)
    untrained = _encode(shallow_copy(teacher, (0, 3)), texts)
    steps = []
    params = DistillParams(keep=(0, 3), epochs=8, batch_size=16, learning_rate=3e-3, max_seq_length=32)
    student, history = distill(teacher, [("", t) for t in texts], targets, params,
                               progress=lambda done, total, loss, s: steps.append((done, total)))
    assert len(history) == 8 * 4 and steps[-1] == (32, 32)
    assert np.mean(history[-4:]) < np.mean(history[:4])
    before = float(np.mean(np.sum(untrained * targets, axis=1)))
    after = float(np.mean(np.sum(_encode(student, texts) * targets, axis=1)))
    assert after > before + 0.01, (before, after)
    assert student.max_seq_length == 64  # the teacher's window again, not the training one


def test_bad_inputs_are_refused(teacher):
    from training.distill import DistillParams, distill

    with pytest.raises(ValueError, match="target vectors"):
        distill(teacher, [("", "甲")] * 20, np.zeros((19, 32), dtype=np.float32), DistillParams(keep=(0,)))
    with pytest.raises(ValueError, match="one batch"):
        distill(teacher, [("", "甲")] * 4, np.zeros((4, 32), dtype=np.float32), DistillParams(keep=(0,)))
