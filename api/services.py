"""What the service and a worker process hold, built once per process from the settings."""

from __future__ import annotations

from api.bundles import ModelHolder
from api.config import Settings
from api.jobs import JobRunner
from api.model_sync import ModelSync
from api.registry import RegistryHolder
from api.sessions_db import SessionStore
from api.store import Store
from api.training_jobs import KIND as TRAINING_JOB
from api.training_jobs import TrainingJobs


class Services:
    """What the service and a worker process hold: the store, the registry, the model (kept the one the store
    names, ``api.model_sync``), sessions and the job runner. ``open`` loads them; ``close`` stops the threads."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = Store(settings.store_target)

    def open(self) -> Services:
        settings, store = self.settings, self.store
        store.open()
        self.registry = registry = RegistryHolder.load(store, settings.departments)
        self.models = ModelHolder(settings.models_dir, registry=lambda: registry.registry,
                                  options=settings.service_options(), encoder=settings.encoder,
                                  encoder_threads=settings.encoder_threads, encoder_batching=settings.encoder_batching)
        self.models.load_active()
        self.model_sync = ModelSync(self.models, store, poll_s=settings.model_poll_s)
        self.model_sync.start()
        self.sessions = SessionStore(store)
        self.training = TrainingJobs(store, self.sessions, self.models, registry, settings)
        self.jobs = JobRunner(self.sessions, self.models.current, handlers={TRAINING_JOB: self.training.run})
        return self

    def close(self) -> None:
        self.jobs.stop()
        self.model_sync.stop()
        self.store.close()
