"""The house rules a reader relies on: imports flow nlp <- models <- {training, api}, and modules stay small."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nlp", "models", "training", "api")
# What each package may import from the project.
ALLOWED = {"nlp": {"nlp"}, "models": {"nlp", "models"}, "training": {"nlp", "models", "training"},
           "api": {"nlp", "models", "api"}}
MAX_LINES = 400


def project_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in PACKAGES)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_flow_one_way(package):
    wrong = {str(p.relative_to(ROOT)): sorted(project_imports(p) - ALLOWED[package]) for p in modules(package)}
    assert {k: v for k, v in wrong.items() if v} == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_at_most_400_lines(package):
    long = {str(p.relative_to(ROOT)): n for p in modules(package)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_check_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from training.train import train\nimport api.main\nfrom . import x\n", encoding="utf-8")
    assert project_imports(bad) == {"training", "api"}
