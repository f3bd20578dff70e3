"""What every benchmark shares: the machine and library report, the dataset folder, JSON results, doc sections.

A benchmark writes ``benchmarks/results/<name>.json`` and then regenerates its own section of
``docs/benchmarks.md`` from that JSON, between ``<!-- bench:<name> -->`` and ``<!-- /bench:<name> -->``, so
sections are replaced independently and no figure is ever typed in by hand.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import resource
import shlex
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "tipdm2020c"
DEFAULT_ENCODER = ROOT / "var" / "encoders" / "multilingual-e5-small"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

logger = logging.getLogger("benchmarks")

DOC_INTRO = """# Benchmarks

Figures on this page are written by the scripts in `benchmarks/` from their JSON results
(`benchmarks/results/*.json`); nothing here is typed in by hand. Each section names the machine, the library
versions and the exact command that produced it, with its run time. Re-run everything with `make bench`, or one
benchmark with `make bench-routing`, `make bench-search` or `make bench-speed` (`BENCH_DATA=DIR` points them at
the data); add `--quick` to a script for a smoke run whose figures are not meant to be quoted. What the search
design choices cost and buy is discussed in [search-quality.md](search-quality.md), with the 并案 threshold
(`bench_duplicates.py`) and encoder fine-tuning (`bench_finetune.py`); whether precedents improve routing is in
[routing-precedents.md](routing-precedents.md) (`bench_fusion.py`); the unchanged `jiaoban evaluate` on the public
data is in [evaluation-tipdm.md](evaluation-tipdm.md) (`cli_tipdm.py`). `make bench` (`benchmarks/run_all.py`)
runs all of them. Encoder throughput and the agreement of its float32, int8 and 4-bit variants are measured
separately by `benchmarks/bench_encoder.py`.

The public data set is the 2020 泰迪杯 problem C collection of citizen messages to a provincial message board
(see the data folder's README): its first-level topic label stands in for the lead department, and its official
replies stand in for past answers. It is not ours to redistribute, so the benchmarks read it from a folder given on
the command line (default `../shared/datasets/tipdm2020c`) and skip when it is absent. Its messages are short
complaints, not people's congress suggestions, and part of the original data is held back by its organisers: read
the figures as a comparison between methods on the same folds, not as the accuracy to expect on a city's own
proposals. Where we lose to a simple peer, the tables say so.

Timings are from a shared 2-core virtual machine; each section reports how busy its CPUs were with other work
just before and after the run, because other load slows every figure on such a machine.
"""


# -- environment ------------------------------------------------------------------------------------------------
def busy_fraction(seconds: float = 2.0) -> float | None:
    """Share of all cores busy over a short wait: other work that would slow the measurements."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        return sum(values), values[3] + values[4]

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except OSError:
        return None
    return round(1 - (idle1 - idle0) / max(total1 - total0, 1), 3)


def machine() -> dict:
    cpu, mem_kb = platform.processor() or "unknown", 0
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
        with open("/proc/meminfo") as fh:
            mem_kb = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "memory_gib": round(mem_kb / 2**20, 1), "python": platform.python_version(),
            "platform": platform.platform()}


def versions(names: tuple[str, ...]) -> dict:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return ".venv/bin/python " + " ".join(shlex.quote(a) for a in [script.as_posix(), *sys.argv[1:]])


def report_header(lib_names: tuple[str, ...], quick: bool) -> dict:
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "command": command_line(), "quick": quick,
            "machine": {**machine(), "busy_before": busy_fraction()}, "versions": versions(lib_names)}


def dataset_dir(path: Path | None, needed: tuple[str, ...]) -> Path | None:
    """The data folder if it holds every ``needed`` file, else None (after logging why the benchmark skips)."""
    path = Path(path) if path else DEFAULT_DATA
    missing = [f for f in needed if not (path / f).is_file()]
    if missing:
        logger.warning("dataset folder %s lacks %s: skipping this part (pass --data DIR to point at it)",
                       path, ", ".join(missing))
        return None
    return path


# -- measuring --------------------------------------------------------------------------------------------------
def peak_rss_mib() -> float:
    """This process's peak resident memory so far.

    Read from VmHWM, not ``getrusage``: after fork + exec Linux carries the parent's high-water mark into the
    child's ``ru_maxrss``, which would charge a child with its parent's memory.
    """
    try:
        with open("/proc/self/status") as fh:
            return round(next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:")) / 1024, 1)
    except (OSError, StopIteration):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_mib() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def percentiles_ms(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000
    return {"n": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "mean_ms": round(float(ms.mean()), 2)}


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def faster_thread_count(path: Path) -> tuple[int, dict]:
    """1 or all cores for torch, whichever encodes a small batch faster now (on a busy machine, often 1)."""
    from models.embeddings import SentenceTransformerEmbedder

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    texts = ["关于加快推进老旧小区加装电梯工作的建议。" * 8] * 16
    timings = {}
    for threads in sorted({1, cores}):
        embedder = SentenceTransformerEmbedder(path, num_threads=threads)
        embedder.encode_passages(texts[:2])
        with Stopwatch() as t:
            embedder.encode_passages(texts)
        timings[threads] = round(t.seconds, 2)
    return min(timings, key=timings.get), timings


# -- writing ----------------------------------------------------------------------------------------------------
def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_results(name: str, report: dict, path: Path | None = None) -> Path:
    report["machine"]["busy_after"] = busy_fraction()
    path = path or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote %s", path)
    return path


def replace_section(doc: Path, name: str, body: str, intro: str = DOC_INTRO) -> None:
    """Put ``body`` between this benchmark's markers in ``doc`` (appending the section if it is new)."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.is_file() else intro
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
    logger.info("updated section %r of %s", name, doc)


def environment_lines(report: dict) -> list[str]:
    m = report["machine"]
    libs = ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v)
    lines = [
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, {m['platform']}, "
        f"Python {m['python']}",
        f"- CPU busy with other work just before / after the run: {fmt(m.get('busy_before'), '.0%')} / "
        f"{fmt(m.get('busy_after'), '.0%')}",
        f"- libraries: {libs}",
        f"- command: `{report['command']}` ({report['date']}, {report.get('runtime_s', 0):.0f} s in all)",
    ]
    if report.get("quick"):
        lines.append("- **quick smoke run: reduced sizes, do not quote these figures**")
    return lines


def fmt(value, spec: str = ".3f", missing: str = "–") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return missing
    return format(value, spec)


def table(headers: list[str], rows: list[list], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(headers) - 1)
    sep = ["---" if a == "l" else "---:" for a in align]
    return ["| " + " | ".join(headers) + " |", "|" + "|".join(sep) + "|"] + [
        "| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("jieba", "sentence_transformers", "httpx", "faiss", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
