import threading
import time

import numpy as np
import pytest

from models.batching import BatchingEmbedder
from models.embeddings import HashingEmbedder


class SlowEncoder(HashingEmbedder):
    """A hashing encoder that takes a while per call, so concurrent requests pile up as they do under load."""

    def __init__(self):
        super().__init__(64)
        self.batches: list[int] = []

    def encode_passages(self, texts, *, show_progress=False):
        self.batches.append(len(texts))
        time.sleep(0.02)
        return super().encode_passages(texts)


def test_concurrent_calls_share_encoder_calls_and_get_their_own_rows():
    inner = SlowEncoder()
    batching = BatchingEmbedder(inner, max_batch=8)
    texts = [f"老旧小区加装电梯第{i}件" for i in range(24)]
    results: dict[int, np.ndarray] = {}

    def call(i):
        results[i] = batching.encode_passages([texts[i]])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = HashingEmbedder(64).encode_passages(texts)
    assert all(np.allclose(results[i][0], expected[i]) for i in range(24))
    assert len(inner.batches) < 24 and max(inner.batches) <= 8  # batched, never above the cap
    assert batching.fingerprint == inner.fingerprint and batching.dim == 64


def test_a_bulk_request_is_chunked_and_single_requests_go_first():
    inner = SlowEncoder()
    batching = BatchingEmbedder(inner, max_batch=4, max_wait_s=0)
    bulk = [f"批量第{i}件" for i in range(40)]
    done: list[str] = []
    t = threading.Thread(target=lambda: (batching.encode_passages(bulk), done.append("bulk")))
    t.start()
    time.sleep(0.05)
    batching.encode_passages(["单件"])
    done.append("single")
    t.join()
    assert done == ["single", "bulk"]  # it did not wait for the other nine chunks
    assert np.allclose(batching.encode_passages(bulk), HashingEmbedder(64).encode_passages(bulk))


def test_an_encoder_error_reaches_the_caller_and_the_worker_goes_on():
    class Failing(HashingEmbedder):
        def encode_queries(self, texts):
            raise RuntimeError("encoder down")

    batching = BatchingEmbedder(Failing(32))
    with pytest.raises(RuntimeError, match="encoder down"):
        batching.encode_queries(["甲"])
    assert batching.encode_passages(["乙"]).shape == (1, 32)
    assert batching.encode_passages([]).shape == (0, 32)


def test_a_text_repeated_across_a_bulk_request_is_encoded_once():
    inner = SlowEncoder()
    batching = BatchingEmbedder(inner, max_batch=4)
    texts = [f"第{i % 5}件：老旧小区加装电梯" for i in range(40)]  # 5 texts, each 8 times, far apart
    try:
        vectors = batching.encode_passages(texts)
    finally:
        batching.close()
    assert sum(inner.batches) == 5 and inner.batches == [4, 1]
    np.testing.assert_array_equal(vectors, HashingEmbedder(64).encode_passages(texts))
