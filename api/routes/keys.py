"""API keys (admin): create (the key is shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api import auth
from api.deps import Admin, AnyKey, RegistryDep, SettingsDep, StoreDep
from api.errors import Conflict, NotFound, Unprocessable, error_responses
from api.fields import RowId
from api.role_schemas import WhoAmI
from api.schemas import KeyCreate, KeyCreated, KeysPublic

router = APIRouter(prefix="/keys", tags=["keys 密钥"], responses=error_responses(401, 403))


def _public(row: dict, registry) -> dict:
    return {**{k: row[k] for k in ("id", "name", "role", "prefix", "source", "created_at", "revoked_at")},
            "unit": registry.ref(row["unit_id"])}


@router.get("/me", response_model=WhoAmI)
def who_am_i(principal: AnyKey, registry: RegistryDep, settings: SettingsDep) -> dict:
    """The caller's role, name and unit, and what that role may do (the page shows only those views)."""
    return {"name": principal.name, "role": principal.role, "unit": registry.ref(principal.unit_id),
            "actions": sorted(a for a in auth.ACTIONS if principal.can(a)),
            "reply_categories": settings.reply_categories, "reassign_days": settings.reassign_days,
            "timezone": settings.timezone}


@router.get("", response_model=KeysPublic)
def list_keys(_: Admin, store: StoreDep, registry: RegistryDep) -> dict:
    rows = [_public(r, registry) for r in store.keys(active_only=False)]
    return {"data": rows, "count": len(rows)}


@router.post("", response_model=KeyCreated, status_code=201, responses=error_responses(400, 422))
def create_key(_: Admin, data: KeyCreate, store: StoreDep, registry: RegistryDep) -> dict:
    unit_id = None
    if data.unit:
        if data.role != "drafter":
            raise Unprocessable("字段“unit”：只有答复起草人员（drafter）的密钥可以限定单位", code="unit_not_allowed",
                                details={"field": "unit"})
        unit_id = registry.resolve(data.unit, field="unit").id
    key_id, key = auth.create_key(store, name=data.name, role=data.role, unit_id=unit_id)
    row = next(r for r in store.keys() if r["id"] == key_id)
    return {**_public(row, registry), "key": key}


@router.delete("/{key_id:int}", status_code=204, responses=error_responses(
    (404, "密钥不存在或已停用（key_not_found）"), (409, "不能停用当前正在使用的密钥（revoke_own_key）"), 422))
def revoke_key(principal: Admin, key_id: RowId, store: StoreDep) -> Response:
    if key_id == principal.key_id:
        raise Conflict("不能停用当前正在使用的密钥", code="revoke_own_key")
    if not store.revoke_keys([key_id]):
        raise NotFound(f"密钥 {key_id} 不存在或已停用", code="key_not_found")
    return Response(status_code=204)
