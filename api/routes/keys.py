"""API keys (admin): create (the key is shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api import auth
from api.deps import Admin, StoreDep
from api.errors import Conflict, NotFound, error_responses
from api.fields import RowId
from api.schemas import KeyCreate, KeyCreated, KeysPublic

router = APIRouter(prefix="/keys", tags=["keys 密钥"], responses=error_responses(401, 403))


def _public(row: dict) -> dict:
    return {k: row[k] for k in ("id", "name", "role", "prefix", "source", "created_at", "revoked_at")}


@router.get("", response_model=KeysPublic)
def list_keys(_: Admin, store: StoreDep) -> dict:
    rows = [_public(r) for r in store.keys(active_only=False)]
    return {"data": rows, "count": len(rows)}


@router.post("", response_model=KeyCreated, status_code=201, responses=error_responses(400, 422))
def create_key(_: Admin, data: KeyCreate, store: StoreDep) -> dict:
    key_id, key = auth.create_key(store, name=data.name, role=data.role)
    row = next(r for r in store.keys() if r["id"] == key_id)
    return {**_public(row), "key": key}


@router.delete("/{key_id:int}", status_code=204, responses=error_responses(
    (404, "密钥不存在或已停用（key_not_found）"), (409, "不能停用当前正在使用的密钥（revoke_own_key）"), 422))
def revoke_key(principal: Admin, key_id: RowId, store: StoreDep) -> Response:
    if key_id == principal.key_id:
        raise Conflict("不能停用当前正在使用的密钥", code="revoke_own_key")
    if not store.revoke_keys([key_id]):
        raise NotFound(f"密钥 {key_id} 不存在或已停用", code="key_not_found")
    return Response(status_code=204)
