"""The reply aids as the API serves them: coverage, category consistency, admissibility, redaction; dismissals and
confirmed publication-ready replies in the store; the publication workbook. Plain functions the routes call.

Every aid is advice: nothing here refuses a reply or an item. A dismissal (staff decide the advice does not apply)
is recorded with who and why. The category model is fitted on the store's closed cases the first time it is needed
and again when the number of categorised replies has grown by a tenth (at least 20) since: a fit takes seconds.
"""

from __future__ import annotations

import io
import logging
import threading
from datetime import datetime, timezone

from openpyxl import Workbook

from api.auth import Principal
from api.config import Settings
from api.errors import Conflict, NotFound
from api.registry import RegistryHolder
from api.store import Store
from api.workbooks import _sheet
from models import admissibility, clock, db, redaction
from models.category_check import CategoryChecker, CategoryScheme, CategoryVerdict, cue_verdict
from models.coverage import CoverageResult, check_coverage
from models.service import RoutingService

logger = logging.getLogger(__name__)
MIN_TRAINING_REPLIES = 30  # fewer categorised replies than this: the wording cues alone
PUBLICATION_HEADER = ("编号", "年度", "类型", "标题", "主办单位", "答复类别", "答复（公开版）", "已隐去", "确认人",
                      "确认时间")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- coverage ------------------------------------------------------------------------------------------------------
def coverage_public(result: CoverageResult) -> dict:
    return {
        "points": [{"text": p.point.text, "start": p.point.start, "end": p.point.end, "answered": p.answered,
                    "score": p.score, "paragraph": p.paragraph} for p in result.points],
        "paragraphs": [{"text": q.text, "start": q.start, "end": q.end} for q in result.paragraphs],
        "answered": result.answered, "total": len(result.points), "semantic": result.semantic,
        "threshold": result.threshold,
    }


def semantic_encoder(service: RoutingService | None):
    """The sentence encoder of the precedent index when it is a real one (the hashing stand-in of tests and small
    installs has another cosine scale: lexical coverage alone then)."""
    index = service.index if service is not None else None
    embedder = getattr(index, "embedder", None)
    return None if embedder is None or str(getattr(embedder, "name", "")).startswith("hashing") else embedder


def coverage(body: str, reply: str, service: RoutingService | None = None) -> dict:
    """Coverage with the mode chosen on the dev set (docs/reply-aids.md): lexical + e5 when the encoder is loaded."""
    return coverage_public(check_coverage(body, reply, embedder=semantic_encoder(service)))


