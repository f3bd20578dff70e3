"""``Idempotency-Key``: a retried or double-sent request answers what the first one answered and changes nothing
twice. The key is claimed in the store before the work starts, so two copies in flight at once cannot both act."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, WithJsonSchema

from api.auth import Principal
from api.errors import Conflict
from api.sessions_db import SessionStore

KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,100}$"
# A header is text or absent, never null: the schema says so (FastAPI would offer null).
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=KEY_PATTERN,
    description="同一请求重发时使用同一个值（如 UUID）：重复的请求不会重复登记，直接返回第一次的结果"),
    WithJsonSchema({"type": "string", "pattern": KEY_PATTERN})]


def request_route(route: str, body: BaseModel) -> str:
    """What a key stands for: the route and the body sent (the same key with another body is refused)."""
    digest = hashlib.sha256(body.model_dump_json().encode("utf-8")).hexdigest()[:16]
    return f"{route} {digest}"


def once(sdb: SessionStore, key: str | None, principal: Principal, route: str, status: int,
         work: Callable[[], dict]) -> dict:
    """Run ``work`` once per (key, caller); later copies get the first answer."""
    if key is None:
        return work()
    who = f"{principal.key_id}:{principal.name}"
    try:
        seen = sdb.reserve(key, who, route)
    except ValueError as exc:
        raise Conflict(f"Idempotency-Key 已用于另一请求（{exc}），请换一个新值", code="idempotency_key_reused",
                       details={"field": "Idempotency-Key"}) from None
    if seen is not None:
        code, body = seen
        if code == 0 or body is None:
            raise Conflict("同一请求正在处理，请稍候刷新查看结果", code="request_in_progress",
                           details={"field": "Idempotency-Key"})
        return body
    try:
        result = work()
    except BaseException:
        sdb.release(key, who)
        raise
    sdb.complete(key, who, status, jsonable_encoder(result))
    return result
