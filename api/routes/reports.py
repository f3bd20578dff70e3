"""定期报告 (the periodic 通报) for a date range, as an XLSX workbook or a printable HTML page with charts."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api import ledger
from api.deps import CanReport, RegistryDep, SettingsDep, StoreDep
from api.errors import error_responses
from api.schemas import CaseDate
from models.periodic_report import to_xlsx
from models.report_html import to_html

router = APIRouter(prefix="/reports", tags=["reports 定期报告"],
                   responses=error_responses(401, 403, (422, "日期有误（bad_period：开始日期晚于结束日期）")))

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Start = Annotated[CaseDate, Query(description="交办日期自（YYYY-MM-DD）")]
End = Annotated[CaseDate, Query(description="交办日期至（YYYY-MM-DD），也是统计日期")]


@router.get("/periodic.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def periodic_xlsx(_: CanReport, store: StoreDep, registry: RegistryDep, settings: SettingsDep, start: Start,
                  end: End) -> Response:
    """定期报告（XLSX）: a summary sheet (per unit and in total) and one sheet per unit with its cases, for the cases
    assigned from ``start`` to ``end``, counted as of ``end``."""
    report = ledger.periodic_report(store, registry, start=start, end=end, categories=settings.reply_categories)
    name = f"定期报告-{start.isoformat()}-{end.isoformat()}.xlsx"
    return Response(to_xlsx(report), media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


# response_class=Response keeps the error answers documented as JSON (HTMLResponse would label them text/html).
@router.get("/periodic.html", response_class=Response,
            responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}})
def periodic_html(_: CanReport, store: StoreDep, registry: RegistryDep, settings: SettingsDep, start: Start,
                  end: End) -> HTMLResponse:
    """定期报告（HTML）: the same figures as a printable page in Chinese with bar charts (inline SVG)."""
    report = ledger.periodic_report(store, registry, start=start, end=end, categories=settings.reply_categories)
    return HTMLResponse(to_html(report))
