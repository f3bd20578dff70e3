"""API test fixtures: a tiny bundle (with a hashing-encoder precedent index) trained once per session, a temporary
store per test, one key per role, the service on a loopback port, and the browser tests' fixtures
(tests/api/browser.py)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from api.main import create_app
from api.store import Store
from models.bundle import META_FILE, BundleStore
from models.departments import DepartmentRegistry
from models.embeddings import HashingEmbedder
from tests import servers
from tests.api.browser import browser, new_page, shots  # noqa: F401  (fixtures for every API test)
from tests.api.fakedata import closed_rows, write_csv
from tests.conftest import MINI_REGISTRY
from training.dataset import load_training_set
from training.train import build_search_index, train

KEYS = {"admin": "admin-key-0001", "assigner": "assigner-key-01", "drafter": "drafter-key-001"}
API_KEYS = ",".join(f"{role}:{key}" for role, key in KEYS.items())
H = {role: {"X-API-Key": key} for role, key in KEYS.items()}


@pytest.fixture(scope="session")
def models_root(tmp_path_factory) -> Path:
    """A models directory with two versions: the trained one (active, with a precedent index built with the
    ``hashing`` encoder) and a renamed copy of it without an index."""
    work = tmp_path_factory.mktemp("trained")
    registry = DepartmentRegistry.from_dict(MINI_REGISTRY)
    ts = load_training_set(write_csv(closed_rows(), work / "closed.csv"), registry)
    store = BundleStore(work / "models")
    result = train(ts, registry, store=store, promote=True)
    copy = result.path.with_name(result.path.name + "-copy")
    shutil.copytree(result.path, copy)
    meta = json.loads((copy / META_FILE).read_text(encoding="utf-8"))
    meta["version"] = copy.name
    (copy / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    build_search_index(result.path, ts.cases, registry, HashingEmbedder(256))
    return store.root


def make_settings(tmp_path: Path, models_dir: Path | None, **overrides) -> Settings:
    deps = tmp_path / "departments.json"
    if not deps.exists():
        deps.write_text(json.dumps(MINI_REGISTRY, ensure_ascii=False), encoding="utf-8")
    values = dict(env="development", data_dir=tmp_path / "data", database=tmp_path / "data" / "jiaoban.db",
                  models_dir=models_dir or tmp_path / "no-models", departments=deps,
                  api_keys=API_KEYS, encoder="hashing")
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL server for the session (skips the PostgreSQL tests, saying why, when none starts)."""
    cluster = servers.Cluster()
    try:
        cluster.start()
    except servers.Unavailable as exc:
        cluster.stop()
        pytest.skip(f"PostgreSQL tests skipped: no server could start here ({exc})")
    yield cluster
    cluster.stop()


@pytest.fixture()
def pg_client(tmp_path, models_dir, pg_cluster):
    """A client of a service on the test PostgreSQL server (its jobs go through procrastinate), and its URL."""
    url = pg_cluster.database()
    with TestClient(create_app(make_settings(tmp_path, models_dir, database_url=url))) as c:
        yield c, url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path) -> str | Path:
    """The store on each back end: a SQLite file, and a fresh database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / "db" / "j.db"
    return request.getfixturevalue("pg_cluster").database()


@pytest.fixture()
def store(store_target):
    """An opened store on each back end."""
    s = Store(store_target)
    s.open()
    yield s
    s.close()


# JIAOBAN_TEST_BACKEND=postgresql runs every API test on PostgreSQL (make test-postgres); by default they use SQLite
# and only the store suites (``store_target``) run on both.
ON_POSTGRES = os.environ.get("JIAOBAN_TEST_BACKEND") == "postgresql"
# For tests that open the SQLite file themselves (to look at raw bytes, back it up, or count with their own SQL).
sqlite_file = pytest.mark.skipif(ON_POSTGRES, reason="reads the SQLite store file itself")


@pytest.fixture()
def models_dir(tmp_path, models_root) -> Path:
    """A private copy of the trained versions, so promote/rollback in one test cannot affect another."""
    return Path(shutil.copytree(models_root, tmp_path / "models"))


@pytest.fixture()
def settings(request, tmp_path, models_dir) -> Settings:
    if ON_POSTGRES:
        return make_settings(tmp_path, models_dir, database_url=request.getfixturevalue("pg_cluster").database())
    return make_settings(tmp_path, models_dir)


@pytest.fixture()
def app(settings):
    return create_app(settings)


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture()
def closed_csv(tmp_path) -> Path:
    return write_csv(closed_rows(n_per_dept=4), tmp_path / "closed_small.csv")


@pytest.fixture()
def served(tmp_path, models_dir):
    """The service on a free loopback port (for a real browser, or real concurrent clients); yields its base URL."""
    import uvicorn

    port = servers.free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(make_settings(tmp_path, models_dir)), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "the service did not start on loopback"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
