import ast
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "api"


def test_api_never_imports_training():
    for path in API.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "training" or n.startswith("training.") for n in names), path


def test_modules_stay_small():
    for path in API.rglob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path
