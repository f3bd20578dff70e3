"""Every replica serves the model version the store names: a promotion or rollback made on one replica (or by the
CLI, which writes ACTIVE on the shared models path) is recorded in ``model_promotions``, and each replica polls it
and loads the version it names in the background, swapping it in only once loaded (``ModelHolder.follow``).
"""

from __future__ import annotations

import logging
import threading

from api.bundles import ModelHolder
from api.store import Store
from models.bundle import BundleError

logger = logging.getLogger(__name__)


class ModelSync:
    """Polls the store every ``poll_s`` seconds (``start``/``stop``); ``check`` does one round."""

    def __init__(self, models: ModelHolder, store: Store, *, poll_s: float = 5.0):
        self.models, self.store, self.poll_s = models, store, poll_s
        self._seen_file = models.store.active()
        self._failed: str | None = None  # a version that would not load: not tried again until the store changes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        models.on_switch = self._record

    def _record(self, version: str, action: str, by: str, why: str) -> None:
        self._seen_file = self.models.store.active()
        self.store.record_promotion(version, action=action, by=by, why=why)

    def check(self) -> str | None:
        """Load the version the store names if this process serves another. Returns the version switched to."""
        with self.models.switch_lock:  # a promotion here is either all before this check or all after it
            return self._check()

    def _check(self) -> str | None:
        wanted = self.store.active_model()
        on_file = self.models.store.active()
        if on_file != self._seen_file:  # ACTIVE changed under us: `jiaoban promote` on the shared models path
            self._seen_file = on_file
            if on_file and on_file != wanted:
                self.store.record_promotion(on_file, action="promote", by="ACTIVE", why="模型目录的 ACTIVE 已更改")
                wanted = on_file
        serving = self.models.bundle.version if self.models.bundle else None
        if wanted is None:
            if serving is not None:  # the first start over this store: what it serves becomes the record
                self.store.record_promotion(serving, action="start", by="", why="")
            return None
        if wanted == serving or wanted == self._failed:
            return None
        try:
            self.models.follow(wanted)
        except BundleError as exc:
            self._failed = wanted
            logger.warning("model %s named by the store could not be loaded: %s", wanted, exc)
            return None
        self._failed = None
        return wanted

    def start(self) -> None:
        self._safe_check()
        if self.poll_s > 0:
            self._thread = threading.Thread(target=self._loop, name="jiaoban-model-sync", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _safe_check(self) -> None:
        try:
            self.check()
        except Exception:  # the store may be briefly unreachable; the next round tries again
            logger.exception("could not check the store for a promoted model")

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            self._safe_check()
