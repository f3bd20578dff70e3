"""Dependencies shared by the routes: settings, store, registry, model, precedent searcher, and the caller's role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api import auth
from api.bundles import ModelHolder
from api.config import Settings, get_settings
from api.errors import Forbidden, Unauthorized, Unavailable
from api.jobs import JobRunner
from api.queue_pg import PgQueue
from api.registry import RegistryHolder
from api.sessions_db import SessionStore
from api.store import Store
from models.service import RoutingService


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_registry(request: Request) -> RegistryHolder:
    return request.app.state.registry


def get_models(request: Request) -> ModelHolder:
    return request.app.state.models


def get_sessions(request: Request) -> SessionStore:
    return request.app.state.sessions


def get_jobs(request: Request) -> JobRunner | PgQueue:
    return request.app.state.jobs


def get_optional_service(request: Request) -> RoutingService | None:
    return request.app.state.models.current()


def get_service(service: Annotated[RoutingService | None, Depends(get_optional_service)],
                request: Request) -> RoutingService:
    if service is None:
        raise Unavailable(
            "尚无在用的交办模型：请先用 `jiaoban train 已办结案件.csv --promote` 训练，或在模型管理中上线一个版本",
            code="model_unavailable",
            details={"reason": request.app.state.models.error},
        )
    return service


def require_search(service: Annotated[RoutingService, Depends(get_service)]) -> RoutingService:
    if not service.has_search:
        raise Unavailable("类案检索尚未启用：尚未建立历史案件索引，请联系管理员", code="search_unavailable",
                          details={"reason": service.search_error})
    return service


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
RegistryDep = Annotated[RegistryHolder, Depends(get_registry)]
ModelsDep = Annotated[ModelHolder, Depends(get_models)]
SessionsDep = Annotated[SessionStore, Depends(get_sessions)]
JobsDep = Annotated[JobRunner | PgQueue, Depends(get_jobs)]
ServiceDep = Annotated[RoutingService, Depends(get_service)]
OptionalServiceDep = Annotated[RoutingService | None, Depends(get_optional_service)]
SearchServiceDep = Annotated[RoutingService, Depends(require_search)]

_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API 密钥")
_bearer = HTTPBearer(auto_error=False, description="API 密钥（Authorization: Bearer <key>）")


def get_principal(
    store: StoreDep,
    key: Annotated[str | None, Security(_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> auth.Principal:
    presented = key or (bearer.credentials if bearer else None)
    if not presented:
        raise Unauthorized("缺少 API 密钥：请在请求头 X-API-Key 中提供", code="missing_api_key")
    principal = auth.verify(store, presented)
    if principal is None:
        raise Unauthorized("API 密钥无效或已停用", code="invalid_api_key")
    return principal


PrincipalDep = Annotated[auth.Principal, Depends(get_principal)]

_ROLE_NAMES = {"admin": "管理员", "assigner": "交办人员", "drafter": "答复起草人员", "supervisor": "督查人员"}


_ACTIONS: dict[object, str] = {}  # each check made by allowed() -> its action


def action_of(dependency: object) -> str | None:
    """The action an ``allowed(action)`` dependency checks, or None for any other dependency."""
    return _ACTIONS.get(dependency)


def allowed(action: str) -> Callable[..., auth.Principal]:
    """A dependency that lets through only callers whose role may perform ``action`` (remembered for
    ``api.security_table``, which lists who may call each endpoint)."""

    def check(principal: PrincipalDep) -> auth.Principal:
        if not principal.can(action):
            roles = auth.roles_for(action)
            names = "、".join(_ROLE_NAMES[r] for r in roles)
            raise Forbidden(f"当前密钥的角色（{_ROLE_NAMES[principal.role]}）无权执行此操作；需要：{names}",
                            code="forbidden", details={"role": principal.role, "allowed_roles": roles})
        return principal

    _ACTIONS[check] = action
    return check


CanRoute = Annotated[auth.Principal, Depends(allowed("route"))]
CanDecide = Annotated[auth.Principal, Depends(allowed("decide"))]
CanCreateCase = Annotated[auth.Principal, Depends(allowed("create_case"))]
CanRead = Annotated[auth.Principal, Depends(allowed("read"))]
CanSearch = Annotated[auth.Principal, Depends(allowed("search"))]
CanRecordOutcome = Annotated[auth.Principal, Depends(allowed("record_outcome"))]
Admin = Annotated[auth.Principal, Depends(allowed("admin"))]
AnyKey = Annotated[auth.Principal, Depends(allowed("whoami"))]
CanRequestReassignment = Annotated[auth.Principal, Depends(allowed("request_reassignment"))]
CanReport = Annotated[auth.Principal, Depends(allowed("report"))]
CanRemind = Annotated[auth.Principal, Depends(allowed("remind"))]
CanAcknowledgeReminder = Annotated[auth.Principal, Depends(allowed("acknowledge_reminder"))]
