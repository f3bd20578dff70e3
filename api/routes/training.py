"""Training from the service (admin): start a background training or re-indexing job, follow it, and read each
version's evaluation report (the HTML page with its charts, and the same figures as JSON)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from api import session_views, sessions
from api.child_jobs import ChildJobs
from api.deps import Admin, JobsDep, ModelsDep, SessionsDep
from api.errors import Conflict, NotFound, Unprocessable, error_responses
from api.fields import RowId
from api.index_jobs import KIND as REINDEX
from api.index_jobs import NoActiveModel, ReindexJobs, ReindexRequest, UnknownVersion
from api.jobs import JobError
from api.session_schemas import JobPublic
from api.training_jobs import KIND, TrainingJobs, TrainingRequest

router = APIRouter(tags=["training 训练"], responses=error_responses(401, 403))
NO_JOB = (404, "训练任务不存在（job_not_found）")
NO_REINDEX_JOB = (404, "重建索引任务不存在（job_not_found）")
NO_REPORT = (404, "模型版本或其评估报告不存在（report_not_found）")


def get_training(request: Request) -> TrainingJobs:
    return request.app.state.training


def get_reindex(request: Request) -> ReindexJobs:
    return request.app.state.reindex


TrainingDep = Annotated[TrainingJobs, Depends(get_training)]
ReindexDep = Annotated[ReindexJobs, Depends(get_reindex)]


class TrainingCreate(BaseModel):
    promote: bool = Field(False, strict=True, description="比较结果允许时（不显著劣于在用模型、检验件数足够）自动上线")
    min_test: int = Field(100, ge=1, le=100_000, description="可比较案件少于此数时警告且不自动上线")
    tolerance: float = Field(0.005, ge=0, le=1, description="首选准确率允许的下降（显著时才拒绝）")
    why: str = Field("", max_length=500, description="上线理由，记入上线记录")
    knn_blend: bool | None = Field(
        None, strict=True, description="主办建议结合最相似往年案件的投票（交叉验证中自动交办更多且不降低宏 F1 时才"
        "采用）；不填：配置了编码器时开启；true 而未配置编码器：409")


class TrainingJobPublic(JobPublic):
    log: list[str] = Field(description="训练命令逐步打印的进度行（带时间）")
    result: dict | None = Field(description="完成后：新版本、上线判断、主要指标")


class ReindexCreate(BaseModel):
    version: str | None = Field(None, min_length=1, max_length=100,
                                description="要重建索引的模型版本（默认：在用版本）")
    promote: bool = Field(True, strict=True, description="重建的是在用版本时，完成后新版本自动上线")
    why: str = Field("", max_length=500, description="上线理由，记入上线记录")


class ReindexJobPublic(JobPublic):
    log: list[str] = Field(description="重建索引命令逐步打印的进度行（带时间）")
    result: dict | None = Field(description="完成后：新版本、原版本、索引件数、新编码件数、是否上线")


def _public(jobs: ChildJobs, kind: str, sessions_db, job_id: int) -> dict:
    job = sessions.get_job(sessions_db, job_id)
    if job["kind"] != kind:
        raise NotFound(f"任务 {job_id} 不是{jobs.what}任务", code="job_not_found", details={"job_id": job_id})
    return (session_views.job_public(job) or {}) | jobs.state(job_id)


@router.post("/training/jobs", status_code=202, response_model=TrainingJobPublic,
             responses=error_responses(
                 400, (409, "已办结案件太少（too_few_cases）；要求近邻投票而未配置编码器（no_encoder）"), 422))
def start_training(principal: Admin, body: TrainingCreate, training: TrainingDep, sessions_db: SessionsDep,
                   jobs: JobsDep) -> dict:
    """Export the closed cases, map them through the registry's lineage, train, index and compare with the model in
    service, in the background; follow it with ``GET /training/jobs/{id}`` (or ``GET /jobs/{id}``)."""
    if body.knn_blend and not training.settings.encoder:
        raise Conflict("结合相似往年案件投票需要句向量编码器：请先配置 JIAOBAN_ENCODER，或不勾选此项",
                       code="no_encoder")
    try:
        job_id = training.submit(TrainingRequest(**body.model_dump()), created_by=principal.name)
    except JobError as exc:
        raise Conflict(str(exc), code="too_few_cases") from None
    jobs.wake()
    return _public(training, KIND, sessions_db, job_id)


@router.get("/training/jobs/{job_id:int}", response_model=TrainingJobPublic, responses=error_responses(NO_JOB, 422))
def training_job(_: Admin, job_id: RowId, training: TrainingDep, sessions_db: SessionsDep) -> dict:
    """The job's progress, the lines the training printed so far, and its result when done."""
    return _public(training, KIND, sessions_db, job_id)


@router.post("/reindex/jobs", status_code=202, response_model=ReindexJobPublic,
             responses=error_responses(400, (409, "没有在用模型或没有已办结案件（no_active_model、no_closed_cases）"),
                                       (422, "模型版本不存在（unknown_version）")))
def start_reindex(principal: Admin, body: ReindexCreate, reindex: ReindexDep, sessions_db: SessionsDep,
                  jobs: JobsDep) -> dict:
    """Rebuild a version's precedent index from the store's closed cases, in the background, as ``jiaoban index``
    does: a new version (vectors of unchanged texts reused) that goes into service when the one re-indexed is in
    service; follow it with ``GET /reindex/jobs/{id}`` (or ``GET /jobs/{id}``, and cancel with its ``/cancel``)."""
    try:
        job_id = reindex.submit(ReindexRequest(**body.model_dump()), created_by=principal.name)
    except UnknownVersion as exc:
        raise Unprocessable(str(exc), code="unknown_version", details={
            "field": "version", "version": body.version, "available": reindex.models.store.versions()}) from None
    except NoActiveModel as exc:
        raise Conflict(str(exc), code="no_active_model") from None
    except JobError as exc:
        raise Conflict(str(exc), code="no_closed_cases") from None
    jobs.wake()
    return _public(reindex, REINDEX, sessions_db, job_id)


@router.get("/reindex/jobs/{job_id:int}", response_model=ReindexJobPublic,
            responses=error_responses(NO_REINDEX_JOB, 422))
def reindex_job(_: Admin, job_id: RowId, reindex: ReindexDep, sessions_db: SessionsDep) -> dict:
    """The job's progress (texts encoded of those to encode), the lines the command printed, its result when done."""
    return _public(reindex, REINDEX, sessions_db, job_id)


def _report_file(models: ModelsDep, version: str, name: str):
    if version not in models.store.versions():
        raise NotFound(f"模型版本“{version}”不存在", code="report_not_found", details={"version": version})
    path = models.store.path(version) / name
    if not path.is_file():
        raise NotFound(f"模型版本“{version}”没有评估报告 {name}（早期版本）", code="report_not_found",
                       details={"version": version})
    return path


@router.get("/models/{version}/report", response_class=FileResponse,
            responses=error_responses(NO_REPORT, 422))
async def version_report(_: Admin, version: str, models: ModelsDep) -> FileResponse:
    """The version's evaluation report as a page (Chinese, charts inline)."""
    path = await run_in_threadpool(_report_file, models, version, "report.html")
    return FileResponse(path, media_type="text/html; charset=utf-8")


@router.get("/models/{version}/report.json", response_class=FileResponse,
            responses=error_responses(NO_REPORT, 422))
async def version_report_json(_: Admin, version: str, models: ModelsDep) -> FileResponse:
    """The same figures as the report page, as JSON."""
    path = await run_in_threadpool(_report_file, models, version, "report.json")
    return FileResponse(path, media_type="application/json")
