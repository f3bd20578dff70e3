"""The encoder's transformer run by OpenVINO instead of torch: the same weights and precision, faster kernels.

On the 2-core CPUs this service is sized for, the sentence encoder is most of a sheet's routing time (issue #10,
docs/benchmarks.md). OpenVINO runs the same transformer about 1.4 times as fast as torch at bfloat16 on an AVX512-BF16
CPU (and about 1.3 times at float32), with vectors that agree with torch's to a mean cosine of 0.99999
(``benchmarks/bench_encoder_ceiling.py``). Only the transformer moves: sentence-transformers still tokenizes, sorts
and batches the texts and pools and normalises the token vectors, so chunking, prompts and pooling are unchanged.

The backend does not enter the encoder's fingerprint: like torch's own kernels on another CPU, it changes the
vectors only in their last digits, so an index built with one backend is searched with the other. The precision
does (models.precision). ``JIAOBAN_ENCODER_BACKEND``: ``auto`` (default: OpenVINO where it is installed, for float32
and bfloat16), ``torch`` or ``openvino`` (an error when it cannot be used). int8 stays with torch's dynamic
quantisation.
"""

from __future__ import annotations

import logging
import os
import threading
import types
import warnings

import numpy as np

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "openvino")
ENV = "JIAOBAN_ENCODER_BACKEND"


class BackendError(ValueError):
    """A backend setting that is none of :data:`BACKENDS`, or OpenVINO asked for where it cannot run."""


def requested(backend: str | None) -> str:
    """The setting (argument, else ``JIAOBAN_ENCODER_BACKEND``, else ``auto``), checked."""
    value = (backend or os.environ.get(ENV) or "auto").strip().lower()
    if value not in BACKENDS:
        raise BackendError(f"编码器后端“{value}”无效：可选 {'、'.join(BACKENDS)}（{ENV}）")
    return value


def available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def attach(model, precision: str, threads: int, backend: str | None = None) -> str:
    """Run ``model``'s transformer (a SentenceTransformer's first module) with OpenVINO when ``backend`` asks for
    it or allows it; returns the backend in use, ``"openvino"`` or ``"torch"``."""
    choice = requested(backend)
    if choice == "torch" or precision not in ("float32", "bfloat16"):
        if choice == "openvino":
            raise BackendError(f"编码器精度 {precision} 只能用 torch 后端运行（{ENV}=torch 或 auto）")
        return "torch"
    if not available():
        if choice == "openvino":
            raise BackendError(f"未安装 openvino：请 `pip install openvino`，或设 {ENV}=torch")
        return "torch"
    try:
        run = _compile(model[0], precision, threads)
    except Exception as exc:  # an architecture the converter does not take: torch still runs it
        if choice == "openvino":
            raise BackendError(f"OpenVINO 无法转换该编码器（{type(exc).__name__}: {exc}）：请设 {ENV}=torch") from exc
        logger.warning("encoder stays on torch: OpenVINO could not convert it (%s)", type(exc).__name__)
        return "torch"
    model[0].forward = types.MethodType(run, model[0])
    import torch

    # torch now only pools a few small tensors; its idle worker threads would spin against OpenVINO's.
    torch.set_num_threads(1)
    return "openvino"


def _compile(module, precision: str, threads: int):
    import openvino as ov
    import torch

    hf = getattr(module, "model", None) or module.auto_model
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if _takes_token_types(hf) else [])

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            return self.inner(**dict(zip(names, args)), return_dict=True).last_hidden_state

    # The example batch has padding, so the traced graph masks padded positions as a real batch needs.
    ids = torch.tensor([[5, 6, 7, 8], [5, 6, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    example = (ids, mask, torch.zeros_like(ids))[: len(names)]
    with torch.no_grad(), warnings.catch_warnings():  # tracing warns of shapes it fixes; the mask stays an input
        warnings.simplefilter("ignore")
        converted = ov.convert_model(Hidden(hf.eval()), example_input=example)
    config = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bfloat16" else "f32",
              "INFERENCE_NUM_THREADS": int(threads), "PERFORMANCE_HINT": "LATENCY"}
    compiled = ov.Core().compile_model(converted, "CPU", config)
    output_name = getattr(module, "module_output_name", "token_embeddings")
    local = threading.local()  # an infer request per calling thread: concurrent callers never share one

    def forward(self, features: dict, **kwargs) -> dict:
        inputs = []
        for name in names:
            value = features.get(name)
            if value is None:  # a tokenizer without token types: all zeros, as the model defaults to
                value = torch.zeros_like(features["input_ids"])
            inputs.append(np.ascontiguousarray(value.cpu().numpy(), dtype=np.int64))
        request = getattr(local, "request", None)
        if request is None:
            request = local.request = compiled.create_infer_request()
        hidden = request.infer(inputs)[0]
        features[output_name] = torch.from_numpy(np.array(hidden, dtype=np.float32))
        return features

    return forward


def _takes_token_types(hf) -> bool:
    import inspect

    return "token_type_ids" in inspect.signature(hf.forward).parameters and \
        getattr(hf.config, "type_vocab_size", 0) > 0


__all__ = ["BACKENDS", "BackendError", "attach", "available", "requested"]
