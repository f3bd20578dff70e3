"""Recently encoded passages of routed items are not encoded again; the vectors are the same either way."""

from __future__ import annotations

import threading

import numpy as np

from models.embeddings import HashingEmbedder
from models.search import PrecedentIndex
from models.vector_cache import RecentVectors


class Counting:
    def __init__(self):
        self.inner, self.calls = HashingEmbedder(), []

    def __call__(self, texts):
        self.calls.append(list(texts))
        return self.inner.encode_passages(texts)


def test_each_text_is_encoded_once_and_in_order():
    enc, cache = Counting(), RecentVectors()
    first = cache.vectors(["甲", "乙", "甲"], enc, enc.inner.dim)
    assert enc.calls == [["甲", "乙"]] and np.array_equal(first[0], first[2])
    second = cache.vectors(["乙", "丙"], enc, enc.inner.dim)
    assert enc.calls[-1] == ["丙"] and np.array_equal(second[0], first[1])
    assert np.array_equal(second, enc.inner.encode_passages(["乙", "丙"]))
    assert cache.vectors([], enc, enc.inner.dim).shape == (0, enc.inner.dim) and cache.encoded == 3


def test_the_least_recently_used_text_goes_first():
    enc, cache = Counting(), RecentVectors(size=2)
    cache.vectors(["甲", "乙"], enc, enc.inner.dim)
    cache.vectors(["甲"], enc, enc.inner.dim)  # 甲 used again: 乙 is now the oldest
    cache.vectors(["丙"], enc, enc.inner.dim)
    cache.vectors(["甲", "乙"], enc, enc.inner.dim)
    assert enc.calls == [["甲", "乙"], ["丙"], ["乙"]]


def test_threads_routing_at_once_get_their_own_vectors():
    enc, cache = Counting(), RecentVectors(size=8)
    texts = [f"第{i}件" for i in range(40)]
    want = enc.inner.encode_passages(texts)
    errors = []

    def route(offset):
        for k in range(30):
            part = texts[(offset + k) % 35:(offset + k) % 35 + 5]
            got = cache.vectors(part, enc, enc.inner.dim)
            if not np.array_equal(got, want[(offset + k) % 35:(offset + k) % 35 + 5]):
                errors.append(part)

    threads = [threading.Thread(target=route, args=(n * 7,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_an_index_encodes_a_repeated_item_once():
    index = PrecedentIndex(HashingEmbedder())
    items = [("关于加装电梯的建议", "老旧小区加装电梯资金难。"), ("关于校车的建议", "农村学生上学远。")]
    first = index.embed_items(items)
    again = index.embed_items([items[1], items[0], items[1]])
    assert index.recent.encoded == 2
    assert np.array_equal(again, first[[1, 0, 1]])
