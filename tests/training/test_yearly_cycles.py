"""Two yearly cycles on the sample data (issue #14): train on 2021–2022; add 2023; add 2024, the year of a merger.

Checks that each comparison uses only cases the active model never saw, that an identical retrain is not refused,
that a candidate trained on corrupted labels (one unit's historic cases shuffled) is refused, and that the
labels mapped through the registry's lineage are listed.
"""

import random

import pytest

from models.bundle import BundleStore
from models.classifier import RoutingParams
from models.provenance import trained_on
from tests.conftest import SAMPLES
from training.dataset import TrainingSet, load_training_set
from training.train import train

pytestmark = pytest.mark.slow
PARAMS = RoutingParams(cv_folds=3)  # the default model, fewer calibration folds: the same comparisons, faster


def subset(ts, years, relabel=None):
    cases = [c for c in ts.cases if c.year in years]
    if relabel:
        cases = [relabel(c) for c in cases]
    return TrainingSet(cases=cases, source=f"closed_{min(years)}_{max(years)}.csv", sha256=str(sorted(years)))


@pytest.fixture(scope="module")
def cycles(tmp_path_factory, sample_registry):
    from dataclasses import replace

    ts = load_training_set(SAMPLES / "closed_cases.csv", sample_registry)
    store = BundleStore(tmp_path_factory.mktemp("yearly") / "models")
    run = {}

    def step(name, data):
        run[name] = train(data, sample_registry, store=store, params=PARAMS, promote=True)
        run[name + "_active_after"] = store.active()

    step("first", subset(ts, {2021, 2022}))
    step("identical", subset(ts, {2021, 2022}))
    step("add_2023", subset(ts, {2021, 2022, 2023}))
    labels = sorted({c.lead_id for c in ts.cases if c.lead_id != "zjj"})
    rnd = random.Random(14)

    def shuffled(case):  # 住建局's historic cases carry random other units: a broken export
        if case.lead_id == "zjj" and case.year < 2024:
            return replace(case, lead_id=rnd.choice(labels))
        return case

    step("worse", subset(ts, {2021, 2022, 2023, 2024}, shuffled))
    step("add_2024", subset(ts, {2021, 2022, 2023, 2024}))
    return store, run


def test_the_first_model_goes_into_service(cycles):
    _, run = cycles
    assert run["first"].promoted and run["first_active_after"] == run["first"].path.name


def test_an_identical_retrain_is_not_refused(cycles):
    _, run = cycles
    same = run["identical"]
    assert same.comparison.mode == "backtest"  # nothing new: both configurations on one split
    assert same.figures["comparison"]["diff"]["top1"]["value"] == 0.0
    assert same.promoted and not same.figures["decision"]["refused"]


@pytest.mark.parametrize("name, year", [("add_2023", 2023), ("add_2024", 2024)])
def test_each_new_year_is_compared_only_on_cases_the_active_never_saw(cycles, name, year):
    store, run = cycles
    result = run[name]
    comparison = result.comparison
    assert comparison.mode == "unseen"
    active = store.path(comparison.active_version)
    record = trained_on(active)
    ids = set(comparison.candidate.ids)
    assert ids == set(comparison.active.ids) and len(ids) >= 300
    assert all(i.startswith((f"JY{year}-", f"TA{year}-")) for i in ids)
    assert not ids & {e["id"] for e in record.entries}
    assert result.figures["evaluation"]["n"] == len(ids)
    assert comparison.detail["n_train"] == len(record)  # the challenger learnt what the active learnt
    assert result.promoted and not result.figures["decision"]["refused"]


def test_a_candidate_trained_on_shuffled_labels_for_one_unit_is_refused(cycles):
    store, run = cycles
    worse = run["worse"]
    assert worse.comparison.mode == "unseen"
    assert worse.figures["decision"]["refused"] and not worse.promoted
    assert run["worse_active_after"] == run["add_2023"].path.name  # the active stayed
    diff = worse.figures["comparison"]["diff"]["top1"]
    assert diff["value"] < -0.02 and diff["ci"][1] < 0
    assert worse.figures["comparison"]["mcnemar"]["p_value"] < 0.05
    assert any("主办单位与当时不同" in n for n in worse.figures["warnings"])
    unit = next(r for r in worse.figures["candidate"]["per_label"] if r["label"] == "zjj")
    active_unit = next(r for r in worse.figures["active"]["per_label"] if r["label"] == "zjj")
    assert unit["recall"] < active_unit["recall"]


def test_the_labels_mapped_through_the_lineage_are_listed(cycles):
    _, run = cycles
    mapped = {(m["from_id"], m["to_id"]): m for m in run["add_2024"].figures["mapped_labels"]}
    assert mapped[("xczxj", "nync")]["years"] == [2021, 2022, 2023]  # merged into 农业农村局 in 2024
    assert ("cgj", "cgzfj") in mapped and ("zwfwb", "zwsjj") in mapped and ("dsjzx", "zwsjj") in mapped
    assert "江州市乡村振兴局" in (run["add_2024"].path / "report.html").read_text(encoding="utf-8")
