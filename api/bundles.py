"""The routing service in use: loaded at start-up, swapped as one unit when an admin promotes or rolls back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from models.bundle import Bundle, BundleError, BundleStore, load_bundle, read_meta
from models.departments import DepartmentRegistry
from models.service import RoutingService, ServiceOptions, load_index

logger = logging.getLogger(__name__)


class ModelHolder:
    """Holds the routing service of the active version; a new one is fully loaded before it replaces the old.

    Args:
        registry: today's department registry (the service names today's units), read at each swap.
        encoder: the configured sentence encoder (the one a version's index was built with wins).
        with_search: load the precedent index (tests of routing alone may skip it).
    """

    def __init__(self, models_dir: Path, *, registry: Callable[[], DepartmentRegistry | None] = lambda: None,
                 options: ServiceOptions | None = None, encoder: str | None = None,
                 encoder_threads: int | None = None, encoder_batching: bool = True, with_search: bool = True):
        self.store = BundleStore(models_dir)
        self.service: RoutingService | None = None
        self.error: str | None = None
        self._registry = registry
        self._options = options or ServiceOptions()
        self._encoder, self._threads, self._with_search = encoder, encoder_threads, with_search
        self._batching = encoder_batching
        # Held while the version served changes and the change is recorded (re-entrant: api.model_sync holds it
        # around a whole check, so a check never acts on a record read before a promotion here finished).
        self._lock = threading.RLock()
        # Told of every switch made here, (version, action, by, why): api.model_sync records it for the replicas.
        self.on_switch: Callable[[str, str, str, str], None] | None = None

    @property
    def bundle(self) -> Bundle | None:
        return self.service.bundle if self.service else None

    @property
    def search_error(self) -> str | None:
        return self.service.search_error if self.service else "尚无在用模型"

    def current(self) -> RoutingService | None:
        """The service, presented with today's registry (rebuilt cheaply when the registry has changed)."""
        service, registry = self.service, self._registry()
        if service is not None and registry is not None and service.registry is not registry:
            rebuilt = service.with_registry(registry)
            if self.service is service:  # not a version swapped in meanwhile (a promotion elsewhere, followed)
                self.service = rebuilt
            service = rebuilt
        return service

    def _install(self, bundle: Bundle) -> None:
        index, why = (load_index(bundle, self._encoder, self._threads, batching=self._batching) if self._with_search
                      else (None, "未启用类案检索"))
        self.service = RoutingService(bundle, registry=self._registry(), index=index, search_error=why,
                                      options=self._options)
        self.error = None

    def load_active(self) -> Bundle | None:
        """Load the version named in ACTIVE; on failure keep running without a model and remember why."""
        try:
            bundle = load_bundle(self.store.active_path())
        except BundleError as exc:
            self.error = str(exc)
            logger.warning("no model loaded: %s", exc)
            return None
        with self._lock:
            self._install(bundle)
        logger.info("model %s loaded", bundle.version)
        return bundle

    def promote(self, version: str, *, by: str = "", why: str = "") -> Bundle:
        with self._lock:
            bundle = load_bundle(self.store.path(version))  # refuses a broken bundle before anything changes
            self.store.promote(version, by=by, why=why)
            self._install(bundle)
            if self.on_switch:
                self.on_switch(version, "promote", by, why)
        logger.info("model %s promoted and loaded", version)
        return bundle

    def follow(self, version: str) -> Bundle:
        """Serve ``version``, promoted elsewhere (another replica, the CLI): loaded in full, then swapped in, so
        requests in flight finish on the old one and none fails. ACTIVE is left as it is."""
        with self._lock:
            bundle = load_bundle(self.store.path(version))
            self._install(bundle)
        logger.info("model %s loaded (promoted elsewhere)", version)
        return bundle

    def rollback(self, *, by: str = "", why: str = "") -> Bundle:
        with self._lock:
            current = self.store.active()
            version = self.store.rollback(by=by, why=why)
            try:
                bundle = load_bundle(self.store.path(version))
            except BundleError:
                if current:
                    self.store.promote(current, reason="rollback-undone")
                raise
            self._install(bundle)
            if self.on_switch:
                self.on_switch(version, "rollback", by, why)
        logger.info("rolled back to model %s", version)
        return bundle

    @property
    def switch_lock(self) -> threading.RLock:
        """The lock a switch of the served version holds, with its record (see ``__init__``)."""
        return self._lock

    def versions(self) -> list[dict]:
        active = self.store.active()
        out = []
        for v in self.store.versions():
            try:
                meta = read_meta(self.store.path(v))
            except BundleError:
                continue
            out.append({
                "version": v,
                "active": v == active,
                "created_at": meta.get("created_at"),
                "rows": (meta.get("data") or {}).get("rows"),
                "metrics": (meta.get("metrics") or {}).get("metrics", {}),
            })
        return out
