"""Recently encoded passages of routed items, so a text seen lately is not encoded again.

A session's sheet holds the same text more than once (a proposal signed by several members, a sheet uploaded
again after a correction, two chunks of one job), and a route may be retried; the encoder is most of a route's
time on a CPU. The cache is bounded (least recently used out first), per index (so per encoder and precision), and
safe to share between the threads that route at once: the encoder runs outside the lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

RECENT = 4096  # passages kept: 4,096 x 384 float32 is 6 MiB


class RecentVectors:
    def __init__(self, size: int = RECENT):
        self.size = size
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.encoded = 0  # passages this cache had to encode (for tests and benchmarks)

    def vectors(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray], dim: int) -> np.ndarray:
        """One vector per text, in order; only texts not seen lately are encoded, each once."""
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        with self._lock:
            found = {t: self._kept[t] for t in unique if t in self._kept}
            for t in found:
                self._kept.move_to_end(t)
        todo = [t for t in unique if t not in found]
        if todo:
            fresh = np.asarray(encode(todo), dtype=np.float32)
            found.update(zip(todo, fresh))
            with self._lock:
                self.encoded += len(todo)
                for t, v in zip(todo, fresh):
                    self._kept[t] = v
                    self._kept.move_to_end(t)
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)
