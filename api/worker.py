"""``python -m api.worker``: a background worker process that runs the queued jobs (sheet routing,
training, re-indexing) beside service replicas started with ``JIAOBAN_JOBS_IN_PROCESS=false``.

It reads the same settings as the service (``JIAOBAN_*``, ``.env``), serves the model version the store names as
the replicas do, and runs jobs one at a time: on PostgreSQL a procrastinate worker (``api.queue_pg``: woken by
LISTEN/NOTIFY, any number of workers share one queue, a dead worker's job is retried), on SQLite the in-process
runner's thread. SIGTERM or Ctrl-C stops it between chunks; an interrupted job resumes in the next worker.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from pydantic import ValidationError

from api.config import get_settings, settings_error_message
from api.services import Services

logger = logging.getLogger("api.worker")


def main() -> None:
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"[jiaoban] {settings_error_message(exc)}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("api", "models", "nlp"):
        logging.getLogger(name).setLevel(settings.log_level)
    services = Services(settings).open()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    services.jobs.start()
    logger.info("worker %s ready (store=%s, model=%s)", services.jobs.name, services.store.db.describe(),
                getattr(services.models.bundle, "version", None))
    stop.wait()
    logger.info("worker stopping")
    services.close()


if __name__ == "__main__":
    main()
