"""Sessions (会次): upload a session's sheet, follow its routing job, review, decide in place, download workbooks."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import WithJsonSchema

from api import session_views, sessions, workbooks
from api.deps import CanDecide, CanRoute, JobsDep, OptionalServiceDep, RegistryDep, SessionsDep, SettingsDep, StoreDep
from api.errors import UPLOAD_ERRORS, error_responses
from api.fields import DATE_SCHEMA, KIND_SCHEMA, MAX_ID, CaseDate, Kind, RowId
from api.session_schemas import (
    AcceptedPublic,
    RegroupedPublic,
    RowsRequest,
    SessionPublic,
    SessionRowDetail,
    SessionRowsPublic,
    SessionsPublic,
    SessionUploaded,
)
from api.spreadsheets import receive_upload

router = APIRouter(prefix="/sessions", tags=["sessions 会次"], responses=error_responses(401, 403))
NO_SESSION = (404, "会次不存在（session_not_found）")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FileField = Annotated[UploadFile, File(description="会议期间收到的建议/提案表：XLSX、CSV（UTF-8/GBK）或 JSONL")]
KindField = Annotated[Kind | None, Form(description="表格未写类型时使用的类型"), WithJsonSchema(KIND_SCHEMA)]


def session_public(sdb, registry, session_id: int, counts: dict | None = None) -> dict:
    s = sessions.get_session(sdb, session_id)
    if counts is None:
        _, counts = session_views.list_rows(sdb, registry, session_id)
    uploads = sdb.uploads(session_id)
    return {**s, "counts": counts, "job": session_views.job_public(sdb.session_job(session_id)),
            "uploads": [{k: u[k] for k in ("id", "file_name", "rows_read", "added", "changed", "unchanged", "missing",
                                           "uploaded_by", "uploaded_at")} | {"errors": len(u["errors"])}
                        for u in uploads],
            "errors": uploads[-1]["errors"] if uploads else []}


def _upload(store, sdb, jobs, registry, settings, principal, file, session_id, name="", held_on=None, kind=None):
    got = receive_upload(file, max_mb=settings.max_upload_mb)
    session_id, summary = sessions.ingest(store, sdb, got.read, file_name=got.name, file_hash=got.sha256,
                                          principal=principal, session_id=session_id, name=name, held_on=held_on,
                                          kind=kind or "")
    sessions.start_routing(sdb, session_id, principal)
    jobs.wake()
    return {**session_public(sdb, registry, session_id), "upload": summary}


@router.post("", response_model=SessionUploaded, status_code=202,
             responses={**UPLOAD_ERRORS, **error_responses((409, "这份表格已上传为另一会次（same_sheet）"))})
def create_session(
    principal: CanDecide, file: FileField, store: StoreDep, sessions_db: SessionsDep, jobs: JobsDep,
    registry: RegistryDep, settings: SettingsDep,
    name: Annotated[str, Form(max_length=100, description="会次名称，如“市十七届人大四次会议”；不填用文件名")] = "",
    held_on: Annotated[CaseDate | None, Form(description="会议日期 YYYY-MM-DD"),
                       WithJsonSchema(DATE_SCHEMA)] = None,
    kind: KindField = None,
) -> dict:
    """A new session from a sheet: each readable row becomes an open case, routing runs in the background (follow
    ``job``); rows that cannot be read are listed by row number and the others go through."""
    return _upload(store, sessions_db, jobs, registry, settings, principal, file, None, name.strip(), held_on, kind)


@router.post("/{session_id:int}/upload", response_model=SessionUploaded, status_code=202,
             responses={**UPLOAD_ERRORS, **error_responses(NO_SESSION)})
def upload_again(principal: CanDecide, session_id: RowId, file: FileField, store: StoreDep, sessions_db: SessionsDep,
                 jobs: JobsDep, registry: RegistryDep, settings: SettingsDep, kind: KindField = None) -> dict:
    """The same or a corrected sheet: rows are matched by 编号 (or by their text when there is none); added rows are
    registered, changed rows updated and routed again, unchanged rows left alone; nothing is duplicated."""
    return _upload(store, sessions_db, jobs, registry, settings, principal, file, session_id, kind=kind)


@router.get("", response_model=SessionsPublic, responses=error_responses(422))
def list_sessions(_: CanRoute, sessions_db: SessionsDep,
                  offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict:
    data, count = sessions_db.list_sessions(limit=limit, offset=offset)
    return {"data": data, "count": count}


@router.get("/{session_id:int}", response_model=SessionPublic, responses=error_responses(NO_SESSION, 422))
def get_session(_: CanRoute, session_id: RowId, sessions_db: SessionsDep, registry: RegistryDep) -> dict:
    """The session, its counts, its latest job with progress, its uploads and the rows the latest could not read."""
    return session_public(sessions_db, registry, session_id)


@router.post("/{session_id:int}/route", response_model=SessionPublic, status_code=202,
             responses=error_responses(NO_SESSION, 422))
def route_rest(principal: CanDecide, session_id: RowId, sessions_db: SessionsDep, jobs: JobsDep,
               registry: RegistryDep) -> dict:
    """Route the rows not routed yet (after a cancelled or failed job); nothing happens while a job is active."""
    sessions.get_session(sessions_db, session_id)
    sessions.start_routing(sessions_db, session_id, principal)
    jobs.wake()
    return session_public(sessions_db, registry, session_id)


@router.get("/{session_id:int}/rows", response_model=SessionRowsPublic, responses=error_responses(NO_SESSION, 422))
def list_rows(
    _: CanRoute, session_id: RowId, sessions_db: SessionsDep, registry: RegistryDep,
    needs_review: bool | None = None,
    department: Annotated[str | None, Query(max_length=100,
                                            description="建议或决定的主办单位（名称、简称或 id）")] = None,
    group: Annotated[int | None, Query(ge=1, le=MAX_ID, description="并案组号")] = None,
    grouped: Annotated[bool | None, Query(description="只看（true）或不看（false）并案组中的行")] = None,
    undecided: Annotated[bool | None, Query(description="只看未交办（true）或已交办（false）")] = None,
    include_missing: Annotated[bool, Query(description="包括新表中已没有的行")] = False,
    admissibility: Annotated[bool | None, Query(
        description="只看（true）或不看（false）有受理提示（一件多事、疑似不予立案）的行")] = None,
) -> dict:
    """The review table: rows needing review first, then by confidence (least sure first)."""
    sessions.get_session(sessions_db, session_id)
    rows, counts = session_views.list_rows(sessions_db, registry, session_id, needs_review=needs_review,
                                           department=department, group=group, grouped=grouped, undecided=undecided,
                                           include_missing=include_missing, admissibility=admissibility)
    return {"data": rows, "count": len(rows), "counts": counts}


@router.get("/{session_id:int}/rows/{row_id:int}", response_model=SessionRowDetail,
            responses=error_responses(NO_SESSION, (404, "行不存在（row_not_found）"), 422))
def get_row(_: CanRoute, session_id: RowId, row_id: RowId, sessions_db: SessionsDep, store: StoreDep,
            registry: RegistryDep, service: OptionalServiceDep) -> dict:
    """One row in full: text, ranked units with reasons, precedents with replies, the repeated earlier case and its
    reply, the 并案 group and the decision history."""
    sessions.get_session(sessions_db, session_id)
    return session_views.row_detail(sessions_db, store, registry, session_id, row_id, service)


@router.post("/{session_id:int}/accept-confident", response_model=AcceptedPublic,
             responses=error_responses(NO_SESSION, 422))
def accept_confident(principal: CanDecide, session_id: RowId, store: StoreDep, sessions_db: SessionsDep,
                     registry: RegistryDep, settings: SettingsDep) -> dict:
    """Assign every undecided row that needs no review as suggested (lead and co-handlers); repeating it changes
    nothing."""
    return sessions.accept_confident(store, sessions_db, registry, session_id, principal=principal, settings=settings)


@router.post("/{session_id:int}/groups/merge", response_model=RegroupedPublic,
             responses=error_responses(NO_SESSION, 422))
def merge_group(_: CanDecide, session_id: RowId, body: RowsRequest, sessions_db: SessionsDep) -> dict:
    """Put rows in one 并案 group (the group of the first row that has one, else a new group)."""
    return sessions.regroup(sessions_db, session_id, body.rows, merge=True)


@router.post("/{session_id:int}/groups/split", response_model=RegroupedPublic,
             responses=error_responses(NO_SESSION, 422))
def split_group(_: CanDecide, session_id: RowId, body: RowsRequest, sessions_db: SessionsDep) -> dict:
    """Take rows out of their 并案 group; a group left with one row ends."""
    return sessions.regroup(sessions_db, session_id, body.rows, merge=False)


def _xlsx(content: bytes, filename: str) -> Response:
    return Response(content, media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@router.get("/{session_id:int}/export.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
                       **error_responses(NO_SESSION, 422)})
def export_session(_: CanRoute, session_id: RowId, sessions_db: SessionsDep, registry: RegistryDep) -> Response:
    """The whole session as a workbook: suggestions, decisions, 并案 groups, repeats, and the unreadable rows."""
    sessions.get_session(sessions_db, session_id)
    rows, counts = session_views.list_rows(sessions_db, registry, session_id)
    session = session_public(sessions_db, registry, session_id, counts)
    return _xlsx(workbooks.session_workbook(session, rows, session["errors"]), f"{session['name']}-交办建议.xlsx")


@router.get("/{session_id:int}/handout.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
                       **error_responses(NO_SESSION, 422)})
def export_handout(_: CanRoute, session_id: RowId, sessions_db: SessionsDep, registry: RegistryDep) -> Response:
    """交办清单: one sheet per lead department with its items, co-handlers and due dates."""
    session = sessions.get_session(sessions_db, session_id)
    rows, _counts = session_views.list_rows(sessions_db, registry, session_id)
    return _xlsx(workbooks.handout_workbook(session, rows), f"{session['name']}-交办清单.xlsx")



