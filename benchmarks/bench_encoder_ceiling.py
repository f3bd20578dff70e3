"""How many routed items per second the sentence encoder can embed on this machine: the ceiling of the service.

Every routed item is encoded once (title's subject + the opening of its body, as the precedent index expects) and
every search query once, so the encoder's throughput bounds the service's. Measured for the torch float32 encoder
the service uses, by batch size and torch thread count, on the open sample batch; and, when onnxruntime is
installed (``pip install onnxruntime onnx``), for the same weights exported to ONNX and run by ONNX Runtime, with
the agreement of its vectors with torch's (min cosine over the texts); where the CPU computes bfloat16 natively,
for the bfloat16 encoder that ``JIAOBAN_ENCODER_PRECISION=auto`` builds indexes with there; and for the OpenVINO
backend the service runs by default where openvino is installed (``JIAOBAN_ENCODER_BACKEND``,
models/openvino_backend.py) at both precisions, with its vectors' cosine to torch float32's.

    .venv/bin/python benchmarks/bench_encoder_ceiling.py            # writes benchmarks/results/encoder_ceiling.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, ROOT, report_header, setup_logging

logger = logging.getLogger("bench_encoder_ceiling")
BATCHES = (1, 4, 8, 16, 32, 64)


def sample_texts(n: int) -> list[str]:
    from models.casefile import read_cases
    from models.search import SearchConfig, case_text

    records = read_cases(ROOT / "data" / "samples" / "open_batch.csv").records
    texts = [case_text(r.title, r.body, SearchConfig()) for r in records]
    return (texts * (n // len(texts) + 1))[:n]


def throughput(encode, texts: list[str], batch: int) -> dict:
    encode(texts[:batch])  # warm
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        encode(texts[i : i + batch])
    seconds = time.perf_counter() - start
    return {"batch": batch, "texts_per_s": round(len(texts) / seconds, 1),
            "ms_per_call": round(seconds / -(-len(texts) // batch) * 1000, 1)}


def onnx_encoder(model_dir: Path, workdir: Path, threads: int):
    """The encoder's transformer exported to ONNX, with e5's prompt, mean pooling and normalisation around it."""
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    class Hidden(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=torch.zeros_like(input_ids)).last_hidden_state

    path = workdir / "encoder.onnx"
    ids = torch.ones((1, 8), dtype=torch.long)
    axes = {"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"}, "hidden": {0: "b", 1: "s"}}
    torch.onnx.export(Hidden(AutoModel.from_pretrained(model_dir).eval()), (ids, torch.ones_like(ids)), str(path),
                      input_names=["input_ids", "attention_mask"], output_names=["hidden"], dynamic_axes=axes,
                      opset_version=17, dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(512)

    def encode(texts: list[str]) -> np.ndarray:
        encoded = tokenizer.encode_batch([f"passage: {t}" for t in texts])
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, e in enumerate(encoded):
            ids[i, : len(e.ids)], mask[i, : len(e.ids)] = e.ids, 1
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    return encode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", type=Path, default=ROOT / "var" / "encoders" / "multilingual-e5-small")
    parser.add_argument("--texts", type=int, default=64)
    parser.add_argument("--json", type=Path, default=RESULTS / "encoder_ceiling.json")
    args = parser.parse_args(argv)
    setup_logging()
    if not (args.encoder / "modules.json").is_file():
        print(f"no encoder at {args.encoder}: run `jiaoban encoder-build` first", file=sys.stderr)
        return 2
    from models.embeddings import load_embedder

    texts = sample_texts(args.texts)
    report = report_header(("torch", "sentence-transformers", "openvino", "onnxruntime"), False)
    report.update(texts=len(texts), median_chars=int(np.median([len(t) for t in texts])), torch={}, onnx={})
    for threads in (1, 2):
        embedder = load_embedder(str(args.encoder), num_threads=threads, backend="torch")
        report["torch"][str(threads)] = [throughput(embedder.encode_passages, texts, b) for b in BATCHES]
        logger.info("torch, %d thread(s): %s", threads, report["torch"][str(threads)])
    reference = embedder.encode_passages(texts)  # torch float32, 2 threads
    from models import openvino_backend
    from models.precision import native_bfloat16

    if native_bfloat16():  # what JIAOBAN_ENCODER_PRECISION=auto picks on this CPU
        half = load_embedder(str(args.encoder), num_threads=2, precision="bfloat16", backend="torch")
        report["torch_bf16"] = {"2": [throughput(half.encode_passages, texts, b) for b in BATCHES]}
        logger.info("torch bfloat16, 2 threads: %s", report["torch_bf16"]["2"])
    report["openvino"] = {}
    if not openvino_backend.available():
        report["openvino"] = {"skipped": "openvino not installed"}
    for precision in ("float32", "bfloat16") if openvino_backend.available() else ():
        if precision == "bfloat16" and not native_bfloat16():
            continue
        ov = load_embedder(str(args.encoder), num_threads=2, precision=precision, backend="openvino")
        agreement = (ov.encode_passages(texts) * reference).sum(1)
        report["openvino"][precision] = {
            "threads": 2, "min_cosine_vs_torch_float32": round(float(agreement.min()), 6),
            "mean_cosine_vs_torch_float32": round(float(agreement.mean()), 6),
            "runs": [throughput(ov.encode_passages, texts, b) for b in BATCHES]}
        logger.info("openvino %s, 2 threads: %s", precision, report["openvino"][precision])
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        report["onnx"] = {"skipped": "onnxruntime not installed"}
    else:
        with tempfile.TemporaryDirectory() as tmp:
            encode = onnx_encoder(args.encoder, Path(tmp), threads=2)
            agreement = float((encode(texts[:32]) * embedder.encode_passages(texts[:32])).sum(1).min())
            report["onnx"] = {"threads": 2, "min_cosine_vs_torch": round(agreement, 6),
                              "runs": [throughput(encode, texts, b) for b in BATCHES]}
            logger.info("onnx: %s", report["onnx"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
