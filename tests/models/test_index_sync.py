"""Incremental precedent index: new cases are added without re-embedding history, ids stay stable, and the
consistency check finds (and the repair removes) every difference between index and cases."""

from dataclasses import replace

from models.embeddings import HashingEmbedder
from models.index import stable_id
from models.index_sync import index_diff, repaired
from models.records import CaseRecord
from models.search import PrecedentIndex


class CountingEmbedder(HashingEmbedder):
    def __init__(self):
        super().__init__(64)
        self.encoded = 0

    def encode_passages(self, texts):
        self.encoded += len(texts)
        return super().encode_passages(texts)


def cases(year, n=6):
    return [CaseRecord(row=i + 2, case_no=f"JY{year}-{i:04d}", year=year, title=f"关于{year}年第{i}号道路问题的建议",
                       body=f"{year}年第{i}号道路破损。", lead="zjj", lead_id="zjj", reply="已办理。", category="A")
            for i in range(n)]


def test_new_cases_are_added_without_re_embedding_history_and_ids_stay_stable():
    embedder = CountingEmbedder()
    index = PrecedentIndex(embedder)
    history = cases(2023) + cases(2024)
    index.add(history)
    ids_before = {c["case_no"]: int(c["case_id"]) for c in index.cases}
    embedder.encoded = 0
    now = history + cases(2025, 3)
    diff = index_diff(index, now)
    assert diff.missing == [c.case_no for c in cases(2025, 3)] and not diff.changed and not diff.extra
    fixed, found, encoded = repaired(index, now)
    assert encoded == 3 and embedder.encoded == 3  # only the new ones
    assert {c["case_no"]: int(c["case_id"]) for c in fixed.cases if c["case_no"] in ids_before} == ids_before
    assert int(fixed.cases[-1]["case_id"]) == stable_id("JY2025-0002")
    assert index_diff(fixed, now).consistent and len(fixed) == 15


def test_changed_and_vanished_cases_are_found_and_repaired():
    embedder = CountingEmbedder()
    index = PrecedentIndex(embedder)
    history = cases(2023) + cases(2024)
    index.add(history)
    embedder.encoded = 0
    now = [replace(history[0], reply="已解决，道路已修复。", category="A"),
           replace(history[1], lead="jtj", lead_id="jtj"),
           replace(history[2], body="改写后的正文。")] + history[3:-1]  # the last one is gone from the store
    diff = index_diff(index, now)
    assert diff.changed == [c.case_no for c in history[:3]]
    assert diff.extra == [history[-1].case_no] and not diff.missing and not diff.consistent
    fixed, _, encoded = repaired(index, now)
    # the rewritten body and the new reply (replies are searched by vector too); a new unit needs no vector
    assert encoded == 2 and embedder.encoded == 2
    assert index_diff(fixed, now).consistent and len(fixed) == len(now)
    assert fixed.get(stable_id(history[0].case_no))["reply"] == "已解决，道路已修复。"


def test_a_consistent_index_is_left_as_it_is():
    index = PrecedentIndex(HashingEmbedder(64))
    index.add(cases(2024))
    same, diff, encoded = repaired(index, cases(2024))
    assert same is index and diff.consistent and encoded == 0
