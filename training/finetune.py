"""Optional in-domain fine-tuning of the sentence encoder on closed cases, kept only when it helps.

Pairs come from the training years' closed cases: a title's subject and its own body (the body without the title, so
the pair is not a copy), and a proposal and its official reply. The loss is sentence-transformers'
MultipleNegativesRankingLoss (the other pairs of a batch are the negatives). The latest year is held back: the
encoder before and after is scored on its cases (title → own body and proposal → own reply, MRR@10 among the
held-back year), and the fine-tuned encoder is written only when it gains on both tasks: each task's MRR@10 rises
by at least ``min_gain`` and neither task's recall@10 falls (``gains_on_both``). A mean MRR that rises while one
task's recall@10 falls is not a gain for the drafters who lose that hit. :func:`clean_old_encoders` removes the
encoders kept by earlier runs that no model version uses any more.

The training loop is a plain torch loop so it needs nothing beyond sentence-transformers and torch. The word
embeddings (250k pieces, most of the model) are frozen: it is faster, and a few thousand pairs cannot move them well.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from models.embeddings import SentenceTransformerEmbedder, available_cores
from models.records import CaseRecord
from models.search import SearchConfig, case_text
from nlp.normalize import normalize, title_subject
from training.dataset import temporal_split

logger = logging.getLogger(__name__)

REPORT_FILE = "finetune.json"


@dataclass
class FineTuneParams:
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    max_seq_length: int = 128  # training window; passages here are a title plus the opening of a body or reply
    min_gain: float = 0.005  # each task's MRR@10 on the held-back year must rise by at least this much
    seed: int = 0


@dataclass
class FineTuneResult:
    kept: bool
    before: dict
    after: dict
    train_pairs: int
    train_cases: int
    heldback_year: int
    heldback_cases: int
    seconds: float
    params: dict
    output: str | None = None
    note: str = ""
    history: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _body(case: CaseRecord, config: SearchConfig) -> str:
    return normalize(case.body)[: config.lead_chars]


def training_pairs(cases: Sequence[CaseRecord], config: SearchConfig) -> list[tuple[str, str]]:
    """(query, passage) pairs: title subject → body opening, and the case as a query → the reply's opening."""
    pairs = []
    for c in cases:
        subject, body = title_subject(c.title), _body(c, config)
        if subject and body:
            pairs.append((subject, body))
        reply = normalize(c.reply or "")[: config.lead_chars]
        if reply and (subject or body):
            pairs.append((case_text(c.title, c.body, config), reply))
    return pairs


def _mrr_at_10(queries: np.ndarray, docs: np.ndarray) -> tuple[float, float, float]:
    """(MRR@10, recall@1, recall@10) where query i's answer is document i."""
    sims = queries @ docs.T
    own = np.diag(sims)
    rank = (sims > own[:, None]).sum(axis=1)  # 0 = first
    mrr = np.where(rank < 10, 1.0 / (rank + 1), 0.0)
    return float(mrr.mean()), float((rank == 0).mean()), float((rank < 10).mean())


def heldback_scores(embedder, cases: Sequence[CaseRecord], config: SearchConfig) -> dict:
    """Title → own body and proposal → own reply among the given (held-back) cases."""
    titled = [c for c in cases if title_subject(c.title) and _body(c, config)]
    replied = [c for c in cases if (c.reply or "").strip()]
    out: dict = {}
    if titled:
        q = embedder.encode_queries([title_subject(c.title) for c in titled])
        d = embedder.encode_passages([_body(c, config) for c in titled])
        out["title_to_body"] = dict(zip(("mrr10", "recall1", "recall10"), _mrr_at_10(q, d)), n=len(titled))
    if replied:
        q = embedder.encode_queries([case_text(c.title, c.body, config) for c in replied])
        d = embedder.encode_passages([normalize(c.reply)[: config.lead_chars] for c in replied])
        out["proposal_to_reply"] = dict(zip(("mrr10", "recall1", "recall10"), _mrr_at_10(q, d)), n=len(replied))
    tasks = [v["mrr10"] for v in out.values()]
    out["mean_mrr10"] = float(np.mean(tasks)) if tasks else float("nan")
    return out


TASK_NAMES = {"title_to_body": "标题→正文", "proposal_to_reply": "建议→答复"}


def gains_on_both(before: dict, after: dict, min_gain: float) -> tuple[bool, str]:
    """Whether the tuned encoder gains on every task of the held-back pairs, and a Chinese line saying why."""
    tasks = [t for t in TASK_NAMES if t in before and t in after]
    if not tasks:
        return False, "留出年度没有可检验的配对"
    parts, ok = [], True
    for t in tasks:
        b, a = before[t], after[t]
        mrr_ok, recall_ok = a["mrr10"] - b["mrr10"] >= min_gain, a["recall10"] >= b["recall10"]
        ok = ok and mrr_ok and recall_ok
        parts.append(f"{TASK_NAMES[t]} MRR@10 {b['mrr10']:.3f}→{a['mrr10']:.3f}"
                     f"{'' if mrr_ok else f'（提升不足 {min_gain}）'}、召回@10 {b['recall10']:.3f}→{a['recall10']:.3f}"
                     f"{'' if recall_ok else '（下降）'}")
    return ok, "；".join(parts)


