"""The domain core stays pure: no UI, SQL or HTTP imports (and thin shells stay thin)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "workbench"
FORBIDDEN = {"streamlit", "sqlmodel", "sqlalchemy", "openai", "httpx", "requests", "plotly",
             "alembic", "psycopg", "typer"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_no_shell_libraries() -> None:
    offenders = {
        str(p.relative_to(PKG)): sorted(imported_roots(p) & FORBIDDEN)
        for p in (PKG / "domain").rglob("*.py")
        if imported_roots(p) & FORBIDDEN
    }
    assert offenders == {}


def test_modules_stay_readable() -> None:
    too_long = {str(p.relative_to(PKG)): n for p in PKG.rglob("*.py")
                if "migrations" not in p.parts and (n := len(p.read_text().splitlines())) > 450}
    assert too_long == {}


def test_ruff_is_clean() -> None:
    import subprocess
    import sys

    root = PKG.parent
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "workbench", "tests", "bench"],
                          cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
