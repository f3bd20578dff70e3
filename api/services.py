"""What the service and a worker process hold, built once per process from the settings."""

from __future__ import annotations

from api.bundles import ModelHolder
from api.config import Settings
from api.index_jobs import KIND as REINDEX_JOB
from api.index_jobs import ReindexJobs
from api.jobs import JobRunner
from api.model_sync import ModelSync
from api.queue_pg import PgQueue, ensure_schema
from api.registry import RegistryHolder
from api.sessions_db import SessionStore
from api.store import Store
from api.training_jobs import KIND as TRAINING_JOB
from api.training_jobs import TrainingJobs
from models import clock


class Services:
    """What the service and a worker process hold: the store, the registry, the model (kept the one the store
    names, ``api.model_sync``), sessions, the training and re-indexing jobs and the job runner. ``open`` loads
    them; ``close`` stops the threads."""

    def __init__(self, settings: Settings):
        self.settings = settings
        clock.set_zone(settings.timezone)  # "today" for deadlines is the office's day, not the server's
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
        self.reindex = ReindexJobs(store, self.sessions, self.models, registry, settings)
        runner = JobRunner(self.sessions, self.models.current, handlers=self.handlers())
        self.jobs: JobRunner | PgQueue = runner
        if store.dialect == "postgresql":  # procrastinate queues the jobs (api.queue_pg); SQLite: the runner's thread
            ensure_schema(str(store.db.target))
            self.jobs = queue = PgQueue(runner, str(store.db.target))
            self.sessions.on_job_created = queue.defer
        return self

    def handlers(self) -> dict:
        """The job kinds run by a handler of their own (sheet routing is the runner's)."""
        return {TRAINING_JOB: self.training.run, REINDEX_JOB: self.reindex.run}

    def close(self) -> None:
        self.jobs.close() if isinstance(self.jobs, PgQueue) else self.jobs.stop()
        self.model_sync.stop()
        self.store.close()
