"""The service blends the kNN vote only with vectors of the blend's kind, and judges each score by its own threshold."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models.bundle import Bundle
from models.certify import Certificate
from models.classifier import RoutingModel, RoutingParams
from models.embeddings import HashingEmbedder
from models.knn_vote import KnnBlend, index_vector_spec
from models.records import CaseRecord
from models.search import PrecedentIndex, SearchConfig
from models.service import RoutingService
from tests.models.test_classifier import toy_data

ITEM = ("关于临江区老旧小区加装电梯问题的建议", "临江区老旧小区加装电梯问题突出，建议加大投入。")


def _cases():
    items, leads, _ = toy_data()
    return [CaseRecord(row=i + 2, case_no=f"C{i:03d}", year=2024, title=t, body=b, lead=lead, lead_id=lead)
            for i, ((t, b), lead) in enumerate(zip(items, leads))]


@pytest.fixture(scope="module")
def parts():
    cases = _cases()
    index = PrecedentIndex(HashingEmbedder(64), SearchConfig())
    index.add(cases)
    model = RoutingModel(RoutingParams()).fit_cases(cases)
    labels = np.searchsorted(model.classes_, [c.lead_id for c in cases])
    cert = Certificate(True, 0.31, 0.9, 0.97, 0.95, 0.95, 0.05, len(cases), 59)
    model.knn_ = KnnBlend(index.vectors.copy(), labels, 5, 0.5, cert, index_vector_spec(index))
    return model, index


def service(model, index):
    return RoutingService(Bundle(path=Path("v"), meta={"version": "v"}, model=model, registry=None), index=index)


def test_with_matching_vectors_the_blend_and_its_threshold_serve(parts):
    model, index = parts
    svc = service(model, index)
    assert svc.blends
    item = svc.route_one(*ITEM)
    assert item.lead[0].unit.id == "zjj"
    assert item.review.threshold == 0.31
    assert "最相似的 5 件往年案件中约" in item.lead[0].reason and "由该单位主办" in item.lead[0].reason
    text_p = model.predict_proba([ITEM])[0]
    votes = model.knn_.votes(index.embed_items([ITEM]), len(model.classes_))[0]
    expect = 0.5 * text_p + 0.5 * votes
    assert item.lead[0].probability == pytest.approx(expect.max())
    # without precedents the item is still encoded for the vote
    quiet = svc.route([ITEM], precedents=False)
    assert quiet.items[0].review.threshold == 0.31 and not quiet.items[0].precedents
    assert quiet.vectors is None


def test_vectors_of_another_kind_or_none_at_all_fall_back_to_the_text_model(parts, monkeypatch):
    model, index = parts
    other = PrecedentIndex(HashingEmbedder(64), replace(SearchConfig(), lead_chars=120))
    other.add(_cases())
    svc = service(model, other)
    assert not svc.blends
    item = svc.route_one(*ITEM)
    assert item.review.threshold == pytest.approx(model.certificate_.threshold)
    assert "往年案件中约" not in item.lead[0].reason
    assert item.lead[0].probability == pytest.approx(model.predict_proba([ITEM])[0].max())

    broken = service(model, index)
    monkeypatch.setattr(index, "embed_docs", lambda docs: (_ for _ in ()).throw(RuntimeError("encoder gone")))
    item = broken.route_one(*ITEM)
    assert item.review.threshold == pytest.approx(model.certificate_.threshold)
    assert not item.precedents_available or not item.precedents
    no_index = RoutingService(Bundle(path=Path("v"), meta={"version": "v"}, model=model, registry=None))
    assert no_index.route_one(*ITEM).review.threshold == pytest.approx(model.certificate_.threshold)