def clean_old_encoders(kept: Path, in_use: set[Path]) -> list[Path]:
    """Remove the fine-tuned encoders beside ``kept`` (same base name, ``-ft-`` runs) that no version uses.

    Args:
        kept: the encoder just kept (never removed).
        in_use: encoder directories that model versions record (``meta["search"]["encoder_path"]``).
    Returns the directories removed.
    """
    stem = kept.name.split("-ft-")[0]
    keep = {p.resolve() for p in in_use} | {kept.resolve()}
    removed = []
    for path in sorted(kept.parent.glob(f"{stem}-ft-*")):
        if path.is_dir() and not path.name.endswith(".partial") and (path / "modules.json").is_file() \
                and path.resolve() not in keep:
            shutil.rmtree(path)
            removed.append(path)
    return removed


def _train(model_dir: Path, pairs: list[tuple[str, str]], prompts: tuple[str, str], params: FineTuneParams,
           progress: Callable[[int, int], None] | None):
    """Fine-tune a copy of the model in memory; returns (model, loss per step)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    torch.manual_seed(params.seed)
    # An encoder on OpenVINO loaded earlier in this process leaves torch one thread (models.openvino_backend).
    torch.set_num_threads(available_cores())
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    model.max_seq_length = min(params.max_seq_length, model.max_seq_length or params.max_seq_length)
    freeze_word_embeddings(model)
    loss_fn = MultipleNegativesRankingLoss(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=params.learning_rate)
    rng = random.Random(params.seed)
    q_prompt, p_prompt = prompts
    steps = params.epochs * (len(pairs) // params.batch_size)
    history: list[float] = []
    model.train()
    for _ in range(params.epochs):
        order = pairs[:]
        rng.shuffle(order)
        for start in range(0, len(order) - params.batch_size + 1, params.batch_size):
            batch = order[start : start + params.batch_size]
            queries = _features(model, [q for q, _ in batch], q_prompt)
            passages = _features(model, [p for _, p in batch], p_prompt)
            loss = loss_fn([queries, passages], None)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            history.append(round(float(loss.detach()), 4))
            if progress:
                progress(len(history), steps)
    model.eval()
    return model, history


def freeze_word_embeddings(model) -> None:
    """Leave the word embeddings (250k pieces, most of the model) out of training."""
    import torch

    for module in model.modules():
        embeddings = getattr(module, "word_embeddings", None)
        if isinstance(embeddings, torch.nn.Embedding):
            embeddings.weight.requires_grad = False


def _features(model, texts: list[str], prompt: str) -> dict:
    """Tokenised inputs with the prompt prepended (``preprocess`` in sentence-transformers 5.3+, else ``tokenize``)."""
    if hasattr(model, "preprocess"):
        return model.preprocess(texts, prompt=prompt or None)
    return model.tokenize([prompt + t for t in texts])


def fine_tune(
    cases: Sequence[CaseRecord],
    encoder_dir: str | Path,
    out_dir: str | Path,
    *,
    config: SearchConfig | None = None,
    params: FineTuneParams | None = None,
    progress: Callable[[str], None] | None = None,
) -> FineTuneResult:
    """Fine-tune the encoder at ``encoder_dir`` on the closed cases; write it to ``out_dir`` only if it helps.

    The report (``finetune.json``) is written either way: into ``out_dir`` when kept, else next to it as
    ``<out_dir>.finetune.json``, so the decision and its figures can always be read.
    """
    config = config or SearchConfig()
    params = params or FineTuneParams()
    say = progress or (lambda msg: None)
    encoder_dir, out_dir = Path(encoder_dir), Path(out_dir)
    years = {c.year for c in cases if c.year}
    if len(years) < 2:
        raise ValueError("微调需要至少两个年度的已办结案件：最近一年留作检验，其余用于训练")
    train, heldback, year = temporal_split(list(cases), None)
    pairs = training_pairs(train, config)
    if len(pairs) < params.batch_size:
        raise ValueError(f"训练样本对只有 {len(pairs)} 个，少于一批（{params.batch_size}），无法微调")
    started = time.perf_counter()
    base = SentenceTransformerEmbedder(encoder_dir)
    say(f"微调前在 {year} 年 {len(heldback)} 件上评估")
    before = heldback_scores(base, heldback, config)
    prompts = (base.query_prompt, base.passage_prompt)
    del base
    say(f"微调：{len(pairs)} 个样本对（{min(c.year for c in train)}–{year - 1} 年）")
    model, history = _train(encoder_dir, pairs, prompts, params,
                            lambda done, total: say(f"微调 {done}/{total} 步"))
    staging = out_dir.with_name(out_dir.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    model.save(str(staging))
    del model
    tuned = SentenceTransformerEmbedder(staging)
    say("微调后评估")
    after = heldback_scores(tuned, heldback, config)
    del tuned
    kept, detail = gains_on_both(before, after, params.min_gain)
    note = (f"留出年度 {year}：{detail}；" + ("两项任务都有提升，保留微调后的编码器。" if kept else
                                          "并非两项任务都提升，不保留，继续使用原编码器。"))
    result = FineTuneResult(kept=kept, before=before, after=after, train_pairs=len(pairs), train_cases=len(train),
                            heldback_year=year, heldback_cases=len(heldback),
                            seconds=round(time.perf_counter() - started, 1), params=asdict(params),
                            output=str(out_dir) if kept else None, note=note, history=history)
    if kept:
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
        report_path = out_dir / REPORT_FILE
    else:
        shutil.rmtree(staging)
        report_path = out_dir.with_name(out_dir.name + "." + REPORT_FILE)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps({"base_encoder": str(encoder_dir), **result.to_dict()}, ensure_ascii=False,
                                      indent=2), encoding="utf-8")
    logger.info("fine-tuning: %s", "kept" if kept else "not kept")
    return result
