"""Model versions: the active bundle's manifest and metrics, the list of versions, promote and roll back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, CanRead, ModelsDep, ServiceDep
from api.errors import NotFound, error_responses
from api.schemas import ModelPublic, ModelVersionsPublic
from models.bundle import Bundle

router = APIRouter(prefix="/models", tags=["models 模型"], responses=error_responses(401, 403))
MODEL_ERROR = (409, "该版本无法使用或无可回退的版本（model_error）")


def model_public(bundle: Bundle) -> dict:
    manifest = {k: v for k, v in bundle.meta.items() if k != "files"}
    return {"version": bundle.version, "path": str(bundle.path), "manifest": manifest}


@router.get("/active", response_model=ModelPublic, responses=error_responses(503))
def active_model(_: CanRead, service: ServiceDep) -> dict:
    """The model in service: its manifest (training data, parameters, library versions) and its metrics."""
    return model_public(service.bundle)


@router.get("", response_model=ModelVersionsPublic)
def list_versions(_: Admin, models: ModelsDep) -> dict:
    versions = models.versions()
    return {"data": versions, "count": len(versions), "active": models.store.active(),
            "history": models.store.history()}


@router.post("/rollback", response_model=ModelPublic, responses=error_responses(MODEL_ERROR, 422))
async def rollback(principal: Admin, models: ModelsDep,
                   why: Annotated[str, Query(max_length=500, description="回退理由（记入版本历史）")] = "") -> dict:
    """Re-activate the previously active version and load it in place (no restart). Who and why are kept in the
    version history."""
    return model_public(await run_in_threadpool(lambda: models.rollback(by=principal.name, why=why.strip())))


@router.post("/{version}/promote", response_model=ModelPublic,
             responses=error_responses((404, "模型版本不存在（model_not_found）"), MODEL_ERROR, 422))
async def promote(principal: Admin, version: str, models: ModelsDep,
                  why: Annotated[str, Query(max_length=500, description="上线理由（记入版本历史）")] = "") -> dict:
    """Verify, load and activate a version; the service switches to it at once. Who and why are kept in the
    version history."""
    if version not in models.store.versions():
        raise NotFound(f"模型版本“{version}”不存在", code="model_not_found",
                       details={"version": version, "available": models.store.versions()})
    return model_public(await run_in_threadpool(lambda: models.promote(version, by=principal.name, why=why.strip())))
