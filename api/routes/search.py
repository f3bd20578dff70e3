"""Precedents: similar past cases with their replies, and near-duplicate groups (when the index is loaded)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CanSearch, RegistryDep, SearchServiceDep
from api.errors import error_responses
from api.search_schemas import DuplicatesPublic, DuplicatesRequest, SearchPublic, SearchRequest

router = APIRouter(prefix="/search", tags=["search 类案检索"], responses=error_responses(
    400, 401, 403, 422, (503, "尚无在用模型（model_unavailable），或类案检索尚未启用（search_unavailable）")))


@router.post("", response_model=SearchPublic)
def search(_: CanSearch, req: SearchRequest, service: SearchServiceDep, registry: RegistryDep) -> dict:
    """The most similar past cases (``target=items``) or replies (``target=replies``), filtered by year, lead
    department, type, reply category or the proposer's feedback; each hit carries its best matching passage and the
    words it shares with the query; ``full_reply`` returns each reply (and body) in full.

    A POST, so the text searched for never appears in URLs or access logs.
    """
    department = registry.resolve(req.department, field="department").id if req.department else None
    # feedback is filtered after the search: ask for more so that k can still be filled
    k = min(req.k * 5, 250) if req.feedback else req.k
    hits = service.search(req.query, k=k, year=req.year, department=department, kind=req.kind,
                          category=req.category, target=req.target, full_reply=req.full_reply)
    if req.feedback:
        hits = [h for h in hits if h.feedback == req.feedback][: req.k]
    return {"data": [h.to_dict() for h in hits], "count": len(hits)}


@router.post("/duplicates", response_model=DuplicatesPublic)
def duplicates(_: CanSearch, req: DuplicatesRequest, service: SearchServiceDep) -> dict:
    """Groups of indices of texts that are near-duplicates of each other (并案候选).

    Each text's first line is read as its title, the rest as its body (as a pasted proposal reads).
    """
    items = [_title_body(t) for t in req.texts]
    return {"groups": [g.indexes for g in service.duplicates(items)]}


def _title_body(text: str) -> tuple[str, str]:
    title, _, body = text.strip().partition("\n")
    return (title.strip(), body.strip()) if body.strip() else ("", title.strip())
