"""Micro-batching for a shared encoder: concurrent requests are encoded by one worker thread, several at a time.

Under load, many request threads calling torch at once fight over the cores (each call wants them all) and every
request waits for all the others. Here one worker owns the encoder: it takes what is queued (up to ``max_batch``
texts of one kind), encodes it in one call and hands each caller its rows. Interactive requests (a few texts) go
before the chunks of a bulk request (a 2,000-row sheet), so a single route never waits behind a whole sheet.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

logger = logging.getLogger(__name__)


class _Job:
    __slots__ = ("kind", "texts", "future")

    def __init__(self, kind: str, texts: list[str]):
        self.kind, self.texts = kind, texts
        self.future: Future[np.ndarray] = Future()  # this job's rows of the batch's vectors


class BatchingEmbedder:
    """An :class:`models.embeddings.Embedder` whose calls from many threads are queued and encoded in batches.

    Args:
        inner: the encoder; only the worker thread calls it.
        max_batch: most texts in one encoder call (also the chunk size of bulk requests).
        max_wait_s: how long the worker waits for more requests to join a batch that is not full.
    """

    def __init__(self, inner, *, max_batch: int = 16, max_wait_s: float = 0.002):
        self.inner = inner
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._interactive: deque[_Job] = deque()
        self._bulk: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="encoder-batcher", daemon=True)
        self._worker.start()

    def __getattr__(self, name):  # name, dim, path, max_seq_length ... of the wrapped encoder
        return getattr(self.inner, name)

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode("query", list(texts))

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode("passage", list(texts))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- queue ------------------------------------------------------------------------------------------------
    def _encode(self, kind: str, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.inner.dim), dtype=np.float32)
        if self._closed:
            raise RuntimeError("encoder closed")
        distinct = list(dict.fromkeys(texts))  # a text repeated in a sheet is encoded once
        chunks = [_Job(kind, distinct[i : i + self.max_batch]) for i in range(0, len(distinct), self.max_batch)]
        with self._cond:
            (self._interactive if len(chunks) == 1 else self._bulk).extend(chunks)
            self._cond.notify()
        vectors = np.vstack([c.future.result() for c in chunks])
        if len(distinct) == len(texts):
            return vectors
        row = {text: i for i, text in enumerate(distinct)}
        return vectors[[row[text] for text in texts]]

    def _take(self) -> list[_Job] | None:
        """The next batch: queued interactive jobs of one kind up to ``max_batch`` texts, else one bulk chunk."""
        with self._cond:
            while not (self._interactive or self._bulk or self._closed):
                self._cond.wait()
            if self._closed and not (self._interactive or self._bulk):
                return None
            if not self._interactive:
                return [self._bulk.popleft()]
            if self.max_wait_s and len(self._interactive) == 1 and not self._bulk:
                self._cond.wait(self.max_wait_s)  # let concurrent requests join
            first = self._interactive.popleft()
            batch, size = [first], len(first.texts)
            for job in list(self._interactive):
                if job.kind == first.kind and size + len(job.texts) <= self.max_batch:
                    self._interactive.remove(job)
                    batch.append(job)
                    size += len(job.texts)
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            texts = [t for job in batch for t in job.texts]
            try:
                encode = self.inner.encode_queries if batch[0].kind == "query" else self.inner.encode_passages
                vectors = encode(texts)
            except Exception as exc:  # every waiting caller gets the error, the worker goes on
                for job in batch:
                    job.future.set_exception(exc)
                continue
            start = 0
            for job in batch:
                job.future.set_result(vectors[start : start + len(job.texts)])
                start += len(job.texts)
