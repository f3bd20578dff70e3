"""The model bundle in service: loaded at start-up, swapped in place when an admin promotes or rolls back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from models.bundle import Bundle, BundleError, BundleStore, load_bundle, read_meta

logger = logging.getLogger(__name__)


SearcherLoader = Callable[[Bundle], "tuple[object | None, str | None]"]


class ModelHolder:
    """Holds the active bundle and its precedent searcher; a new bundle is fully loaded before it replaces the old.

    Args:
        load_searcher: bundle -> (searcher or None, reason when None); the search index lives in the bundle.
    """

    def __init__(self, models_dir: Path, load_searcher: SearcherLoader | None = None):
        self.store = BundleStore(models_dir)
        self.bundle: Bundle | None = None
        self.error: str | None = None
        self.searcher = None
        self.search_error: str | None = "no model loaded"
        self._load_searcher = load_searcher
        self._lock = threading.Lock()

    def _install(self, bundle: Bundle) -> None:
        searcher, why = self._load_searcher(bundle) if self._load_searcher else (None, "precedent search disabled")
        self.bundle, self.error, self.searcher, self.search_error = bundle, None, searcher, why

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

    def promote(self, version: str) -> Bundle:
        with self._lock:
            bundle = load_bundle(self.store.path(version))  # refuses a broken bundle before anything changes
            self.store.promote(version)
            self._install(bundle)
        logger.info("model %s promoted and loaded", version)
        return bundle

    def rollback(self) -> Bundle:
        with self._lock:
            current = self.store.active()
            version = self.store.rollback()
            try:
                bundle = load_bundle(self.store.path(version))
            except BundleError:
                if current:
                    self.store.promote(current, reason="rollback-undone")
                raise
            self._install(bundle)
        logger.info("rolled back to model %s", version)
        return bundle

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
