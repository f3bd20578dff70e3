"""The service's department registry: seeded once from a JSON file, then kept (with every change) in the store.

The seed file (by default the samples' departments.json) is never written; admin changes are saved as a new
registry snapshot in the store and swapped in atomically.
"""

from __future__ import annotations

import logging
import threading
from datetime import date
from pathlib import Path

from api.errors import Conflict, Unprocessable
from api.store import Store
from models.departments import Department, DepartmentRegistry, RegistryError, UnknownDepartmentError

logger = logging.getLogger(__name__)


class RegistryHolder:
    """The registry in service; ``registry`` is replaced, never mutated, so readers need no lock."""

    def __init__(self, store: Store, registry: DepartmentRegistry):
        self.store = store
        self.registry = registry
        self._lock = threading.Lock()

    @classmethod
    def load(cls, store: Store, seed: Path) -> RegistryHolder:
        data = store.latest_registry()
        if data is None:
            if not seed.is_file():
                logger.warning("no department registry in the store and no seed file at %s; starting empty", seed)
                data = {"city": "", "departments": []}
            else:
                data = DepartmentRegistry.load(seed).to_dict()
            store.save_registry(data, reason=f"seed from {seed.name}", created_by="system")
        return cls(store, DepartmentRegistry.from_dict(data))

    def _change(self, change, *, reason: str, by: str, field=lambda name: name) -> DepartmentRegistry:
        """Apply ``change`` to a copy, save it and swap it in. A refused change is a 409 naming the request's field
        (``field`` maps the registry's name for it to the request's, e.g. ``aliases[0]`` -> ``new.aliases[0]``)."""
        with self._lock:
            new = DepartmentRegistry.from_dict(self.registry.to_dict())
            try:
                change(new)
            except RegistryError as exc:
                fld = field(exc.field) if exc.field else None
                raise Conflict(f"字段“{fld}”：{exc}" if fld else str(exc), code="registry_error",
                               details={"field": fld, "department": exc.department}) from None
            self.store.save_registry(new.to_dict(), reason=reason, created_by=by)
            self.registry = new
            return new

    def add(self, dept: Department, *, by: str) -> Department:
        self._change(lambda r: r.add(dept), reason=f"add {dept.id}", by=by)
        return self.registry.get(dept.id)

    def reorganise(self, old_ids: list[str], new: Department, *, on: date, by: str) -> Department:
        """Merge ``old_ids`` into ``new``: an existing unit (the request's ``into_id``) or a new one (``new``)."""
        reason = f"reorganise {','.join(old_ids)} -> {new.id} on {on.isoformat()}"
        into = new.id in self.registry

        def field(name: str) -> str:
            if name == "target":
                return "into_id" if into else "new.id"
            return name if name.startswith("old_ids") else f"new.{name}"

        self._change(lambda r: r.reorganise(old_ids, new, on=on), reason=reason, by=by, field=field)
        return self.registry.get(new.id)

    def split(self, old_id: str, parts: list[Department], *, main_id: str, on: date, by: str,
              n_existing: int) -> Department:
        """Split ``old_id`` between ``parts`` (the first ``n_existing`` are the request's ``into_ids``, the rest
        its ``new``); returns the main successor."""
        reason = f"split {old_id} -> {','.join(p.id for p in parts)} (main {main_id}) on {on.isoformat()}"

        def field(name: str) -> str:
            if name == "parts":
                return "new"
            if not name.startswith("parts["):
                return name
            index, _, rest = name[len("parts["):].partition("]")
            i = int(index)
            where = f"into_ids[{i}]" if i < n_existing else f"new[{i - n_existing}]"
            return where + rest

        self._change(lambda r: r.split(old_id, parts, main_id=main_id, on=on), reason=reason, by=by, field=field)
        return self.registry.get(main_id)

    # -- helpers for the routes ------------------------------------------------------------------------------
    def resolve(self, name: str, *, field: str) -> Department:
        """Today's unit for a name or id; a 422 naming ``field`` with the closest known names otherwise."""
        try:
            return self.registry.resolve(name)
        except UnknownDepartmentError as exc:
            raise Unprocessable(
                f"字段“{field}”：{exc}",
                code="unknown_department",
                details={"field": field, "name": name, "suggestions": exc.suggestions},
            ) from None

    def ref(self, dept_id: str | None) -> dict | None:
        """``{id, name, short_name}`` for a stored id (the id alone if the registry no longer knows it)."""
        if not dept_id:
            return None
        if dept_id in self.registry:
            d = self.registry.get(dept_id)
            return {"id": d.id, "name": d.name, "short_name": d.short_name}
        return {"id": dept_id, "name": dept_id, "short_name": ""}

    def current_id(self, dept_id: str) -> str:
        return self.registry.current(dept_id).id if dept_id in self.registry else dept_id
