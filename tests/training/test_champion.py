"""Champion/challenger on toy data: the manifest records the training cases, the comparison uses only cases the
active model never saw, an identical retrain is compared on a backtest and not refused, a small test warns."""

import json

import pytest

from models.bundle import BundleError, BundleStore, load_bundle, read_meta
from models.provenance import TRAINING_CASES_FILE, text_hash, trained_on
from models.records import CaseRecord
from tests.models.test_classifier import toy_data
from training.dataset import TrainingSet
from training.train import train


def toy_cases(years):
    items, leads, co = toy_data(n_per_topic=15)
    out = []
    for i, ((t, b), lead, c) in enumerate(zip(items, leads, co)):
        year = 2022 + i % 3
        if year in years:
            out.append(CaseRecord(row=i + 2, case_no=f"JY{year}-{i:04d}", year=year, title=t, body=b, lead=lead,
                                  lead_id=lead, co_handlers=c, co_ids=c))
    return TrainingSet(cases=out, source="toy.csv", sha256="x")


@pytest.fixture(scope="module")
def cycles(tmp_path_factory):
    store = BundleStore(tmp_path_factory.mktemp("models"))
    first = train(toy_cases({2022, 2023}), None, store=store, promote=True, min_test=5)
    same = train(toy_cases({2022, 2023}), None, store=store, promote=True, min_test=5)
    grown = train(toy_cases({2022, 2023, 2024}), None, store=store, promote=True)  # default minimum: 100
    return store, first, same, grown


def test_the_manifest_records_the_training_cases(cycles):
    store, first, *_ = cycles
    meta = read_meta(first.path)
    assert meta["training_cases"] == {"file": TRAINING_CASES_FILE, "count": len(toy_cases({2022, 2023}).cases)}
    assert TRAINING_CASES_FILE in meta["files"]  # checksummed like every file
    record = trained_on(first.path)
    ids = {e["id"] for e in record.entries}
    assert ids == {c.case_no for c in toy_cases({2022, 2023}).cases}
    assert all(len(e["hash"]) == 16 and e["lead"] for e in record.entries)
    assert "title" not in json.dumps(record.entries)  # numbers and hashes, no text


def test_an_identical_retrain_is_backtested_on_one_split_and_not_refused(cycles):
    _, first, same, _ = cycles
    assert first.comparison is None and first.promoted
    assert same.comparison.mode == "backtest" and same.comparison.detail["same_params"]
    assert same.comparison.stats["diff"]["top1"]["value"] == 0.0
    assert same.promoted and not same.figures["decision"]["refused"]
    assert any("同一年度切分" in n for n in same.figures["warnings"])


def test_new_cases_are_compared_only_where_the_active_never_saw_them(cycles):
    store, _, same, grown = cycles
    comparison = grown.comparison
    assert comparison.mode == "unseen" and comparison.active_version == same.path.name
    seen = trained_on(same.path)
    compared = set(comparison.candidate.ids)
    new = {c.case_no: c for c in toy_cases({2024}).cases}
    assert compared and compared <= set(new)
    assert not any(seen.saw(new[i]) for i in compared)
    assert comparison.detail["n_train"] == len(seen)  # the challenger learnt from the active's own cases
    # Fewer than 100 compared cases: a warning and no automatic promotion, the active stays.
    assert not grown.promoted and store.active() == same.path.name
    assert grown.figures["decision"]["small_test"] and "少于 100 件" in grown.figures["warnings"][0]


def test_a_case_is_recognised_by_its_text_even_under_another_number(cycles):
    _, first, *_ = cycles
    record = trained_on(first.path)
    case = toy_cases({2022}).cases[0]
    renumbered = CaseRecord(row=1, case_no="NEW-1", title=case.title, body=case.body)
    assert record.saw(renumbered)
    assert not record.saw(CaseRecord(row=1, case_no="NEW-2", title="关于全新问题的建议", body="从未见过。"))
    assert text_hash(case.title, " " + case.body) == text_hash(case.title, case.body)  # normalised first


def test_promotions_record_who_when_and_why(cycles):
    store, first, same, _ = cycles
    history = store.history()
    assert [h["version"] for h in history] == [first.path.name, same.path.name]
    assert all(h["at"] and "by" in h and h["why"] for h in history)
    assert "不显著劣于" in history[1]["why"]


def test_a_tampered_case_list_is_refused(cycles, tmp_path):
    import shutil

    _, first, *_ = cycles
    copy = shutil.copytree(first.path, tmp_path / "v")
    (copy / TRAINING_CASES_FILE).write_text('{"cases": []}', encoding="utf-8")
    with pytest.raises(BundleError, match=TRAINING_CASES_FILE):
        load_bundle(copy)
