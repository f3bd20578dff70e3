"""Background jobs: progress and cancel (the page polls ``GET /jobs/{id}``)."""

from __future__ import annotations

from fastapi import APIRouter

from api import session_views, sessions
from api.deps import CanDecide, CanRoute, SessionsDep
from api.errors import error_responses
from api.fields import RowId
from api.session_schemas import JobPublic

router = APIRouter(prefix="/jobs", tags=["jobs 后台任务"], responses=error_responses(401, 403))
NO_JOB = (404, "任务不存在（job_not_found）")


@router.get("/{job_id:int}", response_model=JobPublic, responses=error_responses(NO_JOB, 422))
def get_job(_: CanRoute, job_id: RowId, sessions_db: SessionsDep) -> dict:
    """A job's state, rows done of total, and the estimated seconds left."""
    return session_views.job_public(sessions.get_job(sessions_db, job_id)) or {}


@router.post("/{job_id:int}/cancel", response_model=JobPublic, responses=error_responses(NO_JOB, 422))
def cancel_job(_: CanDecide, job_id: RowId, sessions_db: SessionsDep) -> dict:
    """Stop a job after the rows in hand; the rows routed so far are kept (route the rest later)."""
    return session_views.job_public(sessions.cancel_job(sessions_db, job_id)) or {}
