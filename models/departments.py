"""The department registry: names, aliases and the lineage of renamed or merged units (机构改革).

A name found in an old ledger ("乡村振兴局", "市城管局") resolves to the unit that carries its duties today, so a model
trained on years of cases learns the current organisation.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from models.unit_split import split_part


class UnknownDepartmentError(ValueError):
    """A department name that neither the registry's names, short names nor aliases know."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f"；您是否指：{'、'.join(suggestions)}" if suggestions else "；请先在单位名录中添加该单位"
        super().__init__(f"未知的单位名称“{name}”{hint}")


class RegistryError(ValueError):
    """The registry is inconsistent (duplicate ids, a successor that does not exist, a cycle), or a change would
    make it so (a name another unit already has, a merge of a unit into itself).

    ``field`` names the part of the change at fault (``aliases[1]``, ``old_ids[0]``, ``target``) and
    ``department`` the id of the unit it conflicts with, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None, department: str | None = None):
        super().__init__(message)
        self.field = field
        self.department = department


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    short_name: str = ""
    aliases: tuple[str, ...] = ()
    kind: str = "department"  # "department" or "district"
    duties: str = ""
    since: date | None = None
    until: date | None = None
    successor: str | None = None  # the unit carrying its duties (after a split: the main successor, 主承继单位)
    split_into: tuple[str, ...] = ()  # after a split: every unit that took part of its duties, main one first

    @property
    def active(self) -> bool:
        return self.successor is None and self.until is None

    def names(self) -> list[str]:
        return [n for n in (self.name, self.short_name, *self.aliases) if n]

    def named_fields(self) -> list[tuple[str, str]]:
        """(field, name) for the name, short name and each alias: where a conflicting name was written."""
        fields = [("name", self.name), ("short_name", self.short_name),
                  *((f"aliases[{i}]", a) for i, a in enumerate(self.aliases))]
        return [(f, n) for f, n in fields if n]

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "short_name": self.short_name,
            "aliases": list(self.aliases),
            "kind": self.kind,
            "duties": self.duties,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "successor": self.successor,
            **({"split_into": list(self.split_into)} if self.split_into else {}),
        }


def _key(name: str, city: str = "") -> str:
    """Normal form for name matching: no spaces, no city prefix ("江州市财政局", "市财政局", "财政局" match)."""
    name = re.sub(r"\s+", "", name or "")
    if city and name.startswith(city) and len(name) > len(city) + 1:
        return name[len(city):]
    if name.startswith("市") and len(name) > 2:
        return name[1:]
    return name


def _parse_date(value) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass
class DepartmentRegistry:
    city: str = ""
    departments: dict[str, Department] = field(default_factory=dict)

    def _key(self, name: str) -> str:
        return _key(name, self.city)

    def __post_init__(self) -> None:
        self._index: dict[str, str] = {}
        for dept in self.departments.values():
            for name in dept.names():
                for key in {name, self._key(name)}:
                    if key:
                        self._index.setdefault(key, dept.id)
        for dept in self.departments.values():
            if dept.successor and dept.successor not in self.departments:
                raise RegistryError(f"单位 {dept.id} 的承继单位 {dept.successor} 不在名录中")
            for part in dept.split_into:
                if part not in self.departments:
                    raise RegistryError(f"单位 {dept.id} 拆分后的承继单位 {part} 不在名录中")
            if dept.split_into and dept.successor not in dept.split_into:
                raise RegistryError(f"单位 {dept.id} 的主承继单位 {dept.successor} 不在其拆分去向 split_into 中")
            self.current(dept.id)  # raises on a cycle

    # -- loading -------------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict) -> DepartmentRegistry:
        depts: dict[str, Department] = {}
        for i, item in enumerate(data.get("departments", []), start=1):
            try:
                dept = Department(
                    id=str(item["id"]),
                    name=str(item["name"]),
                    short_name=str(item.get("short_name") or ""),
                    aliases=tuple(str(a) for a in item.get("aliases") or ()),
                    kind=str(item.get("kind") or "department"),
                    duties=str(item.get("duties") or ""),
                    since=_parse_date(item.get("since")),
                    until=_parse_date(item.get("until")),
                    successor=item.get("successor") or None,
                    split_into=tuple(str(x) for x in item.get("split_into") or ()),
                )
            except KeyError as exc:
                raise RegistryError(f"单位名录第 {i} 项缺少“{exc.args[0]}”：每项需要 id 和 name") from exc
            except (TypeError, ValueError, AttributeError) as exc:
                raise RegistryError(
                    f"单位名录第 {i} 项有误：应为含 id、name 的对象，日期（since、until）格式为 YYYY-MM-DD"
                ) from exc
            if dept.id in depts:
                raise RegistryError(f"单位名录中 id “{dept.id}” 重复")
            depts[dept.id] = dept
        return cls(city=str(data.get("city") or ""), departments=depts)

    @classmethod
    def load(cls, path: str | Path) -> DepartmentRegistry:
        """Read a ``departments.json``.

        Raises:
            RegistryError: the file is missing, unreadable or inconsistent; the message names it.
        """
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError as exc:
            raise RegistryError(f"找不到单位名录文件 {path}：请用 --departments 或 JIAOBAN_DEPARTMENTS 指定") from exc
        except json.JSONDecodeError as exc:
            raise RegistryError(f"单位名录 {path} 第 {exc.lineno} 行第 {exc.colno} 列不是合法的 JSON："
                                "请检查引号、逗号和括号") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError(f"单位名录 {path} 无法读取：应为 UTF-8 编码的 JSON 文件") from exc
        if not isinstance(data, dict) or not isinstance(data.get("departments", []), list):
            raise RegistryError(f"单位名录 {path} 的格式不对：应为 {{\"city\": …, \"departments\": [...]}}，"
                                "格式见 data/samples/departments.json")
        try:
            return cls.from_dict(data)
        except RegistryError as exc:  # "单位名录第 3 项……" -> "单位名录 a.json 第 3 项……"
            message = str(exc)
            rest = message.removeprefix("单位名录")
            raise RegistryError(f"单位名录 {path}" + (f" {rest}" if rest != message else f"：{message}")) from exc

    def to_dict(self) -> dict:
        return {"city": self.city, "departments": [d.to_dict() for d in self.departments.values()]}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")

    # -- look-ups ------------------------------------------------------------------------------------------------
    def __contains__(self, dept_id: str) -> bool:
        return dept_id in self.departments

    def __len__(self) -> int:
        return len(self.departments)

    def get(self, dept_id: str) -> Department:
        return self.departments[dept_id]

    def find(self, name: str) -> Department | None:
        """The unit a name denotes as written (no lineage followed), or None."""
        name = (name or "").strip()
        for key in (name, self._key(name)):
            if key in self._index:
                return self.departments[self._index[key]]
        if name in self.departments:
            return self.departments[name]
        return None

    def current(self, dept_id: str) -> Department:
        """Follow renames, merges and splits (to the main successor) to the unit that carries ``dept_id``'s duties
        today."""
        return self.current_for(dept_id, "")

    def resolve(self, name: str) -> Department:
        """Map any known name, old or new, to today's unit; raise UnknownDepartmentError with suggestions."""
        dept = self.find(name)
        if dept is None:
            raise UnknownDepartmentError(name, self.suggest(name))
        return self.current(dept.id)

    def current_for(self, dept_id: str, text: str) -> Department:
        """Like ``current``, but a unit that was split passes an item to the part whose name and duties the item's
        text matches best (the main successor when no part clearly wins): how old cases of a split unit are
        labelled for training."""
        seen: list[str] = []
        dept = self.departments[dept_id]
        while dept.successor:
            if dept.id in seen:
                raise RegistryError(f"单位承继关系出现循环：{' -> '.join(seen)}")
            seen.append(dept.id)
            nxt = split_part(self, dept, text) if dept.split_into and text else dept.successor
            dept = self.departments[nxt]
        return dept

    def resolve_for(self, name: str, text: str) -> Department:
        """``resolve`` for an item whose text decides between the parts of a split unit."""
        dept = self.find(name)
        if dept is None:
            raise UnknownDepartmentError(name, self.suggest(name))
        return self.current_for(dept.id, text)

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """The closest known full names to a misspelt or unknown one."""
        candidates: dict[str, str] = {}
        for dept in self.departments.values():
            for alias in dept.names():
                candidates.setdefault(self._key(alias), self.current(dept.id).name)
        matches = difflib.get_close_matches(self._key(name), list(candidates), n=n * 3, cutoff=0.4)
        out: list[str] = []
        for m in matches:
            if candidates[m] not in out:
                out.append(candidates[m])
        return out[:n]

    def active(self) -> list[Department]:
        return [d for d in self.departments.values() if d.active]

    def lineage(self, dept_id: str) -> list[Department]:
        """The units whose duties flowed into ``dept_id`` (directly or through earlier reorganisations)."""
        out = []
        for dept in self.departments.values():
            if dept.id != dept_id and dept.successor and self.current(dept.id).id == dept_id:
                out.append(dept)
        return out

    def vocabulary(self) -> list[str]:
        """Every name and alias, for the segmenter's user dictionary."""
        words = set()
        for dept in self.departments.values():
            for name in dept.names():
                words.add(name)
                words.add(self._key(name))
        return sorted(w for w in words if len(w) >= 2)

    # -- changes (admin) -----------------------------------------------------------------------------------------
    def _check_names(self, dept: Department) -> None:
        """Refuse a new unit any of whose names already denotes another unit (``find`` would keep the old one)."""
        for fld, name in dept.named_fields():
            for key in (name, self._key(name)):
                other_id = self._index.get(key) or (key if key in self.departments else None)
                if other_id and other_id != dept.id:
                    other = self.departments[other_id]
                    state = "" if other.active else f"（{self._gone(other)}）"
                    raise RegistryError(
                        f"“{name}”已是单位“{other.name}”（{other.id}）{state}的名称或别名，同一名称只能指向一个单位；"
                        "请改用其他名称（原单位的名称在更名、撤并后仍会指向承继单位，无需重复添加）",
                        field=fld, department=other.id)

    def _gone(self, dept: Department) -> str:
        if dept.successor:
            return f"已撤并，其职责今由“{self.current(dept.id).name}”（{self.current(dept.id).id}）承担"
        return f"已于 {dept.until.isoformat() if dept.until else '此前'} 撤销"

    def add(self, dept: Department) -> None:
        if dept.id in self.departments:
            raise RegistryError(f"单位 id “{dept.id}” 已存在", field="id", department=dept.id)
        self._check_names(dept)
        self.departments[dept.id] = dept
        self.__post_init__()

    def reorganise(self, old_ids: list[str], new: Department, on: date) -> None:
        """Rename or merge: ``old_ids`` stop the day before ``on`` and ``new`` (existing or new) carries them.

        Raises:
            RegistryError: an old id unknown, already merged, or the target itself; the target merged already;
                a new target with a name another unit has.
        """
        if new.id in self.departments:
            if not (target := self.departments[new.id]).active:
                raise RegistryError(f"单位“{target.name}”（{target.id}）{self._gone(target)}，不能再有单位并入",
                                    field="target", department=target.id)
        else:
            self._check_names(new)
        for i, old in enumerate(old_ids):
            if old not in self.departments:
                raise RegistryError(f"单位 id “{old}” 不在名录中", field=f"old_ids[{i}]")
            unit = self.departments[old]
            if old == new.id:
                raise RegistryError(f"不能把单位“{unit.name}”（{old}）并入它自身；请从 old_ids 中删去它",
                                    field=f"old_ids[{i}]", department=old)
            if not unit.active:
                raise RegistryError(f"单位“{unit.name}”（{old}）{self._gone(unit)}，不能再次撤并或更名",
                                    field=f"old_ids[{i}]", department=old)
        if new.id not in self.departments:
            self.departments[new.id] = replace(new, since=new.since or on)
        for old in old_ids:
            self.departments[old] = replace(
                self.departments[old], until=date.fromordinal(on.toordinal() - 1), successor=new.id
            )
        self.__post_init__()

    def split(self, old_id: str, parts: list[Department], *, main_id: str, on: date) -> None:
        """Split (拆分): ``old_id`` stops the day before ``on`` and its duties pass to ``parts`` (existing units or
        new ones); its old names, open items and ledger figures go to ``main_id``, and old cases used for training
        go to the part their text matches (``current_for``).

        Raises:
            RegistryError: the old unit unknown or already gone, fewer than two parts, a part that is the old unit
                itself or already gone, a repeated part, a main successor outside the parts, a new part's name
                that another unit has.
        """
        if old_id not in self.departments:
            raise RegistryError(f"单位 id “{old_id}” 不在名录中", field="old_id")
        unit = self.departments[old_id]
        if not unit.active:
            raise RegistryError(f"单位“{unit.name}”（{old_id}）{self._gone(unit)}，不能再拆分",
                                field="old_id", department=old_id)
        ids = [p.id for p in parts]
        if len(set(ids)) < 2:
            raise RegistryError("拆分至少要有两个不同的承继单位；只交给一个单位请用更名或并入", field="parts")
        for i, part in enumerate(parts):
            if ids.index(part.id) != i:
                raise RegistryError(f"承继单位“{part.id}”重复填写", field=f"parts[{i}]", department=part.id)
            if part.id == old_id:
                raise RegistryError(f"不能把单位“{unit.name}”（{old_id}）拆分给它自身；请新设单位或选其他单位",
                                    field=f"parts[{i}]", department=old_id)
            if part.id in self.departments:
                if not (existing := self.departments[part.id]).active:
                    raise RegistryError(f"单位“{existing.name}”（{part.id}）{self._gone(existing)}，不能再承接职责",
                                        field=f"parts[{i}]", department=part.id)
            else:
                try:
                    self._check_names(part)
                except RegistryError as exc:
                    raise RegistryError(str(exc), field=f"parts[{i}].{exc.field}", department=exc.department) from None
                for fld, name in part.named_fields():
                    for j, other in enumerate(parts[:i]):
                        if self._key(name) in {self._key(n) for n in other.names()}:
                            raise RegistryError(f"“{name}”与第 {j + 1} 个承继单位的名称重复，同一名称只能指向一个单位",
                                                field=f"parts[{i}].{fld}", department=other.id)
        if main_id not in ids:
            raise RegistryError(f"主承继单位“{main_id}”须是承继单位之一", field="main_id")
        for part in parts:
            if part.id not in self.departments:
                self.departments[part.id] = replace(part, since=part.since or on)
        self.departments[old_id] = replace(unit, until=date.fromordinal(on.toordinal() - 1), successor=main_id,
                                           split_into=(main_id, *(i for i in ids if i != main_id)))
        self.__post_init__()
