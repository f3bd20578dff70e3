"""The web service: ``uvicorn api.main:app``. Heavy things (store, registry, model, search index) load in the lifespan.

Configuration comes from ``JIAOBAN_*`` environment variables or ``.env`` (see ``.env.example`` and docs/api.md).
"""

from __future__ import annotations

import logging
import re
import sys
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError

from api import auth, errors
from api.config import Settings, get_settings, settings_error_message
from api.routes import (
    aids,
    bundles,
    cases,
    departments,
    health,
    jobs,
    keys,
    ledger,
    reassignments,
    reminders,
    reports,
    routing,
    search,
    sessions,
    training,
)
from api.services import Services

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"
DOCS_ASSETS = "/static-offline-docs"


class _DropQueryString(logging.Filter):
    """Access-log lines keep the path but not the query string, which may carry a title being searched."""

    _QUERY = re.compile(r"\?[^ \"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._QUERY.sub("?…", a) if isinstance(a, str) else a for a in record.args)
        return True


def configure_logging(level: str) -> None:
    """Our packages log at ``level``; libraries only their warnings."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("api", "models", "nlp"):
        logging.getLogger(name).setLevel(level)
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _DropQueryString) for f in access.filters):
        access.addFilter(_DropQueryString())


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings: Settings = app.state.settings
    configure_logging(settings.log_level)
    services = await run_in_threadpool(Services(settings).open)
    for name in ("store", "registry", "models", "sessions", "training", "reindex", "jobs"):
        setattr(app.state, name, getattr(services, name))
    dev_key = await run_in_threadpool(auth.provision_keys, services.store, settings)
    if dev_key:
        auth.announce_dev_key(dev_key)
    if settings.jobs_in_process:
        await run_in_threadpool(services.jobs.start)
    logger.info("service ready (env=%s, store=%s, model=%s, search=%s, jobs=%s)", settings.env,
                services.store.db.describe(), getattr(services.models.bundle, "version", None),
                services.models.search_error is None, "in process" if settings.jobs_in_process else "workers")
    yield
    await run_in_threadpool(services.close)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings; they also replace ``get_settings`` for the routes."""
    settings = settings or get_settings()
    # /docs and /redoc load Swagger UI and ReDoc from the service (DOCS_ASSETS), not a CDN: intranets have none.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="交办助手 Jiaoban API",
        version="1",
        description="人大建议、政协提案交办辅助：主办单位建议、案件台账、答复登记、类案检索。",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.dependency_overrides[get_settings] = lambda: settings
    errors.install(app)
    for module in (health, routing, sessions, jobs, cases, reassignments, reminders, ledger, reports, departments,
                   bundles, keys, search, training, aids):
        app.include_router(module.router, prefix=API_PREFIX)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    return app


def app_from_environment() -> FastAPI:
    """The app ``uvicorn api.main:app`` serves, from the environment. An invalid ``JIAOBAN_*`` setting (production
    without keys among them) ends the process with one line naming the variable, not a traceback."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"[jiaoban] {settings_error_message(exc)}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    return create_app(settings)


app = app_from_environment()
