"""Speed and memory on this machine: routing latency (in-process and over HTTP), batch throughput, training time,
precedent-search latency and memory from 10k to 1M cases, query encoding, segmentation, service memory.

Absolute times belong to the machine that ran them (see the section's header). Sizes beyond the sample data are
made by duplicating the sample cases with new case numbers (no paraphrasing), and the search-scaling runs use
random unit vectors for the indexed cases; both are stated next to the figures. Memory is measured in a fresh
subprocess per size (peak RSS from ``getrusage``, resident RSS from psutil).

Example::

    .venv/bin/python benchmarks/bench_speed.py
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    DEFAULT_DATA,
    DEFAULT_ENCODER,
    DOC,
    RESULTS,
    ROOT,
    Stopwatch,
    busy_fraction,
    environment_lines,
    faster_thread_count,
    fmt,
    peak_rss_mib,
    percentiles_ms,
    replace_section,
    report_header,
    rss_mib,
    setup_logging,
    table,
    write_results,
)

logger = logging.getLogger("bench_speed")

SAMPLES = ROOT / "data" / "samples"
TARGETS_MS = {"title": 50, "proposal": 400}  # p99, warm, query encoding included (from the issue)


# -- shared helpers -------------------------------------------------------------------------------------------
def route_items(bundle, items):
    """Routing alone (no precedents), through the service every face uses."""
    from models.service import RoutingService

    return RoutingService(bundle).route(items, precedents=False).items


def load_samples():
    from models.departments import DepartmentRegistry
    from training.dataset import load_training_set

    registry = DepartmentRegistry.load(SAMPLES / "departments.json")
    return load_training_set(SAMPLES / "closed_cases.csv", registry), registry


def open_items() -> list[tuple[str, str]]:
    from models.casefile import read_cases

    path = SAMPLES / "open_batch.csv"
    if path.is_file():
        return [(r.title, r.body) for r in read_cases(path).records]
    ts, _ = load_samples()
    return [(c.title, c.body) for c in ts.cases]


def proposals(n: int, chars: int, seed: int = 0) -> list[str]:
    """Proposal-length texts made of sample bodies run together and cut at ``chars`` characters."""
    ts, _ = load_samples()
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        text = ""
        while len(text) < chars:
            text += rng.choice(ts.cases).body
        out.append(text[:chars])
    return out


def duplicate(cases, n: int):
    """``n`` cases: the sample cases repeated with new case numbers (``-d<k>`` suffix) and copied text."""
    from dataclasses import replace

    out = []
    for i in range(n):
        c = cases[i % len(cases)]
        k = i // len(cases)
        out.append(c if k == 0 else replace(c, case_no=f"{c.case_no}-d{k}", body=(c.body + " ")[:-1],
                                            title=(c.title + " ")[:-1], reply=(c.reply + " ")[:-1]))
    return out


def run_child(kind: str, args: dict, timeout: float) -> dict:
    """Run one measurement in a fresh interpreter, so its memory figures are its own."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(args)]
    logger.info("child %s %s", kind, args)
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"did not finish within {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        logger.warning("child %s failed: %s", kind, proc.stderr[-2000:])
        return {"status": f"failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}"}
    return {"status": "ok", **json.loads(lines[-1])}


class RandomQueries:
    """Stand-in encoder for the scaling runs: a random unit vector per query (so search time excludes encoding)."""

    name, dim, fingerprint = "random", 384, "random"

    def encode_queries(self, texts):
        rng = np.random.default_rng(abs(hash(tuple(texts))) % 2**32)
        v = rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    encode_passages = encode_queries


# -- children -------------------------------------------------------------------------------------------------
def child_train(args: dict) -> dict:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from models.classifier import RoutingParams
    from training.dataset import TrainingSet
    from training.train import fit_model

    ts, _ = load_samples()
    cases = duplicate(ts.cases, args["size"])
    rss0 = rss_mib()
    with warnings.catch_warnings(record=True) as caught, Stopwatch() as t:
        warnings.simplefilter("always", ConvergenceWarning)
        model = fit_model(TrainingSet(cases=cases), RoutingParams())
    not_converged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return {"size": len(cases), "fit_s": round(t.seconds, 1), "peak_rss_mib": peak_rss_mib(),
            "convergence_warnings": not_converged,
            "rss_before_mib": rss0, "features": int(len(model.terms_)), "labels": int(len(model.classes_))}


