"""The numeric precision an encoder runs at: float32, bfloat16 or int8, and what "auto" means on this CPU.

The precision changes the vectors, so it is part of an encoder's name and fingerprint, and a precedent index records
the precision its vectors were made at: queries are encoded at the same one (``models.service.load_index``).
"""

from __future__ import annotations

from collections.abc import MutableMapping


class PrecisionError(ValueError):
    """A precision setting that is none of :data:`PRECISIONS` or ``auto``."""


PRECISIONS = ("float32", "bfloat16", "int8")
PRECISION_SUFFIX = {"float32": "", "bfloat16": "+bf16", "int8": "+int8"}


def resolve_precision(precision: str) -> str:
    """One of :data:`PRECISIONS` for a setting (``"auto"``: bfloat16 where the CPU computes it natively)."""
    if precision == "auto":
        return "bfloat16" if native_bfloat16() else "float32"
    if precision not in PRECISIONS:
        raise PrecisionError(f"编码器精度“{precision}”无效：可选 auto、{'、'.join(PRECISIONS)}"
                             "（JIAOBAN_ENCODER_PRECISION）")
    return precision


def native_bfloat16() -> bool:
    """Whether torch's CPU kernels compute bfloat16 in hardware here (AMX or AVX512-BF16); elsewhere bfloat16 is
    emulated and slower than float32."""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def precision_of(name: str) -> str:
    """The precision an encoder name (``Embedder.name``, as an index records it) says it ran at."""
    return next((p for p, suffix in PRECISION_SUFFIX.items() if suffix and name.endswith(suffix)), "float32")


def to_bfloat16(model):
    """The model in bfloat16, its token embeddings cast back to float32 before pooling and normalisation (a
    bfloat16 mean over hundreds of tokens and a bfloat16 norm would cost more precision than the transformer)."""
    import torch

    model = model.to(torch.bfloat16)

    def to_float32(module, inputs, output):
        if isinstance(output, MutableMapping):  # a dict, or the tokenizer's BatchEncoding passed along
            for key, value in output.items():
                if isinstance(value, torch.Tensor) and value.dtype == torch.bfloat16:
                    output[key] = value.float()
        return output

    model[0].register_forward_hook(to_float32)
    return model