# -- category ------------------------------------------------------------------------------------------------------
class CategoryModels:
    """The category model of one store, refitted when its count of categorised closed replies has moved enough."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fitted: dict[str, tuple[tuple, CategoryChecker | None]] = {}

    def checker(self, store: Store, scheme: CategoryScheme) -> CategoryChecker | None:
        with store.reader() as conn:
            rows = conn.execute(
                """SELECT o.reply, o.category FROM outcomes o JOIN cases c ON c.id = o.case_id
                   WHERE c.status = 'closed' AND o.reply <> '' AND o.category <> ''
                     AND o.id = (SELECT MAX(x.id) FROM outcomes x WHERE x.case_id = o.case_id)""").fetchall()
        key = (len(rows), tuple(scheme.codes))
        with self._lock:
            cached = self._fitted.get(str(store.target))
            if cached and cached[0][1] == key[1] and abs(key[0] - cached[0][0]) < max(20, cached[0][0] // 10):
                return cached[1]
            checker = None
            if len(rows) >= MIN_TRAINING_REPLIES:
                try:
                    checker = CategoryChecker(scheme).fit([r[0] for r in rows], [r[1] for r in rows])
                except ValueError:  # a single category among them: cues alone
                    checker = None
            self._fitted[str(store.target)] = (key, checker)
            logger.info("category check fitted on %d replies", len(rows) if checker else 0)
            return checker


CATEGORY_MODELS = CategoryModels()


def verdict_public(v: CategoryVerdict, scheme: CategoryScheme, *, model: bool) -> dict:
    reason = ""
    if v.flagged:
        phrases = "、".join(f"“{p}”" for p in v.phrases)
        reason = (f"答复内容更像 {v.predicted} 类（{scheme.meaning(v.predicted)}）"
                  + (f"：{phrases}" if phrases else "")
                  + f"，与所选 {v.given} 类（{scheme.meaning(v.given)}）不一致，请核对")
    return {"given": v.given, "predicted": v.predicted, "flagged": v.flagged, "phrases": v.phrases,
            "cues": v.cues, "probabilities": v.probabilities, "reason": reason, "source": "model" if model else "cues",
            "meanings": {c.code: c.meaning for c in scheme.categories}}


def category(store: Store, settings: Settings, reply: str, given: str) -> dict:
    scheme = settings.category_scheme()
    checker = CATEGORY_MODELS.checker(store, scheme)
    verdict = checker.check(reply, given) if checker else cue_verdict(reply, given, scheme)
    return verdict_public(verdict, scheme, model=checker is not None)


# -- redaction -----------------------------------------------------------------------------------------------------
def redaction_public(text: str) -> dict:
    found = redaction.find_personal_data(text)
    return {"findings": [{"kind": f.kind, "label": f.label, "start": f.start, "end": f.end, "text": f.text,
                          "mask": redaction.mask(f)} for f in found],
            "masked": redaction.redact(text, found), "count": len(found)}


def reply_check(store: Store, settings: Settings, *, body: str, reply: str, category_code: str | None,
                service: RoutingService | None = None) -> dict:
    """Everything the reply form shows beside a draft: points answered, the category check, the masked texts."""
    return {"coverage": coverage(body, reply, service),
            "category": category(store, settings, reply, category_code) if category_code and reply.strip() else None,
            "reply_redaction": redaction_public(reply), "body_redaction": redaction_public(body)}


# -- admissibility -------------------------------------------------------------------------------------------------
def screen(service: RoutingService | None, settings: Settings, title: str, body: str) -> list[dict]:
    """The admissibility flags of one item (multi-matter needs the model in service; the grounds do not)."""
    if service is not None:  # the same flags as the routing results carry
        return service.screen([(title, body)])[0]
    grounds = admissibility.load_grounds(settings.admissibility_grounds)
    return [f.to_dict() for f in admissibility.screen(title, body, grounds=grounds)]


# -- a stored case -------------------------------------------------------------------------------------------------
def _latest_outcome(store: Store, case_id: int) -> dict | None:
    outcomes = store.outcomes(case_id)
    return outcomes[-1] if outcomes else None


def case_aids(store: Store, settings: Settings, service: RoutingService | None, case: dict) -> dict:
    """The aids of a stored case: its latest reply checked, its admissibility flags, dismissals, publications."""
    outcome = _latest_outcome(store, case["id"])
    reply = outcome["reply"] if outcome else ""
    checked = reply_check(store, settings, body=case["body"], reply=reply,
                          category_code=outcome["category"] if outcome else None, service=service)
    return {"case_id": case["id"], "outcome_id": outcome["id"] if outcome else None, **checked,
            "admissibility": screen(service, settings, case["title"], case["body"]),
            "dismissals": dismissals(store, case["id"]), "publications": publications(store, case["id"])}


def dismiss(store: Store, case_id: int | None, *, aid: str, code: str, note: str, principal: Principal) -> dict:
    row = {"case_id": case_id, "aid": aid, "code": code, "note": note, "dismissed_by": principal.name,
           "key_id": principal.key_id, "dismissed_at": now_iso()}
    with store.transaction() as conn:
        new_id = conn.insert(f"INSERT INTO aid_dismissals ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                             list(row.values()))
    logger.info("aid %s/%s dismissed on case %s", aid, code, case_id)
    return {"id": new_id, **row}


def dismissals(store: Store, case_id: int) -> list[dict]:
    with store.reader() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM aid_dismissals WHERE case_id = ? ORDER BY id",
                                              (case_id,))]


def all_dismissals(store: Store, registry: RegistryHolder, *, unit: str | None = None,
                   aid: str | None = None) -> list[dict]:
    """Every recorded dismissal, newest first, with its case and lead unit; ``unit`` keeps the cases that unit (or a
    unit merged into it) leads, ``aid`` one aid."""
    sql = """SELECT d.id, d.case_id, d.aid, d.code, d.note, d.dismissed_by, d.dismissed_at, c.case_no, c.year,
                    c.title, c.lead_id FROM aid_dismissals d LEFT JOIN cases c ON c.id = d.case_id"""
    where, args = [], []
    if aid is not None:
        where.append("d.aid = ?")
        args.append(aid)
    if unit:
        dept = registry.resolve(unit, field="unit")
        ids = sorted({dept.id, *(d.id for d in registry.registry.lineage(dept.id))})
        where.append(f"c.lead_id IN ({', '.join('?' * len(ids))})")
        args.extend(ids)
    sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY d.dismissed_at DESC, d.id DESC"
    with store.reader() as conn:
        rows = [dict(r) for r in conn.execute(sql, args)]
    for r in rows:
        r["lead"] = registry.ref(r.pop("lead_id"))
    return rows


def confirm_publication(store: Store, case: dict, *, title: str, reply: str, principal: Principal) -> dict:
    """Keep the publication-ready reply staff confirmed (their edited masked text) beside the latest reply."""
    outcome = _latest_outcome(store, case["id"])
    if outcome is None or not outcome["reply"].strip():
        raise Conflict(f"案件 {case['id']} 尚未登记答复，请先登记答复再确认公开版本", code="no_reply",
                       details={"field": "reply"})
    left = redaction.find_personal_data(title + "\n" + reply)
    row = {"case_id": case["id"], "outcome_id": outcome["id"], "title": title, "reply": reply,
           "masked": len(redaction.find_personal_data(outcome["reply"])), "confirmed_by": principal.name,
           "key_id": principal.key_id, "confirmed_at": now_iso()}
    with store.transaction() as conn:
        new_id = conn.insert(f"INSERT INTO publications ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                             list(row.values()))
    return {"id": new_id, **row, "remaining": [f.label for f in left]}


def publications(store: Store, case_id: int | None = None) -> list[dict]:
    """Confirmed publication-ready replies (the latest per case), oldest case first."""
    sql = """SELECT p.*, c.case_no, c.year, c.kind, c.lead_id, c.category FROM publications p
             JOIN cases c ON c.id = p.case_id
             WHERE p.id = (SELECT MAX(q.id) FROM publications q WHERE q.case_id = p.case_id)"""
    args: tuple = ()
    if case_id is not None:
        sql += " AND p.case_id = ?"
        args = (case_id,)
    with store.reader() as conn:
        return [dict(r) for r in conn.execute(sql + " ORDER BY p.case_id", args)]


def publication_workbook(store: Store, names) -> bytes:
    """公开答复 as XLSX: one row per confirmed reply; every text cell written as text (formula-escaped)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "公开答复"
    rows = [[p["case_no"] or f"#{p['case_id']}", p["year"], p["kind"], p["title"], names(p["lead_id"]), p["category"],
             p["reply"], p["masked"], p["confirmed_by"], clock.local_stamp(p["confirmed_at"])]
            for p in publications(store)]
    _sheet(ws, PUBLICATION_HEADER, rows)
    ws.column_dimensions["G"].width = 80
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- the ledger's "points answered" --------------------------------------------------------------------------------
def refresh_coverage(store: Store, limit: int = 5000) -> int:
    """Compute the coverage of every recorded reply that has none yet (lexical; each reply once). Returns how many."""
    with store.reader() as conn:
        todo = conn.execute(
            """SELECT o.id, o.case_id, o.reply, c.body FROM outcomes o JOIN cases c ON c.id = o.case_id
               LEFT JOIN reply_coverage r ON r.outcome_id = o.id
               WHERE r.outcome_id IS NULL AND o.reply <> '' ORDER BY o.id LIMIT ?""", (limit,)).fetchall()
    if not todo:
        return 0
    rows = []
    for outcome_id, case_id, reply, body in todo:
        result = check_coverage(body, reply)
        rows.append((outcome_id, case_id, len(result.points), result.answered, now_iso()))
    try:
        with store.transaction() as conn:
            for row in rows:
                conn.execute("""INSERT INTO reply_coverage (outcome_id, case_id, points, answered, computed_at)
                                VALUES (?, ?, ?, ?, ?) ON CONFLICT (outcome_id) DO NOTHING""", row)
    except db.Error as exc:  # a read-only store: the figure waits for the next write
        logger.warning("reply coverage not stored (%s)", exc)
    return len(rows)


def get_case_or_404(store: Store, case_id: int) -> dict:
    case = store.get_case(case_id)
    if case is None:
        raise NotFound(f"案件 {case_id} 不存在", code="case_not_found", details={"case_id": case_id})
    return case
