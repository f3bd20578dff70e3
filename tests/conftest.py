"""Shared fixtures: a small registry, the bundled sample data, and a model bundle trained once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.departments import DepartmentRegistry

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"

MINI_REGISTRY = {
    "city": "江州市",
    "departments": [
        {"id": "zjj", "name": "江州市住房和城乡建设局", "short_name": "市住建局", "aliases": ["住建局", "建设局"]},
        {"id": "nync", "name": "江州市农业农村局", "short_name": "市农业农村局", "aliases": ["农业农村局", "农业局"]},
        {"id": "xczxj", "name": "江州市乡村振兴局", "short_name": "市乡村振兴局", "aliases": ["乡村振兴局"],
         "until": "2023-12-31", "successor": "nync"},
        {"id": "cgj", "name": "江州市城市管理局", "short_name": "市城管局", "aliases": ["城管局"],
         "until": "2021-12-31", "successor": "cgzf"},
        {"id": "cgzf", "name": "江州市城市管理和综合执法局", "short_name": "市城管执法局", "aliases": ["城管执法局"],
         "since": "2022-01-01"},
        {"id": "jyj", "name": "江州市教育局", "short_name": "市教育局", "aliases": ["教育局"]},
        {"id": "dhq", "name": "东湖区人民政府", "short_name": "东湖区政府", "aliases": ["东湖区"], "kind": "district"},
    ],
}


@pytest.fixture()
def mini_registry() -> DepartmentRegistry:
    return DepartmentRegistry.from_dict(MINI_REGISTRY)


@pytest.fixture(scope="session")
def sample_registry() -> DepartmentRegistry:
    return DepartmentRegistry.load(SAMPLES / "departments.json")
