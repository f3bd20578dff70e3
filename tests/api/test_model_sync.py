"""Replicas follow the model the store names: a promotion or rollback on one replica, or `jiaoban promote` writing
ACTIVE on the shared models path, reaches the others at their next check (on both back ends)."""

from __future__ import annotations

import pytest

from api.bundles import ModelHolder
from api.model_sync import ModelSync
from api.store import Store
from models.bundle import BundleStore


@pytest.fixture()
def replicas(store_target, models_dir):
    """Two replicas' model holders and syncs over one store and one models directory."""
    store = Store(store_target)
    store.open()
    out = []
    for _ in range(2):
        holder = ModelHolder(models_dir, with_search=False)
        holder.load_active()
        sync = ModelSync(holder, store, poll_s=0)
        sync.start()
        out.append((holder, sync))
    yield store, out
    store.close()


def _serving(holder: ModelHolder) -> str:
    return holder.bundle.version


def test_a_promotion_and_a_rollback_on_one_replica_reach_the_other(replicas, models_dir):
    store, [(a, sync_a), (b, sync_b)] = replicas
    first = _serving(a)
    other = next(v for v in BundleStore(models_dir).versions() if v != first)
    assert store.active_model() == first  # the first start recorded what it serves
    a.promote(other, by="管理员", why="更好")
    assert (_serving(a), _serving(b)) == (other, first)
    assert sync_b.check() == other and _serving(b) == other
    assert sync_b.check() is None  # nothing more to do
    a.rollback()
    assert sync_b.check() == first and _serving(b) == first
    assert sync_a.check() is None


def test_a_cli_promotion_on_the_shared_path_is_recorded_and_followed(replicas, models_dir):
    store, [(a, sync_a), (b, sync_b)] = replicas
    first = _serving(a)
    other = next(v for v in BundleStore(models_dir).versions() if v != first)
    BundleStore(models_dir).promote(other, by="cli")  # `jiaoban promote`: writes ACTIVE only
    assert sync_a.check() == other and store.active_model() == other
    assert sync_b.check() == other


def test_a_version_that_will_not_load_is_left_and_the_old_one_kept(replicas):
    store, [(a, sync_a), _] = replicas
    first = _serving(a)
    store.record_promotion("no-such-version", action="promote")
    assert sync_a.check() is None and _serving(a) == first
    assert sync_a.check() is None  # not retried every round


def test_a_check_never_undoes_a_promotion_made_while_it_ran(replicas, models_dir, monkeypatch):
    """The race the re-index browser test once lost: a check read the store's record, a promotion on this replica
    then finished and recorded itself, and the check went on to 'follow' the stale record back to the old version."""
    import threading

    store, [(a, sync_a), _] = replicas
    first = _serving(a)
    other = next(v for v in BundleStore(models_dir).versions() if v != first)
    read = store.active_model
    promoting = threading.Thread(target=a.promote, args=(other,))

    def read_then_promote():
        record = read()
        promoting.start()
        promoting.join(2)  # without the switch lock the promotion finishes here, behind the check's back
        return record

    monkeypatch.setattr(store, "active_model", read_then_promote)
    sync_a.check()
    monkeypatch.setattr(store, "active_model", read)
    promoting.join(30)
    assert _serving(a) == other and store.active_model() == other
    assert sync_a.check() is None and _serving(a) == other
