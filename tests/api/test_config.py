"""Service settings that change how models are loaded."""

import pytest
from pydantic import ValidationError

import models.embeddings
from api.config import Settings
from models import service


def test_encoder_threads_reach_the_encoder(monkeypatch):
    seen = {}
    monkeypatch.setattr(models.embeddings, "load_embedder", lambda spec, **kw: seen.update(spec=spec, **kw) or spec)
    service.cached_embedder.cache_clear()
    try:
        service.cached_embedder("var/encoders/some-model", 1)
        assert seen == {"spec": "var/encoders/some-model", "num_threads": 1}
        seen.clear()
        service.cached_embedder("var/encoders/some-model")  # unset: torch's default (every core)
        assert seen == {"spec": "var/encoders/some-model"}
    finally:
        service.cached_embedder.cache_clear()


def test_encoder_threads_setting_is_validated(monkeypatch):
    monkeypatch.setenv("JIAOBAN_ENCODER_THREADS", "1")
    assert Settings(_env_file=None).encoder_threads == 1
    monkeypatch.setenv("JIAOBAN_ENCODER_THREADS", "0")
    with pytest.raises(ValidationError, match="encoder_threads"):
        Settings(_env_file=None)


def test_a_bundle_is_searched_with_the_encoder_its_index_was_built_with(tmp_path, monkeypatch):
    from models.bundle import Bundle

    tuned = tmp_path / "e5-ft-20261125"
    tuned.mkdir()
    asked = []
    monkeypatch.setattr(service, "cached_embedder", lambda spec, threads=None: asked.append(spec) or spec)
    monkeypatch.setattr(service, "load_search_index", lambda bundle, emb: None)

    def bundle(encoder_path):
        return Bundle(path=tmp_path, meta={"version": "v1", "search": {"encoder_path": encoder_path}}, model=None,
                      registry=None)

    service.load_index(bundle(str(tuned)), "var/encoders/base")
    service.load_index(bundle(str(tmp_path / "moved-away")), "var/encoders/base")  # gone: the configured one
    service.load_index(bundle(None), "var/encoders/base")
    assert asked == [str(tuned), "var/encoders/base", "var/encoders/base"]
