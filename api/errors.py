"""Errors raised by the service and their translation to ``{"error": {"code", "message", "details"}}`` responses.

Messages are for staff and are in Chinese; ``code`` is a stable machine name; ``details`` carries the specifics
(the field at fault, suggested department names, the rows of a spreadsheet that could not be used).
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.bundle import BundleError
from models.casefile import CaseFileError
from models.departments import RegistryError, UnknownDepartmentError
from models.messages import describe

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


class ErrorInfo(BaseModel):
    code: str = Field(description="稳定的错误代码，供程序判断（如 validation_error、case_not_found）")
    message: str = Field(description="给工作人员看的说明（中文）：哪里有误、该怎么做")
    details: Any = Field(None, description="具体信息：出错的字段、建议的单位名称、逐项的校验问题等")


class ErrorBody(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorInfo


ERROR_STATUSES = {  # what each status means in this API, for the OpenAPI schema
    400: "请求体无法解析（如 multipart 格式有误）",
    401: "缺少 API 密钥，或密钥无效、已停用（missing_api_key、invalid_api_key）",
    403: "当前密钥的角色无权执行此操作（forbidden，details.allowed_roles 列出可执行的角色）",
    404: "要找的对象不存在",
    409: "与现有数据冲突",
    413: "上传文件超过 JIAOBAN_MAX_UPLOAD_MB（file_too_large）",
    422: "请求参数有误：validation_error（details 逐项列出 field、message、type），或违反业务规则（code 说明是哪条）",
    503: "尚无在用模型（model_unavailable）",
}


def error_responses(*statuses: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route for its error answers: a status (described by ``ERROR_STATUSES``) or a
    (status, description) pair naming this route's own codes."""
    out: dict[int | str, dict[str, Any]] = {}
    for item in statuses:
        status, description = item if isinstance(item, tuple) else (item, ERROR_STATUSES[item])
        out[status] = {"model": ErrorBody, "description": description}
    return out


UPLOAD_ERRORS = error_responses(400, 413, (422, "文件无法读取（unsupported_file、empty_file、missing_columns、"
                                                "unreadable_file）或参数有误"))


def field_path(loc) -> str:
    """``("body", "items", 3, "title")`` -> ``"items[3].title"`` (the part of the request staff recognise)."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "form", "cookie"):
        parts = parts[1:]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "请求体"


_JSON_PROBLEMS = {  # the json module's messages, as staff would say them
    "Expecting value": "此处缺少值",
    "Expecting property name enclosed in double quotes": "字段名应使用英文双引号，且最后一项后不能有逗号",
    "Expecting ',' delimiter": "此处缺少英文逗号",
    "Expecting ':' delimiter": "此处缺少英文冒号",
    "Unterminated string starting at": "引号没有闭合",
    "Invalid control character at": "文本中有未转义的控制字符（如换行应写作 \\n）",
    "Extra data": "JSON 结束后还有多余内容",
    "Invalid \\escape": "反斜杠转义无效",
    "Illegal trailing comma before end of object": "最后一项后不能有逗号",
    "Illegal trailing comma before end of array": "最后一项后不能有逗号",
}


def _json_problem(err: dict, body) -> str:
    """``请求体不是合法的 JSON（第 2 行第 5 列：此处缺少英文逗号）`` from the decoder's position and message."""
    where = ""
    pos = err.get("loc", ("body", None))[-1]
    if isinstance(body, str) and isinstance(pos, int):
        line, column = body.count("\n", 0, pos) + 1, pos - body.rfind("\n", 0, pos)
        where = f"第 {line} 行第 {column} 列"
    problem = _JSON_PROBLEMS.get(str((err.get("ctx") or {}).get("error", "")), "")
    inside = "：".join(p for p in (where, problem) if p)
    return "不是合法的 JSON" + (f"（{inside}）" if inside else "") + "，请检查引号、逗号和括号"


def _is_json(request: Request) -> bool:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype == "application/json" or (ctype.startswith("application/") and ctype.endswith("+json"))


def validation_details(exc: RequestValidationError, request: Request | None = None) -> list[dict]:
    out = []
    for e in exc.errors():
        loc, field, message = tuple(e.get("loc", ())), field_path(e.get("loc", ())), describe(e)
        if e.get("type") == "json_invalid":
            field, message = "请求体", _json_problem(e, exc.body)
        elif loc == ("body",) and isinstance(e.get("input"), bytes) and request is not None and not _is_json(request):
            message = "应为 JSON：请设置请求头 Content-Type: application/json"
        out.append({"field": field, "message": message, "type": e.get("type")})
    return out


# Starlette's and FastAPI's own HTTP errors carry English details ("There was an error parsing the body", a
# multipart parser's complaint); staff read these instead. The code stays ``http_<status>``.
_HTTP_MESSAGES = {
    400: "无法解析请求体：JSON 须为 UTF-8 编码，并设置请求头 Content-Type: application/json",
    401: "缺少 API 密钥或密钥无效",
    403: "无权访问",
    404: "找不到该地址，请检查网址（接口都在 /api/v1 下）",
    405: "该地址不支持此请求方法",
    413: "上传内容过大",
    415: "不支持的请求内容类型",
}


def app_routes(app: FastAPI) -> list:
    """The app's routes with their full paths. FastAPI 0.16x keeps an included router as one entry of
    ``app.routes`` and expands it through ``iter_route_contexts``; earlier versions list the routes themselves."""
    expand = getattr(fastapi.routing, "iter_route_contexts", None)
    return list(expand(app.routes)) if expand else list(app.routes)


def _allowed_methods(request: Request, given: str) -> list[str]:
    """Every method some route answers at this path: the framework names only the first route's (GET and POST of
    one path are two routes)."""
    methods = {m.strip() for m in given.split(",") if m.strip()}
    for route in app_routes(request.app):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = validation_details(exc, request)
        first = details[0] if details else {"field": "请求体", "message": "格式有误"}
        more = f"（另有 {len(details) - 1} 处问题）" if len(details) > 1 else ""
        where = "请求体" if first["field"] == "请求体" else f"字段“{first['field']}”"
        message = f"请求参数有误：{where}{first['message']}{more}"
        return JSONResponse(error_body("validation_error", message, details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = _HTTP_MESSAGES.get(exc.status_code, f"请求无法处理（HTTP {exc.status_code}）")
        headers = dict(exc.headers or {})
        if exc.status_code == 400 and request.headers.get("content-type", "").startswith("multipart/"):
            message = "无法解析上传内容：请以 multipart/form-data 格式提交文件（字段 file）"
        allowed = _allowed_methods(request, headers.get("Allow", "")) if exc.status_code == 405 else []
        if allowed:
            headers["Allow"] = ", ".join(allowed)
            message += f"；可用的方法：{headers['Allow']}"
        return JSONResponse(error_body(f"http_{exc.status_code}", message), status_code=exc.status_code,
                            headers=headers or None)

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
        message = f"模型版本无法使用：{exc}"
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
