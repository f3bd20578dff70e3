"""What a unit-scoped key may see: a drafter key that names its unit sees the cases that unit leads or co-handles
(including those of the units merged into it); any other case answers 404 to it, as if it did not exist."""

from __future__ import annotations

from api.auth import Principal
from api.errors import NotFound
from api.registry import RegistryHolder


def unit_ids(principal: Principal, registry: RegistryHolder) -> set[str] | None:
    """The registry ids whose cases ``principal`` may see; None: every case."""
    if principal.unit_id is None:
        return None
    current = registry.current_id(principal.unit_id)
    reg = registry.registry
    lineage = {d.id for d in reg.lineage(current)} if current in reg else set()
    return {principal.unit_id, current, *lineage}


def visible(case: dict, ids: set[str] | None) -> bool:
    if ids is None:
        return True
    return case["lead_id"] in ids or any(c in ids for c in case["co_ids"] or [])


def check(case: dict | None, principal: Principal, registry: RegistryHolder, case_id: int) -> dict:
    """``case`` when the caller may see it; otherwise the same 404 as for a case that does not exist."""
    if case is None or not visible(case, unit_ids(principal, registry)):
        raise NotFound(f"案件 {case_id} 不存在", code="case_not_found", details={"case_id": case_id})
    return case
