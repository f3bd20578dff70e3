"""Precedents: similar past cases with their replies, and near-duplicate groups (when the index is loaded)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CanSearch, RegistryDep, RequiredSearcherDep
from api.schemas import DuplicatesPublic, DuplicatesRequest, SearchPublic, SearchRequest

router = APIRouter(prefix="/search", tags=["search 类案检索"])


@router.post("", response_model=SearchPublic)
def search(_: CanSearch, req: SearchRequest, searcher: RequiredSearcherDep, registry: RegistryDep) -> dict:
    """The most similar past cases, filtered by year, lead department, type or reply category.

    A POST, so the text searched for never appears in URLs or access logs.
    """
    department = registry.resolve(req.department, field="department").id if req.department else None
    hits = searcher.search(req.query, k=req.k, year=req.year, department=department, kind=req.kind,
                           category=req.category)
    return {"data": hits, "count": len(hits)}


@router.post("/duplicates", response_model=DuplicatesPublic)
def duplicates(_: CanSearch, req: DuplicatesRequest, searcher: RequiredSearcherDep) -> dict:
    """Groups of indices of texts that are near-duplicates of each other (并案候选)."""
    return {"groups": searcher.duplicates(req.texts)}
