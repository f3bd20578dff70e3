"""The department registry: list with aliases and lineage; admin adds units and records reorganisations."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Admin, CanRead, RegistryDep
from api.errors import Conflict, Unprocessable, error_responses
from api.registry import RegistryHolder
from api.schemas import DepartmentCreate, DepartmentPublic, DepartmentsPublic, ReorganiseRequest, SplitRequest
from models.departments import Department

router = APIRouter(prefix="/departments", tags=["departments 单位名录"], responses=error_responses(401, 403))
REGISTRY_ERRORS = error_responses(400, (409, "与单位名录冲突（registry_error，details.field 指明字段）"), 422)


def department_public(dept: Department, holder: RegistryHolder) -> dict:
    reg = holder.registry
    return {**dept.to_dict(), "active": dept.active, "current": holder.ref(reg.current(dept.id).id),
            "predecessors": [holder.ref(d.id) for d in reg.lineage(dept.id)],
            "split_into": [holder.ref(p) for p in dept.split_into]}


def _department(data: DepartmentCreate) -> Department:
    return Department(id=data.id, name=data.name, short_name=data.short_name, aliases=tuple(data.aliases),
                      kind=data.kind, duties=data.duties, since=data.since)


@router.get("", response_model=DepartmentsPublic, responses=error_responses(422))
def list_departments(_: CanRead, registry: RegistryDep, include_inactive: bool = True) -> dict:
    """Every unit with its aliases, today's successor and the units merged into it."""
    reg = registry.registry
    depts = [d for d in reg.departments.values() if include_inactive or d.active]
    return {"city": reg.city, "data": [department_public(d, registry) for d in depts], "count": len(depts)}


@router.get("/registry.json")
def registry_json(_: Admin, registry: RegistryDep) -> dict:
    """The registry in the departments.json format `jiaoban train --departments` reads."""
    return registry.registry.to_dict()


@router.post("", response_model=DepartmentPublic, status_code=201, responses=REGISTRY_ERRORS)
def add_department(principal: Admin, data: DepartmentCreate, registry: RegistryDep) -> dict:
    """Add a unit (kept in the store; the seed file is never changed)."""
    return department_public(registry.add(_department(data), by=principal.name), registry)


@router.post("/reorganise", response_model=DepartmentPublic, responses=REGISTRY_ERRORS)
def reorganise(principal: Admin, req: ReorganiseRequest, registry: RegistryDep) -> dict:
    """Rename or merge (机构改革): ``old_ids`` stop the day before ``on``; their duties pass to the target unit."""
    if req.into_id is not None:
        target = registry.registry.departments.get(req.into_id) or registry.resolve(req.into_id, field="into_id")
    elif req.new is not None:
        if (existing := registry.registry.departments.get(req.new.id)) is not None:
            raise Conflict(f"字段“new.id”：单位 id “{req.new.id}” 已存在（{existing.name}）；并入现有单位请用 into_id",
                           code="registry_error", details={"field": "new.id", "department": existing.id})
        target = _department(req.new)
    else:  # ReorganiseRequest's validator already rejects this
        raise Unprocessable("into_id（并入现有单位）与 new（新设单位）须且只能填写一项", code="validation_error")
    return department_public(registry.reorganise(req.old_ids, target, on=req.on, by=principal.name), registry)


@router.post("/split", response_model=DepartmentPublic, responses=REGISTRY_ERRORS)
def split(principal: Admin, req: SplitRequest, registry: RegistryDep) -> dict:
    """Split a unit (拆分): ``old_id`` stops the day before ``on``; its duties pass to existing units
    (``into_ids``) and new ones (``new``). Its old names, open items and ledger figures go to ``main_id``; closed
    cases used for training go to the part whose name and duties their text matches. Answers the main successor."""
    parts = []
    for i, dept_id in enumerate(req.into_ids):
        if dept_id not in registry.registry:
            raise Conflict(f"字段“into_ids[{i}]”：单位 id “{dept_id}” 不在名录中；新设单位请写在 new 中",
                           code="registry_error", details={"field": f"into_ids[{i}]", "department": None})
        parts.append(registry.registry.get(dept_id))
    for i, data in enumerate(req.new):
        if (existing := registry.registry.departments.get(data.id)) is not None:
            raise Conflict(f"字段“new[{i}].id”：单位 id “{data.id}” 已存在（{existing.name}）；"
                           "现有单位请写在 into_ids 中", code="registry_error",
                           details={"field": f"new[{i}].id", "department": existing.id})
        parts.append(_department(data))
    main = registry.split(req.old_id, parts, main_id=req.main_id, on=req.on, by=principal.name,
                          n_existing=len(req.into_ids))
    return department_public(main, registry)
