import json
import shutil

import numpy as np
import pytest

from models.bundle import (
    BundleError,
    BundleStore,
    attach_search_index,
    load_bundle,
    load_search_index,
    save_bundle,
    verify_bundle,
)
from models.classifier import RoutingModel, RoutingParams
from models.embeddings import HashingEmbedder
from models.records import CaseRecord
from models.search import PrecedentIndex
from tests.models.test_classifier import toy_data

QUERY = [("关于学前教育学位紧张的建议", "西山区幼儿园学位不足。"), ("关于农村公路养护的建议", "青石县农村公路破损。")]


@pytest.fixture(scope="module")
def model():
    items, leads, co = toy_data()
    return RoutingModel(RoutingParams()).fit(items, leads, co)


def make_bundle(path, model, mini=None):
    return save_bundle(path, model=model, registry=mini, data={"rows": 48, "sha256": "x"},
                       params=model.params.to_dict(), metrics={"top1": 1.0}, user_words=["白鹭洲社区"])


def test_save_load_same_predictions(tmp_path, model, mini_registry):
    path = make_bundle(tmp_path / "v1", model, mini_registry)
    meta = json.loads((path / "meta.json").read_text())
    assert meta["format_version"] == 2 and meta["data"]["rows"] == 48
    assert {"routing.joblib", "departments.json"} <= set(meta["files"])
    assert "scikit-learn" in meta["libraries"]
    b = load_bundle(path)
    np.testing.assert_allclose(b.model.predict_proba(QUERY), model.predict_proba(QUERY))
    assert b.registry.resolve("乡村振兴局").id == "nync"
    assert b.label_name("zjj") == "江州市住房和城乡建设局"


def test_tampered_bundle_is_refused(tmp_path, model):
    path = make_bundle(tmp_path / "v1", model)
    with open(path / "routing.joblib", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(BundleError, match="routing.joblib 校验和不符"):
        load_bundle(path)


def test_unlisted_file_and_missing_file_are_refused(tmp_path, model):
    path = make_bundle(tmp_path / "v1", model)
    (path / "evil.joblib").write_bytes(b"x")
    with pytest.raises(BundleError, match="未登记的文件（evil.joblib）"):
        verify_bundle(path)
    (path / "evil.joblib").unlink()
    (path / "routing.joblib").unlink()
    with pytest.raises(BundleError, match="缺少文件 routing.joblib"):
        verify_bundle(path)


def test_library_and_format_mismatch_are_refused(tmp_path, model):
    path = make_bundle(tmp_path / "v1", model)
    meta = json.loads((path / "meta.json").read_text())
    meta["libraries"]["scikit-learn"] = "0.24.2"
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="scikit-learn 0.24.2.*重新训练"):
        load_bundle(path)
    meta["format_version"] = 99
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="格式版本为 99"):
        load_bundle(path)
    with pytest.raises(BundleError, match="不是模型目录"):
        load_bundle(tmp_path)


def test_search_index_attached_and_signed(tmp_path, model):
    path = make_bundle(tmp_path / "v1", model)
    idx = PrecedentIndex(HashingEmbedder(64))
    idx.add([CaseRecord(row=2, case_no="A1", title="关于公交线路的建议", body="增开公交。", lead="jtj")])
    meta = attach_search_index(path, idx)
    assert meta["search"]["size"] == 1 and meta["search"]["index_kind"] == "flat"
    assert "search/vectors.faiss" in meta["files"]
    b = load_bundle(path)
    assert load_search_index(b, HashingEmbedder(64)).search("公交")[0]["case_no"] == "A1"
    (path / "search" / "cases.jsonl").write_text("{}\n")
    with pytest.raises(BundleError, match="search/cases.jsonl 校验和不符"):
        load_bundle(path)


def test_store_promote_and_rollback(tmp_path, model):
    store = BundleStore(tmp_path)
    assert store.active() is None
    with pytest.raises(BundleError, match="没有在用模型"):
        store.active_path()
    a = make_bundle(store.new_version_path("a"), model)
    b = make_bundle(store.new_version_path("b"), model)
    store.promote(a.name)
    store.promote(b.name)
    assert store.active() == b.name and store.versions() == sorted([a.name, b.name])
    assert store.rollback() == a.name
    assert store.active() == a.name
    assert [h["action"] for h in store.history()] == ["promote", "promote", "rollback"]
    with pytest.raises(BundleError, match="没有模型版本“nope”"):
        store.promote("nope")


def test_a_full_disk_leaves_no_half_written_version(tmp_path, model, mini_registry, monkeypatch):
    """Root ignores file permissions here, so the full or read-only disk is simulated by the OSError it raises."""
    import errno

    import joblib

    from models.bundle import BundleError, BundleStore

    store = BundleStore(tmp_path / "models")
    good = make_bundle(store.new_version_path("ok"), model, mini_registry)
    store.promote(good.name)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(joblib, "dump", full)
    target = store.new_version_path("full")
    with pytest.raises(BundleError, match="无法写入模型目录.*磁盘空间"):
        make_bundle(target, model, mini_registry)
    assert store.versions() == [good.name] and store.active() == good.name
    assert not target.exists() and not list(store.versions_dir.glob("*.partial"))


def test_a_read_only_models_directory_keeps_the_active_version(tmp_path, model, mini_registry, monkeypatch):
    import errno
    from pathlib import Path

    from models.bundle import BundleError, BundleStore

    store = BundleStore(tmp_path / "models")
    a = make_bundle(store.new_version_path("a"), model, mini_registry)
    b = make_bundle(store.new_version_path("b"), model, mini_registry)
    store.promote(a.name)

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "write_text", read_only)
    with pytest.raises(BundleError, match="无法写入.*ACTIVE.*在用模型未改变"):
        store.promote(b.name)
    assert store.active() == a.name


def test_a_staging_folder_left_by_a_killed_run_is_not_a_version(tmp_path, model, mini_registry):
    from models.bundle import BundleStore

    store = BundleStore(tmp_path / "models")
    v = make_bundle(store.new_version_path("v"), model, mini_registry)
    stale = v.with_name("20990101-000000.partial")
    shutil.copytree(v, stale)  # as if killed between writing the manifest and the rename
    assert store.versions() == [v.name]
