"""Liveness and readiness probes (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import ModelsDep, OptionalServiceDep, StoreDep
from api.errors import Unavailable, error_responses
from api.schemas import Health

router = APIRouter(prefix="/health", tags=["health 健康检查"])


@router.get("/live", response_model=Health)
def live() -> dict:
    """The process answers."""
    return {"status": "ok"}


@router.get("/ready", response_model=Health,
            responses=error_responses((503, "未就绪：模型未加载或数据库不可用（not_ready，details 为各项检查）")))
async def ready(store: StoreDep, models: ModelsDep, service: OptionalServiceDep) -> dict:
    """Ready to serve: a model is loaded and the case store answers."""
    checks = {
        "store": await run_in_threadpool(store.ping),
        "model_loaded": service is not None,
        "model_version": service.version if service else None,
        "search_available": bool(service and service.has_search),
        "search_note": None if service and service.has_search else models.search_error,
    }
    if not (checks["store"] and checks["model_loaded"]):
        reason = "数据库不可用" if not checks["store"] else "尚无在用模型"
        raise Unavailable(f"服务未就绪：{reason}", code="not_ready", details=checks)
    return {"status": "ready", "checks": checks}
