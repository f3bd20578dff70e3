"""Errors raised by the service and their translation to ``{"error": {"code", "message", "details"}}`` responses.

Messages are for staff and are in Chinese; ``code`` is a stable machine name; ``details`` carries the specifics
(the field at fault, suggested department names, the rows of a spreadsheet that could not be used).
"""

from __future__ import annotations

import logging
import traceback

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.bundle import BundleError
from models.casefile import CaseFileError
from models.departments import RegistryError, UnknownDepartmentError

logger = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details=None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Unprocessable(ApiError):
    status, code = 422, "invalid"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class Unavailable(ApiError):
    status, code = 503, "unavailable"


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def field_path(loc) -> str:
    """``("body", "items", 3, "title")`` -> ``"items[3].title"`` (the part of the request staff recognise)."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "form", "cookie"):
        parts = parts[1:]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "请求体"


def _message(err: dict) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    simple = {
        "missing": "缺少必填字段",
        "json_invalid": "不是合法的 JSON",
        "int_parsing": "应为整数",
        "int_type": "应为整数",
        "float_parsing": "应为数字",
        "bool_parsing": "应为 true 或 false",
        "string_type": "应为文本",
        "list_type": "应为列表",
        "dict_type": "应为对象",
        "model_attributes_type": "应为对象",
        "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
        "date_parsing": "日期格式应为 YYYY-MM-DD",
        "extra_forbidden": "不认识的字段",
    }
    if kind in simple:
        return simple[kind]
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length") == 1 else f"至少 {ctx.get('min_length')} 个字"
    if kind == "string_too_long":
        return f"过长（最多 {ctx.get('max_length')} 个字）"
    if kind == "too_long":
        return f"条目过多（最多 {ctx.get('max_length')} 条）"
    if kind == "too_short":
        return f"至少需要 {ctx.get('min_length')} 条"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}[kind]
        return f"取值应 {bound} {next(iter(ctx.values()), '')}"
    if kind in ("literal_error", "enum"):
        return f"取值无效，应为 {ctx.get('expected', '')}"
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg", "")))
    return f"取值无效（{err.get('msg', '')}）"


def validation_details(exc: RequestValidationError) -> list[dict]:
    return [{"field": field_path(e.get("loc", ())), "message": _message(e), "type": e.get("type")}
            for e in exc.errors()]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = validation_details(exc)
        first = details[0] if details else {"field": "请求体", "message": "格式有误"}
        more = f"（另有 {len(details) - 1} 处问题）" if len(details) > 1 else ""
        message = f"请求参数有误：字段“{first['field']}”{first['message']}{more}"
        return JSONResponse(error_body("validation_error", message, details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        messages = {404: "找不到该地址", 405: "该地址不支持此请求方法", 413: "上传内容过大"}
        message = messages.get(exc.status_code, str(exc.detail))
        return JSONResponse(error_body(f"http_{exc.status_code}", message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(UnknownDepartmentError)
    async def _unknown_department(request: Request, exc: UnknownDepartmentError):
        details = {"name": exc.name, "suggestions": exc.suggestions}
        return JSONResponse(error_body("unknown_department", str(exc), details), status_code=422)

    @app.exception_handler(RegistryError)
    async def _registry(request: Request, exc: RegistryError):
        return JSONResponse(error_body("registry_error", str(exc)), status_code=409)

    @app.exception_handler(CaseFileError)
    async def _case_file(request: Request, exc: CaseFileError):
        details: dict[str, object] = {"field": "file", "filename": exc.filename}
        if exc.columns is not None:
            details["columns"] = exc.columns
        return JSONResponse(error_body(exc.code, str(exc), details), status_code=422)

    @app.exception_handler(BundleError)
    async def _bundle(request: Request, exc: BundleError):
        message = "模型版本无法使用，请重新训练或选择其他版本"
        return JSONResponse(error_body("model_error", message, {"reason": str(exc)}), status_code=409)

    app.add_middleware(CatchUnexpected)


class CatchUnexpected:
    """Answer any other exception with a 500 envelope and log where it failed, but not its message.

    A message may quote a proposal's text. (Starlette's own last-resort handler re-raises, and the server then logs
    the full message, so unexpected errors are stopped here, inside it.)
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watch(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.error("unhandled %s on %s %s\n%s", type(exc).__name__, scope.get("method"), scope.get("path"),
                         frames)
            if not started:
                body = error_body("internal_error", "服务器内部错误，请稍后重试或联系管理员")
                await JSONResponse(body, status_code=500)(scope, receive, send)
