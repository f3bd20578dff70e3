"""A shallower sentence encoder distilled from the one in use: fewer transformer layers, the same vector space.

The student is a copy of the teacher that keeps only some of its layers (``keep``, e.g. every other one, first and
last included), trained so that its vector of each text matches the teacher's (squared distance of the unit
vectors, i.e. ``2 (1 - cosine)``), on the texts the service embeds: item leads and reply openings as passages,
titles and messages as queries, each with the teacher's own prompt. The word embeddings are frozen (most of the
model, and a few thousand texts cannot move them well). Halving the layers roughly halves the encoder's time per
text, which is what bounds a session sheet's routing time and a long query's latency on a small CPU
(docs/benchmarks.md); whether the student keeps the teacher's retrieval quality is measured by
``benchmarks/bench_distill.py`` before anyone relies on it.

A student's vectors are close to the teacher's but not equal, so an index is always built and queried with one
encoder: the student has its own fingerprint like any other encoder directory.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.embeddings import available_cores
from training.finetune import _features, freeze_word_embeddings

logger = logging.getLogger(__name__)


@dataclass
class DistillParams:
    keep: tuple[int, ...] = (0, 2, 4, 7, 9, 11)  # teacher layers the student keeps, in order
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup: float = 0.1  # share of the steps over which the learning rate rises, then falls linearly to 0
    max_seq_length: int = 160  # training window: a title plus 200 characters is about 140 tokens
    seed: int = 0


def shallow_copy(teacher_dir: str | Path, keep: Sequence[int]):
    """The teacher loaded from ``teacher_dir`` with only the transformer layers ``keep`` (a SentenceTransformer)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(teacher_dir), device="cpu", local_files_only=True)
    backbone: Any = model[0].auto_model  # a transformers model; its layers are untyped attributes
    layers = backbone.encoder.layer
    if not keep or sorted(set(keep)) != list(keep) or keep[0] < 0 or keep[-1] >= len(layers):
        raise ValueError(f"keep must list distinct layers in increasing order within 0..{len(layers) - 1}, "
                         f"got {list(keep)}")
    backbone.encoder.layer = torch.nn.ModuleList([layers[i] for i in keep])
    backbone.config.num_hidden_layers = len(keep)
    return model


def distill(teacher_dir: str | Path, texts: Sequence[tuple[str, str]], targets: np.ndarray,
            params: DistillParams | None = None, progress: Callable[[int, int, float, float], None] | None = None):
    """Train a student on ``texts`` (prompt, text) toward ``targets`` (the teacher's unit vectors, one per text).

    ``progress(step, steps, loss, seconds)`` is called after each step. Returns ``(student, loss per step)``; the
    student's window is reset to the teacher's afterwards.
    """
    import torch

    params = params or DistillParams()
    if len(texts) != len(targets):
        raise ValueError(f"{len(texts)} texts but {len(targets)} target vectors")
    if len(texts) < params.batch_size:
        raise ValueError(f"only {len(texts)} texts, fewer than one batch ({params.batch_size})")
    torch.manual_seed(params.seed)
    # An encoder on OpenVINO loaded earlier in this process leaves torch one thread (models.openvino_backend).
    torch.set_num_threads(available_cores())
    student = shallow_copy(teacher_dir, params.keep)
    window = student.max_seq_length
    student.max_seq_length = min(params.max_seq_length, window or params.max_seq_length)
    freeze_word_embeddings(student)
    trainable = [p for p in student.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=params.learning_rate)
    steps = params.epochs * (len(texts) // params.batch_size)
    warm = max(1, int(params.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps))
    target = torch.from_numpy(np.asarray(targets, dtype=np.float32))
    rng = random.Random(params.seed)
    order = list(range(len(texts)))
    history: list[float] = []
    started = time.perf_counter()
    student.train()
    for _ in range(params.epochs):
        rng.shuffle(order)
        for start in range(0, len(order) - params.batch_size + 1, params.batch_size):
            batch = order[start : start + params.batch_size]
            features = _features(student, [texts[i][0] + texts[i][1] for i in batch], "")  # each its own prompt
            out = student(features)["sentence_embedding"]
            loss = ((out - target[batch]) ** 2).sum(dim=1).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            history.append(round(float(loss.detach()), 5))
            if progress:
                progress(len(history), steps, history[-1], time.perf_counter() - started)
    student.eval()
    student.max_seq_length = window
    return student, history


__all__ = ["DistillParams", "distill", "shallow_copy"]