def child_search(args: dict) -> dict:
    """A PrecedentIndex of ``size`` duplicated sample cases with random unit vectors; search latency and memory."""
    import models.index as vindex
    from models.passages import PassageField
    from models.passages import case_meta as _case_meta
    from models.search import PrecedentIndex
    from nlp.segment import tokenize

    size = args["size"]
    ts, _ = load_samples()
    base_tokens = [tokenize(f"{c.title}。{c.body}") for c in ts.cases]
    titles = [c.title for c in ts.cases]
    long_queries = proposals(args["proposal_queries"], 1500)
    rss0 = rss_mib()
    if args.get("kind"):
        vindex.EXACT_LIMIT = 0 if args["kind"] == "hnsw" else 10**12
    timings = {}
    with Stopwatch() as t:
        cases = [_case_meta(rec, None) for rec in duplicate(ts.cases, size)]
        tokens = [list(base_tokens[i % len(base_tokens)]) for i in range(size)]
        rng = np.random.default_rng(0)
        vectors = np.empty((size, 384), dtype=np.float32)
        for start in range(0, size, 100_000):
            block = rng.standard_normal((min(100_000, size - start), 384)).astype(np.float32)
            vectors[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    timings["make_cases_s"] = round(t.seconds, 1)
    index = PrecedentIndex(RandomQueries())
    index.cases, index.vectors = cases, vectors
    # one passage per case (its vector), no replies: the index as `lead` mode builds it for cases without replies
    index.tokens = {"items": tokens, "replies": [[] for _ in range(size)]}
    index.fields = {"items": PassageField.build(384, [[(0, 0)]] * size, [vectors]),
                    "replies": PassageField.build(384, [[]] * size, [])}
    with Stopwatch() as t:
        index._refresh()  # what PrecedentIndex.load does: BM25 matrix, faiss index, look-up tables
    timings["build_index_s"] = round(t.seconds, 1)
    rss_built = rss_mib()
    with tempfile.TemporaryDirectory(prefix="jiaoban-search-") as tmp:  # start-up: read back what training saved
        index.save(Path(tmp))
        with Stopwatch() as t:
            loaded = PrecedentIndex.load(Path(tmp), RandomQueries())
        timings["load_s"] = round(t.seconds, 1)
        del loaded
    out = {"size": size, "index_kind": index.dense.kind, **timings, "rss_before_mib": rss0,
           "rss_after_build_mib": rss_built, "index_rss_mib": round(rss_built - rss0, 1),
           "peak_rss_mib": peak_rss_mib(), "vectors_mib": round(vectors.nbytes / 2**20, 1)}
    rng = random.Random(1)
    for label, queries in (("title", [rng.choice(titles) for _ in range(args["title_queries"])]),
                           ("proposal", long_queries)):
        for mode in ("hybrid", "bm25", "dense"):
            for q in queries[:3]:
                index.search(q, k=10, mode=mode)
            times = []
            for q in queries:
                with Stopwatch() as t:
                    index.search(q, k=10, mode=mode)
                times.append(t.seconds)
            out[f"{label}_{mode}"] = percentiles_ms(times)
    if args.get("encoder"):
        out["real_encoder"] = real_encoder_latency(index, args["encoder"], titles, long_queries, args)
    return out


def real_encoder_latency(index, encoder_dir: str, titles: list[str], long_queries: list[str], args: dict) -> dict:
    """Search latency with the query encoded by the real e5 encoder (warm), per config and precision."""
    from models.embeddings import SentenceTransformerEmbedder
    from models.search import case_text

    out = {}
    rng = random.Random(2)
    title_q = [rng.choice(titles) for _ in range(args["encoder_title_queries"])]
    long_q = long_queries[: args["encoder_proposal_queries"]]
    variants = [("float32", {})]
    if args.get("variants"):
        # int8, and float32 on one thread: on a busy 2-core machine torch's two threads wait for each other
        variants += [("int8", {"quantize": True}), ("float32 1-thread", {"num_threads": 1})]
    for label, options in variants:
        embedder = SentenceTransformerEmbedder(encoder_dir, **options)
        index.embedder = embedder
        for dense_text in ("lead", "full"):
            index.config.dense_text = dense_text
            for name, queries in (("title", title_q), ("proposal", long_q)):
                if dense_text == "full" and (name == "title" or label != "float32"):
                    continue  # a title is embedded whole in both configs; full is timed for float32 only
                for q in queries[:3]:
                    index.search(q, k=10)
                enc, total = [], []
                for q in queries:
                    with Stopwatch() as t_enc:
                        embedder.encode_queries([case_text("", q, index.config)])
                    with Stopwatch() as t_all:
                        index.search(q, k=10)
                    enc.append(t_enc.seconds)
                    total.append(t_all.seconds)
                key = f"{label}_{dense_text}_{name}"
                out[key] = {"encode": percentiles_ms(enc), "search_total": percentiles_ms(total),
                            "query_chars": int(np.mean([len(q) for q in queries]))}
                logger.info("real encoder %s: %s", key, out[key])
    index.config.dense_text = "lead"
    return out


def child_service(args: dict) -> dict:
    """Resident memory of the in-process service: bundle + search index + encoder loaded and warmed up."""
    from models.bundle import load_bundle, load_search_index
    from models.embeddings import load_embedder

    rss0 = rss_mib()
    with Stopwatch() as t:
        bundle = load_bundle(args["bundle"])
        index = load_search_index(bundle, load_embedder(args["encoder"]))
    item = open_items()[0]
    route_items(bundle, [item])
    hits = index.search(f"{item[0]}\n{item[1]}", k=5) if index is not None else []
    return {"load_s": round(t.seconds, 1), "rss_before_mib": rss0, "rss_mib": rss_mib(), "peak_rss_mib": peak_rss_mib(),
            "index_cases": len(index) if index is not None else 0, "hits": len(hits)}


CHILDREN = {"train": child_train, "search": child_search, "service": child_service}


# -- in-process parts -----------------------------------------------------------------------------------------
def find_or_build_bundle(encoder_dir: Path, workdir: Path, wanted: Path | None, max_cases: int = 0) -> dict:
    """The active bundle in var/models when it has a search index for this encoder; otherwise a bundle trained on
    the sample data (final fit only, no backtest) with its search index, in ``workdir``."""
    from models.bundle import BundleStore, read_meta, save_bundle
    from models.classifier import RoutingParams
    from models.embeddings import load_embedder
    from training.train import build_search_index, fit_model, with_registry_words

    embedder = load_embedder(str(encoder_dir))  # the service's settings: these vectors and fingerprint
    candidates = [wanted] if wanted else []
    store = BundleStore(ROOT / "var" / "models")
    if not wanted and store.active():
        candidates.append(store.active_path())
    for path in candidates:
        meta = read_meta(path)
        if (meta.get("search") or {}).get("encoder_fingerprint") == embedder.fingerprint:
            logger.info("using bundle %s", path)
            return {"path": str(path), "models_dir": str(path.parent.parent), "built": False}
    ts, registry = load_samples()
    if max_cases and max_cases < len(ts.cases):
        ts.cases = random.Random(0).sample(ts.cases, max_cases)
    store = BundleStore(workdir / "models")
    path = store.new_version_path("bench")
    with Stopwatch() as fit:
        params = with_registry_words(RoutingParams(), registry)
        model = fit_model(ts, params)
    save_bundle(path, model=model, registry=registry, data=ts.info(), params=params.to_dict(), metrics={},
                user_words=list(params.user_words))
    # Thread count changes speed, not vectors or the fingerprint: index with the faster one on this machine now.
    threads, _ = faster_thread_count(encoder_dir)
    with Stopwatch() as idx:
        build_search_index(path, ts.cases, registry, load_embedder(str(encoder_dir), num_threads=threads))
    store.promote(path.name)
    logger.info("built bundle %s (fit %.0f s, index %.0f s)", path, fit.seconds, idx.seconds)
    return {"path": str(path), "models_dir": str(store.root), "built": True, "cases": len(ts.cases),
            "fit_s": round(fit.seconds, 1), "index_build_s": round(idx.seconds, 1), "index_threads": threads}


def inprocess_latency(bundle_path: str, encoder_dir: Path, n: int, batch: int, batch_cap_s: float) -> dict:
    from models.bundle import load_bundle, load_search_index
    from models.embeddings import load_embedder

    bundle = load_bundle(bundle_path)
    index = load_search_index(bundle, load_embedder(str(encoder_dir)))
    items = open_items()
    rng = random.Random(0)
    picks = [rng.choice(items) for _ in range(n)]
    for item in picks[: max(2, min(10, n // 10))]:
        route_items(bundle, [item])
        index.search(f"{item[0]}\n{item[1]}", k=5)
    route_t, prec_t = [], []
    for item in picks:
        with Stopwatch() as t:
            route_items(bundle, [item])
        route_t.append(t.seconds)
        with Stopwatch() as t:
            index.search(f"{item[0]}\n{item[1]}", k=5)
        prec_t.append(t.seconds)
    batch_items = (items * (batch // len(items) + 1))[:batch]
    with Stopwatch() as routing:
        route_items(bundle, batch_items)
    done = 0
    with Stopwatch() as precedents:
        for title, body in batch_items:
            index.search(f"{title}\n{body}", k=5)
            done += 1
            if time.perf_counter() - precedents.start > batch_cap_s:
                break
    # Items/s with precedents over the items searched (all of them unless the time cap cut the loop short).
    per_item = routing.seconds / len(batch_items) + precedents.seconds / done
    return {"index_cases": len(index), "index_kind": index.dense.kind, "dense_text": index.config.dense_text,
            "route_one": percentiles_ms(route_t), "precedents_one": percentiles_ms(prec_t),
            "route_plus_precedents_one": percentiles_ms([a + b for a, b in zip(route_t, prec_t)]),
            "batch": {"items": len(batch_items), "routing_s": round(routing.seconds, 2), "searched": done,
                      "precedents_s": round(precedents.seconds, 2), "items_per_s": round(1 / per_item, 2),
                      "routing_only_items_per_s": round(len(batch_items) / routing.seconds, 1)}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_latency(models_dir: str, encoder_dir: Path, workdir: Path, n: int) -> dict:
    """Start ``uvicorn api.main:app`` on loopback and time POST /api/v1/route, warm, one item per request."""
    if not (ROOT / "api" / "main.py").is_file():
        return {"status": "pending: api/main.py does not exist yet"}
    import httpx
    import psutil

    key = secrets.token_urlsafe(24)
    port = free_port()
    env = {**os.environ, "JIAOBAN_ENV": "development", "JIAOBAN_MODELS_DIR": models_dir,
           "JIAOBAN_DATABASE": str(workdir / "bench.db"), "JIAOBAN_DATA_DIR": str(workdir / "var"),
           "JIAOBAN_API_KEYS": f"admin:{key}", "JIAOBAN_ENCODER": str(encoder_dir), "JIAOBAN_LOG_LEVEL": "WARNING",
           "JIAOBAN_DEPARTMENTS": str(SAMPLES / "departments.json"),
           "JIAOBAN_DEPARTMENTS_FILE": str(SAMPLES / "departments.json")}
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", "--no-access-log"]
    log = open(workdir / "uvicorn.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        ready, started = None, time.perf_counter()
        with httpx.Client(timeout=60, headers={"X-API-Key": key}) as client:
            while time.perf_counter() - started < 300 and proc.poll() is None:
                try:
                    r = client.get(f"{base}/health/ready")
                    if r.status_code == 200:
                        ready = r.json()
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            if ready is None:
                tail = (workdir / "uvicorn.log").read_text()[-800:]
                return {"status": f"failed: the service did not become ready ({tail.strip()})"}
            startup_s = time.perf_counter() - started
            items = open_items()
            rng = random.Random(0)
            picks = [rng.choice(items) for _ in range(n)]
            for title, body in picks[: max(2, min(10, n // 10))]:
                r = client.post(f"{base}/route", json={"title": title, "body": body})
                r.raise_for_status()
            with_precedents = bool(r.json().get("precedents_available"))
            times = []
            for title, body in picks:
                with Stopwatch() as t:
                    client.post(f"{base}/route", json={"title": title, "body": body}).raise_for_status()
                times.append(t.seconds)
            rss = psutil.Process(proc.pid).memory_info().rss / 2**20
        return {"status": "ok", "startup_s": round(startup_s, 1), "ready": ready, "route_one": percentiles_ms(times),
                "precedents_in_response": with_precedents, "service_rss_mib": round(rss, 1)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def segmentation(data: Path, max_chars: int) -> dict:
    import csv

    import jieba

    from nlp.segment import cut, tokenize

    texts, source = [], "data/samples/closed_cases.csv (bodies)"
    if (data / "bodies_labeled.csv").is_file():
        with open(data / "bodies_labeled.csv", encoding="utf-8-sig", newline="") as fh:
            texts = [r["body"] for r in csv.DictReader(fh)]
        source = "bodies_labeled.csv"
    else:
        ts, _ = load_samples()
        texts = [c.body for c in ts.cases]
    picked, total = [], 0
    for text in texts:
        if total >= max_chars:
            break
        picked.append(text)
        total += len(text)
    jieba.lcut("预热")
    cut("预热")
    engines = {"jieba.lcut (default dictionary, HMM)": jieba.lcut, "nlp.segment.cut (ours: jieba + policy terms)": cut,
               "nlp.segment.tokenize (cut + normalise + stopwords)": tokenize}
    try:
        import rjieba

        rjieba.cut("预热")
        engines["rjieba.cut (Rust port of jieba)"] = rjieba.cut
    except ImportError:
        engines["rjieba.cut (Rust port of jieba)"] = None
    out = {"source": source, "texts": len(picked), "chars": total, "engines": {}}
    for name, fn in engines.items():
        if fn is None:
            out["engines"][name] = None
            continue
        with Stopwatch() as t:
            for text in picked:
                fn(text)
        out["engines"][name] = round(total / t.seconds)
    return out


# -- report ---------------------------------------------------------------------------------------------------
def ms(p: dict | None, key: str = "p99_ms") -> str:
    return fmt(p.get(key) if p else None, ".1f")


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "–"
    return f"**meets** (< {target} ms)" if value < target else f"**misses** (target < {target} ms)"


def markdown(report: dict) -> str:
    lines = ["## Speed and memory", "", *environment_lines(report), "",
             "Absolute times are for this machine, shared with other work (see the busy figures above); compare "
             "rows with each other rather than with another machine. The encoder runs with torch's default of one "
             "thread per core unless a row says otherwise, as the service does.", ""]
    b = report.get("bundle") or {}
    if b.get("status", "ok") != "ok":
        lines += [f"Routing and service figures: pending ({b['status']}).", ""]
    else:
        how = (f"trained for this run on the {b['cases']:,} sample cases (final fit {b['fit_s']:.0f} s; search index "
               f"{b['index_build_s']:.0f} s with the e5 encoder, float32, {b['index_threads']} torch thread(s))"
               if b.get("built") else f"`{b['path']}`")
        ip = report["inprocess"]
        lines += [f"### Routing latency and throughput (sample bundle: {how})", "",
                  *table(["path", "p50 ms", "p99 ms", "n"], [
                      ["in-process `route_items`, one item (warm)", ms(ip["route_one"], "p50_ms"), ms(ip["route_one"]),
                       ip["route_one"]["n"]],
                      [f"in-process precedent search, one item (hybrid, {ip['dense_text']}, "
                       f"{ip['index_cases']:,} cases, {ip['index_kind']}; query encoding included)",
                       ms(ip["precedents_one"], "p50_ms"), ms(ip["precedents_one"]), ip["precedents_one"]["n"]],
                      ["in-process routing + precedents, one item", ms(ip["route_plus_precedents_one"], "p50_ms"),
                       ms(ip["route_plus_precedents_one"]), ip["route_plus_precedents_one"]["n"]],
                      *http_rows(report.get("http") or {})]), "",
                  batch_text(ip["batch"]), ""]
        http = report.get("http") or {}
        if http.get("status") == "ok":
            lines += [f"HTTP: `uvicorn api.main:app` on 127.0.0.1, started in {http['startup_s']:.0f} s; precedents in "
                      f"the response: {'yes' if http['precedents_in_response'] else 'no'}; resident memory of the "
                      f"service process after the requests: **{http['service_rss_mib']:,.0f} MiB**. Besides the "
                      "precedent search, the service's `POST /route` checks each item for repeats of earlier cases "
                      "(`api.assign.mark_repeats`), which encodes the item a second time (as a passage).", ""]
        else:
            lines += [f"HTTP latency: {http.get('status', 'not measured')}.", ""]
        svc = report.get("service") or {}
        if svc.get("status") == "ok":
            lines += [f"In-process service memory (fresh interpreter; bundle, search index of {svc['index_cases']:,} "
                      f"cases and e5 encoder loaded in {svc['load_s']:.0f} s, one item routed and searched): "
                      f"**{svc['rss_mib']:,.0f} MiB resident**, peak {svc['peak_rss_mib']:,.0f} MiB.", ""]
    lines += training_section(report.get("training") or {})
    lines += remeasured_note(report, "training")
    lines += search_section(report.get("search") or {})
    lines += remeasured_note(report, "search")
    seg = report.get("segmentation")
    if seg:
        rows = [[name, fmt(v, ",d") if v else "not installed"] for name, v in seg["engines"].items()]
        lines += ["### Segmentation throughput", "",
                  f"{seg['texts']:,} texts of {seg['source']} ({seg['chars']:,} characters), one call per text.", "",
                  *table(["segmenter", "characters/s"], rows), ""]
    return "\n".join(lines)


def batch_text(b: dict) -> str:
    searched = (f"{b['searched']:,} items searched before the {b['precedents_s']:.0f}-second cap, so the rate is "
                "extrapolated from those" if b["searched"] < b["items"] else f"all {b['items']:,} searched in "
                f"{b['precedents_s']:.1f} s")
    return (f"Batch: {b['items']:,} items routed in one `route_items` call ({b['routing_s']:.1f} s, "
            f"{b['routing_only_items_per_s']:.0f} items/s); then 5 precedents for each, one search per item with its "
            f"query encoded singly, as the service's `attach_precedents` does ({searched}): "
            f"**{b['items_per_s']:.2f} items/s with precedents**.")


def http_rows(http: dict) -> list[list]:
    if http.get("status") != "ok":
        return [["HTTP `POST /api/v1/route`, one item (warm)", "pending", "pending", "–"]]
    r = http["route_one"]
    note = " incl. precedents" if http.get("precedents_in_response") else ""
    return [[f"HTTP `POST /api/v1/route`, one item (warm, loopback, keep-alive{note})", ms(r, "p50_ms"), ms(r),
             r["n"]]]


def training_section(tr: dict) -> list[str]:
    if not tr:
        return []
    rows = []
    for size, r in tr["sizes"].items():
        if r.get("status") == "ok":
            rows.append([f"{int(size):,}", f"{r['fit_s']:.1f}", f"{r['peak_rss_mib']:,.0f}", f"{r['features']:,}",
                         r.get("convergence_warnings", "–")])
        else:
            rows.append([f"{int(size):,}", r["status"], "–", "–", "–"])
    return ["### Training time and memory", "",
            f"`training.train.fit_model` (the final fit of `jiaoban train`: features, out-of-fold calibration and "
            f"threshold, lead and co-handler models; the backtest that `jiaoban train` runs first is not included) on "
            f"the {tr['base_cases']:,} sample cases duplicated with new case numbers up to each size — no "
            "paraphrasing, so the vocabulary does not grow as it would with real cases. One fresh process per size.",
            "", *table(["cases", "fit s", "peak RSS MiB", "features", "liblinear fits that hit max_iter"], rows), "",
            "Duplicated cases weigh like one case with a larger C, so the linear SVMs converge more slowly than they "
            "would on as many distinct cases (each liblinear fit stops at `RoutingParams.max_iter` = 200 passes; "
            "the last column counts the fits that stopped there); read the larger sizes as a pessimistic bound. "
            "Above `RoutingParams.calibration_max_items` (20,000) the out-of-fold calibration runs on a random "
            "sample of that size, so from there on only the feature extraction and the two final fits grow with "
            "the data.", ""]


def search_section(se: dict) -> list[str]:
    if not se:
        return []
    rows = []
    for size, r in se["sizes"].items():
        if r.get("status") != "ok":
            rows.append([f"{int(size):,}", r.get("status"), *["–"] * 8])
            continue
        rows.append([f"{int(size):,}", r["index_kind"], f"{r['build_index_s']:.0f}",
                     f"{r['load_s']:.0f}" if "load_s" in r else "–",
                     f"{r['index_rss_mib']:,.0f}", ms(r["title_hybrid"], "p50_ms"), ms(r["title_hybrid"]),
                     ms(r["proposal_hybrid"], "p50_ms"), ms(r["proposal_hybrid"]),
                     f"{ms(r['title_bm25'], 'p50_ms')} / {ms(r['title_dense'], 'p50_ms')}"])
    lines = ["### Precedent search: latency and memory by collection size", "",
             "`PrecedentIndex` built from scratch (`_refresh`: BM25 matrix, faiss index, as training does) over "
             "the sample cases duplicated with new case numbers, with **random unit vectors** in place of encoded "
             "cases and a random query vector, so these times exclude query encoding (see the next table). The index "
             "kind is what `VectorIndex(kind=\"auto\")` picks (flat up to 50,000 vectors, HNSW M=32, efSearch=128 "
             "above) unless the row says otherwise. Memory is the resident growth of a fresh process while the cases, "
             "tokens, vectors and indexes were built. *Load s* is the service's start-up cost: "
             "`PrecedentIndex.load` of the saved index (BM25 rebuilt from the stored tokens, the faiss index read "
             "from its file rather than rebuilt). Hybrid search, k = 10.", "",
             *table(["cases", "vector index", "build s", "load s", "memory MiB", "title p50 ms", "title p99 ms",
                     "1,500-char p50 ms", "1,500-char p99 ms", "title: BM25 / dense alone, p50 ms"], rows), ""]
    if se.get("note"):
        lines += [se["note"], ""]
    enc = next((r.get("real_encoder") for r in se["sizes"].values() if r.get("real_encoder")), None)
    if enc:
        size = next(s for s, r in se["sizes"].items() if r.get("real_encoder"))
        rows = []
        for key, r in enc.items():
            precision, dense_text, kind = key.rsplit("_", 2)
            target = TARGETS_MS[kind]
            rows.append([f"{'title' if kind == 'title' else '1,500-char proposal'} (~{r['query_chars']} chars)",
                         f"`{dense_text}`, {precision}{'' if 'thread' in precision else ', all cores'}",
                         ms(r["encode"], "p50_ms"), ms(r["encode"]),
                         ms(r["search_total"], "p50_ms"), ms(r["search_total"]),
                         verdict(r["search_total"]["p99_ms"], target)])
        lines += [f"Search with the real e5 encoder at {int(size):,} cases (warm; the query encoded for each search; "
                  "targets from the issue: title < 50 ms p99, 1,500-character proposal < 400 ms p99, encoding "
                  "included). In `lead` mode the query is cut to its first 200 characters before encoding; `full` "
                  "encodes all of it.", "",
                  *table(["query", "config", "encode p50 ms", "encode p99 ms", "search p50 ms (incl. encoding)",
                          "search p99 ms", "against the target"], rows), ""]
    return lines


# -- main -----------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="example: .venv/bin/python benchmarks/bench_speed.py --quick")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="tipdm2020c folder (segmentation texts)")
    parser.add_argument("--encoder-dir", type=Path, default=DEFAULT_ENCODER)
    parser.add_argument("--bundle", type=Path, help="bundle with a search index (default: the active one in "
                                                    "var/models if it has one for this encoder, else one is trained)")
    parser.add_argument("--train-sizes", default="1000,all,10000,100000",
                        help="case counts; 'all' is the sample data as it is (no duplicates)")
    parser.add_argument("--train-budget", type=float, default=2400,
                        help="stop a training size that runs longer than this (s); larger sizes are then skipped")
    parser.add_argument("--search-sizes", default="10000,100000,1000000")
    parser.add_argument("--flat-from", type=int, default=1_000_000,
                        help="sizes from this one up use a flat index (an HNSW build of random vectors is too slow "
                             "here); 0 keeps the automatic choice everywhere")
    parser.add_argument("--requests", type=int, default=50, help="single-item requests per latency figure")
    parser.add_argument("--batch", type=int, default=1000, help="items in the throughput batch")
    parser.add_argument("--batch-cap", type=float, default=180,
                        help="stop searching the batch's precedents after this many seconds; report the rate so far")
    parser.add_argument("--quick", action="store_true", help="small sizes and few requests: a smoke run")
    parser.add_argument("--json", type=Path, default=RESULTS / "speed.json")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--render", action="store_true", help="only regenerate the doc section from --json")
    parser.add_argument("--only", choices=sorted(PARTS),
                        help="re-measure one part and merge it into the existing --json results (the doc says when "
                             "and how each re-measured part was run)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.render:
        setup_logging()
        replace_section(args.doc, "speed", markdown(json.loads(args.json.read_text(encoding="utf-8"))))
        return
    if args.child:
        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(CHILDREN[args.child[0]](json.loads(args.child[1]))))
        return
    setup_logging()
    if args.quick:
        args.train_sizes, args.search_sizes, args.requests, args.batch = "300", "10000", 5, 10
    started = time.perf_counter()
    if not (SAMPLES / "closed_cases.csv").is_file():
        logger.warning("no sample data in data/samples: nothing to measure yet")
        return
    report = report_header(("scikit-learn", "numpy", "scipy", "jieba", "rjieba", "faiss-cpu", "bm25s", "torch",
                            "sentence-transformers", "fastapi", "uvicorn", "psutil"), args.quick)
    if args.only:
        rerun_part(args, report)
        return
    workdir = Path(tempfile.mkdtemp(prefix="jiaoban-bench-"))
    try:
        report["segmentation"] = segmentation(args.data, 50_000 if args.quick else 600_000)
        report["bundle"] = find_or_build_bundle(args.encoder_dir, workdir, args.bundle, 80 if args.quick else 0)
        b = report["bundle"]
        report["inprocess"] = inprocess_latency(b["path"], args.encoder_dir, args.requests, args.batch,
                                                args.batch_cap)
        report["http"] = http_latency(b["models_dir"], args.encoder_dir, workdir, args.requests)
        report["service"] = run_child("service", {"bundle": b["path"], "encoder": str(args.encoder_dir)}, 600)
        report["training"] = training_scaling(args)
        report["search"] = search_scaling(args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["runtime_s"] = round(time.perf_counter() - started, 1)
    write_results("speed", report, args.json)
    replace_section(args.doc, "speed", markdown(report))


PARTS = {"training": "training", "search": "search", "segmentation": "segmentation"}


def rerun_part(args, header: dict) -> None:
    """Measure one part again and merge it into the saved results, recording when, how and on what load."""
    started = time.perf_counter()
    report = json.loads(args.json.read_text(encoding="utf-8")) if args.json.is_file() else header
    key = PARTS[args.only]
    if key in ("training", "search"):
        fresh = training_scaling(args) if key == "training" else search_scaling(args)
        old = report.get(key) or {}
        # Sizes measured now replace their old rows; sizes not asked for this time keep theirs.
        fresh["sizes"] = {**{k: v for k, v in (old.get("sizes") or {}).items() if str(k) not in
                             {str(n) for n in fresh["sizes"]}}, **{str(k): v for k, v in fresh["sizes"].items()}}
        fresh["sizes"] = dict(sorted(fresh["sizes"].items(), key=lambda kv: int(kv[0])))
        report[key] = {**old, **fresh}
    else:
        report[key] = segmentation(args.data, 50_000 if args.quick else 600_000)
    header["machine"]["busy_after"] = busy_fraction()
    runs = report.setdefault("remeasured", {}).get(key) or []
    runs = runs if isinstance(runs, list) else [runs]
    report["remeasured"][key] = runs + [{
        "date": header["date"], "command": header["command"], "runtime_s": round(time.perf_counter() - started, 1),
        "busy_before": header["machine"]["busy_before"], "busy_after": header["machine"]["busy_after"]}]
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    replace_section(args.doc, "speed", markdown(report))


def remeasured_note(report: dict, key: str) -> list[str]:
    runs = (report.get("remeasured") or {}).get(key)
    if not runs:
        return []
    lines = ["*Rows of this section were re-measured after the rest of this page (sizes a command did not name "
             "come from the run before it):*", ""]
    for r in runs if isinstance(runs, list) else [runs]:
        lines.append(f"- {r['date']}: `{r['command']}` ({r['runtime_s'] / 60:.1f} min; machine busy "
                     f"{r['busy_before']:.0%} before, {r['busy_after']:.0%} after)")
    return lines + [""]


def training_scaling(args) -> dict:
    ts, _ = load_samples()
    out = {"base_cases": len(ts.cases), "sizes": {}}
    stopped = False
    sizes = [len(ts.cases) if s == "all" else int(s) for s in args.train_sizes.split(",") if s]
    for size in sorted(set(sizes)):
        if stopped:
            out["sizes"][size] = {"status": "not run: a smaller size did not finish"}
            continue
        r = run_child("train", {"size": size}, timeout=args.train_budget)
        out["sizes"][size] = r
        stopped = r.get("status") != "ok"
        if not stopped:
            logger.info("training %d cases: %.1f s, peak %.0f MiB", size, r["fit_s"], r["peak_rss_mib"])
    return out


def search_scaling(args) -> dict:
    out = {"sizes": {}}
    sizes = [int(s) for s in args.search_sizes.split(",") if s]
    for size in sizes:
        child_args = {"size": size, "title_queries": 10 if args.quick else 100,
                      "proposal_queries": 3 if args.quick else 30,
                      "encoder_title_queries": 5 if args.quick else 40,
                      "encoder_proposal_queries": 2 if args.quick else 15, "variants": not args.quick}
        if size == min(sizes):
            child_args["encoder"] = str(args.encoder_dir)
        if args.flat_from and size >= args.flat_from:
            child_args["kind"] = "flat"
        r = run_child("search", child_args, timeout=1800)
        out["sizes"][size] = r
        logger.info("search %d cases: %s", size, {k: v for k, v in r.items() if not isinstance(v, dict)})
    forced = [s for s in sizes if args.flat_from and s >= args.flat_from]
    if forced:
        hnsw = [(s, r) for s, r in out["sizes"].items() if r.get("index_kind") == "hnsw" and r.get("status") == "ok"]
        built = f" (the HNSW index over {hnsw[-1][0]:,} random vectors took {hnsw[-1][1]['build_index_s']:.0f} s " \
                "to build in all here)" if hnsw else ""
        out["note"] = (f"At {', '.join(f'{s:,}' for s in forced)} cases the index is **flat (exact), not the HNSW that "
                       f"`auto` would pick**: building HNSW over that many random vectors does not fit this run's time "
                       f"budget on 2 cores{built}. Flat search time grows linearly with the collection; HNSW's would "
                       "not, so the flat rows are an upper bound for the dense part.")
    return out


if __name__ == "__main__":
    main()
