"""`train` with the kNN blend: cases encoded once, the blend certified and served, the text model kept as fallback."""

import re
import zlib

import numpy as np
import pytest

from models.bundle import BundleStore, load_bundle, load_search_index
from models.classifier import RoutingParams
from models.embeddings import HashingEmbedder
from models.records import CaseRecord
from models.service import RoutingService
from tests.models.test_classifier import toy_data
from training.dataset import TrainingSet
from training.train import train


class OracleEmbedder(HashingEmbedder):
    """Vectors that know each case's unit from its serial number ("第N号"), which the text model cannot use."""

    def __init__(self, unit_of: dict[int, str]):
        super().__init__(16)
        self.name = "oracle-16"
        self.unit_of = unit_of
        rng = np.random.default_rng(0)
        self.centres = {u: rng.normal(size=16) for u in sorted(set(unit_of.values()))}
        self.encoded = 0  # passages (the case vectors); queries are the search weights' calibration

    def encode_passages(self, texts, *, show_progress: bool = False):
        self.encoded += len(texts)
        return self._encode(texts)

    def _encode(self, texts):
        out = []
        for text in texts:
            rng = np.random.default_rng(zlib.crc32(text.encode()))
            found = re.search(r"第(\d+)号", text)
            unit = self.unit_of.get(int(found.group(1))) if found else None
            v = self.centres[unit] + 0.2 * rng.normal(size=16) if unit else rng.normal(size=16)
            out.append(v / np.linalg.norm(v))
        return np.array(out, dtype=np.float32)


def twin_cases(seed: int = 0):
    """The toy topics plus "czj", whose items read exactly like "zjj"'s."""
    items, leads, _ = toy_data(n_per_topic=15, seed=seed)
    zjj = [it for it, lead in zip(items, leads) if lead == "zjj"]
    items, leads = items + zjj, leads + ["czj"] * len(zjj)
    cases, unit_of = [], {}
    serials = np.random.default_rng(seed).choice(np.arange(10_000, 99_999), len(items), replace=False)
    for i, ((title, body), lead, serial) in enumerate(zip(items, leads, serials)):  # serials that say nothing
        unit_of[int(serial)] = lead
        cases.append(CaseRecord(row=i + 2, case_no=f"JY{2022 + i % 3}-{i:04d}", year=2022 + i % 3, title=title,
                                body=f"（第{serial}号）{body}", lead=lead, lead_id=lead))
    return cases, unit_of


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cases, unit_of = twin_cases()
    unit_of[9000] = "czj"
    embedder = OracleEmbedder(unit_of)
    store = BundleStore(tmp_path_factory.mktemp("models"))
    result = train(TrainingSet(cases=cases), None, store=store, params=RoutingParams(knn_blend=True),
                   embedder=embedder)
    return result, embedder, cases


def test_the_blend_is_certified_saved_and_reported_with_the_text_fallback(trained):
    result, _, _ = trained
    bundle = load_bundle(result.path)
    model = bundle.model
    assert model.knn_ is not None and model.knn_.weight > 0
    served = bundle.meta["metrics"]["threshold_in_service"]
    assert served["knn_blend"] is True
    assert served["model"] == pytest.approx(model.knn_.certificate.threshold)
    assert served["text_only"]["threshold"] == pytest.approx(model.certificate_.threshold)
    assert "无法编码时" in served["text_only"]["note"]
    assert result.figures["threshold"]["knn_blend"] is True
    assert result.figures["threshold"]["note"].startswith(f"主办建议结合最相似的 {model.knn_.k} 件往年案件的投票")
    html = (result.path / "report.html").read_text(encoding="utf-8")
    assert "主办建议结合最相似的" in html and "无法编码时" in html
    # the backtest judged the blended fold models by their own blended thresholds
    assert bundle.meta["metrics"]["validation"]["knn"]["adopted"]


def test_the_vote_costs_no_encoding_beyond_the_index(trained, tmp_path):
    _, embedder, cases = trained
    plain = OracleEmbedder(embedder.unit_of)
    train(TrainingSet(cases=cases), None, store=BundleStore(tmp_path), params=RoutingParams(), embedder=plain)
    assert embedder.encoded == plain.encoded  # the index build reused every vector the vote was fitted on


def test_the_service_serves_the_blend_with_the_index_and_the_text_model_without(trained):
    result, embedder, _ = trained
    bundle = load_bundle(result.path)
    item = ("关于临江区老旧小区加装电梯问题的建议", "（第9000号）临江区老旧小区加装电梯问题突出，建议加大投入，完善机制。")
    with_index = RoutingService(bundle, index=load_search_index(bundle, embedder))
    assert with_index.blends
    routed = with_index.route_one(*item)
    assert routed.lead[0].unit.id == "czj"
    assert routed.review.threshold == pytest.approx(bundle.model.knn_.certificate.threshold)
    text_only = RoutingService(bundle).route_one(*item)
    assert text_only.review.threshold == pytest.approx(bundle.model.certificate_.threshold)
    assert text_only.lead[0].unit.id in {"czj", "zjj"}


def test_the_blend_needs_an_encoder(tmp_path):
    cases, _ = twin_cases()
    with pytest.raises(ValueError, match="--knn-blend"):
        train(TrainingSet(cases=cases), None, store=BundleStore(tmp_path), params=RoutingParams(knn_blend=True))


def test_cli_train_and_evaluate_take_the_blend(tmp_path):
    from typer.testing import CliRunner

    from tests.training.test_cli import make_workspace
    from training.cli import app

    runner = CliRunner()
    ws = make_workspace(tmp_path)
    common = ["--departments", str(ws / "departments.json"), "--models-dir", str(ws / "models")]
    res = runner.invoke(app, ["train", str(ws / "cases.csv"), *common, "--knn-blend", "--no-index"])
    assert res.exit_code != 0 and "--no-index" in str(res.exception or res.output)
    res = runner.invoke(app, ["train", str(ws / "cases.csv"), *common, "--no-knn-blend", "--encoder", "hashing"])
    assert res.exit_code == 0, res.output
    assert "编码全部" not in res.output and "主办建议结合最相似的" not in res.output
    res = runner.invoke(app, ["train", str(ws / "cases.csv"), *common, "--no-index"])
    assert res.exit_code == 0 and "编码全部" not in res.output  # no encoder: the text model, no complaint
    res = runner.invoke(app, ["train", str(ws / "cases.csv"), *common, "--encoder", "hashing", "--promote"])
    assert res.exit_code == 0, res.output  # on by default with an encoder
    assert "编码全部" in res.output and "近邻投票" in res.output
    assert ("主办建议结合最相似的" in res.output) is ("无法编码时" in res.output)
    store = BundleStore(ws / "models")
    meta = load_bundle(store.path(store.active())).meta
    served = meta["metrics"]["threshold_in_service"]
    adopted = meta["metrics"]["validation"]["knn"]["adopted"]
    assert served["knn_blend"] is adopted and ("text_only" in served) is adopted
    res = runner.invoke(app, ["evaluate", str(ws / "cases.csv"), "--departments", str(ws / "departments.json"),
                              "--knn-blend", "--encoder", "hashing", "--split", "kfold", "--folds", "3"])
    assert res.exit_code == 0, res.output
    assert "近邻投票" in res.output and "首选准确率" in res.output
