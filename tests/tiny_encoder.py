"""A tiny sentence-transformers model made on the spot (random weights, never downloaded), for encoder tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def build_tiny_encoder(out: Path, chars: Iterable[str], *, layers: int = 2, seed: int = 0,
                       init_range: float = 0.02) -> Path:
    """Write a BERT of ``layers`` layers (hidden size 32) with a character-level vocabulary of ``chars`` as a
    sentence-transformers directory (mean pooling, normalised) under ``out``; returns the directory. A larger
    ``init_range`` (the weights' standard deviation) spreads the texts' vectors further apart."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, pre_tokenizers, processors
    from tokenizers import models as tok_models
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3,
             **{c: i + 4 for i, c in enumerate(dict.fromkeys("".join(chars) + "的建议关于"))}}
    tok = Tokenizer(tok_models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2),
                                                                                                ("[SEP]", 3)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", model_max_length=64)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, initializer_range=init_range)
    BertModel(config).save_pretrained(out / "hf")
    fast.save_pretrained(out / "hf")
    modules = [Transformer(str(out / "hf"), max_seq_length=64), Pooling(32, "mean"), Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(out / "st"))
    return out / "st"
