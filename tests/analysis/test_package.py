"""The analysis package: pure (no web or database code) and its public API complete."""

from __future__ import annotations

import ast
from pathlib import Path

import analysis

# -- architecture -------------------------------------------------------------------


def test_analysis_imports_no_web_or_database_code():
    forbidden = {"flask", "sqlalchemy", "survey", "flask_wtf", "flask_sqlalchemy"}
    root = Path(analysis.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"


def test_public_api():
    for name in analysis.__all__:
        assert hasattr(analysis, name)
