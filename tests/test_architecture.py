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


def test_mypy_is_clean() -> None:
    """The type gate `make lint` runs, here too so a local `make test` sees it."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=PKG.parent, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_ruff_is_clean() -> None:
    import subprocess
    import sys

    root = PKG.parent
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "workbench", "tests", "bench"],
                          cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


# --- the service contexts and their public faces --------------------------------------------

SERVICES = PKG / "services"
CONTEXTS = sorted(p.name for p in SERVICES.iterdir()
                  if p.is_dir() and (p / "__init__.py").exists())
SHELLS = [*sorted((PKG / "ui").rglob("*.py")), *sorted((PKG / "cli").rglob("*.py"))]
SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "union", "exists"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def test_every_context_names_its_public_members_in_all() -> None:
    """As httpx's test_exported_members: __all__ is exactly the public namespace, sorted."""
    import importlib

    assert set(CONTEXTS) >= {"training", "curation", "evaluation", "export", "dashboard",
                             "accounts"}
    for name in CONTEXTS:
        module = importlib.import_module(f"workbench.services.{name}")
        public = sorted((m for m in vars(module) if not m.startswith("_")),
                        key=lambda n: (n.casefold(), n))
        assert module.__all__ == public, name
        for member in module.__all__:
            assert getattr(module, member) is not None, (name, member)


def test_modules_inside_a_context_are_private() -> None:
    for name in CONTEXTS:
        files = [p.name for p in (SERVICES / name).glob("*.py") if p.name != "__init__.py"]
        assert files and all(f.startswith("_") for f in files), (name, files)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    out = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
    return out


def test_shells_import_services_only_through_public_faces_and_never_storage() -> None:
    import importlib

    public = {c: set(importlib.import_module(f"workbench.services.{c}").__all__)
              for c in CONTEXTS}
    problems = []
    for path in SHELLS:
        rel = str(path.relative_to(PKG))
        aliases: dict[str, str] = {}
        for module, names, line in _imports(path):
            parts = module.split(".")
            if parts[:2] == ["workbench", "storage"]:
                problems.append(f"{rel}:{line}: imports {module}")
            if parts[:2] != ["workbench", "services"]:
                continue
            if len(parts) > 3 or any(n.startswith("_") for n in names):
                problems.append(f"{rel}:{line}: imports a private module of {module}")
            elif len(parts) == 3 and parts[2] in public:
                problems += [f"{rel}:{line}: {module}.{n} is not public" for n in names
                             if n not in public[parts[2]]]
            elif len(parts) == 2:
                aliases.update({n: n for n in names if n in public})
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and node.attr not in public[node.value.id]:
                problems.append(f"{rel}:{node.lineno}: {node.value.id}.{node.attr} is not "
                                "public")
    assert problems == []


def test_no_module_reaches_into_another_contexts_private_modules() -> None:
    problems = []
    for path in SERVICES.rglob("*.py"):
        own = path.relative_to(SERVICES).parts[0]
        for module, names, line in _imports(path):
            parts = module.split(".")
            if parts[:2] == ["workbench", "services"] and len(parts) > 2 and parts[2] != own \
                    and (len(parts) > 3 or any(n.startswith("_") for n in names)):
                problems.append(f"{path.relative_to(PKG)}:{line}: {module}")
    assert problems == []


def test_services_build_no_sql() -> None:
    """Queries are built in storage only: no select/insert/update/delete/text in services,
    and no session.exec/execute. Loading one row by key (session.get) and adding objects to
    the unit of work stay allowed."""
    problems = []
    for path in SERVICES.rglob("*.py"):
        rel = str(path.relative_to(PKG))
        for module, names, line in _imports(path):
            if module.split(".")[0] in ("sqlalchemy", "sqlmodel") and SQL_BUILDERS & set(names):
                problems.append(f"{rel}:{line}: imports {sorted(SQL_BUILDERS & set(names))}")
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                attr, owner = node.func.attr, node.func.value
                if attr in ("exec", "execute", "exec_driver_sql"):
                    problems.append(f"{rel}:{node.lineno}: .{attr}()")
                if attr in SQL_BUILDERS and isinstance(owner, ast.Name) \
                        and owner.id in ("sa", "sqlalchemy", "sqlmodel"):
                    problems.append(f"{rel}:{node.lineno}: {owner.id}.{attr}()")
    assert problems == []


def test_one_translation_catalogue() -> None:
    """Text people read lives in workbench/i18n/*.yaml only: no module keeps its own
    {"nl": ..., "en": ...} table (the figures, the report and the reference bot did). The judge's
    prompt templates are the one exception: a model reads them, not a person, and their hash
    is recorded with every judge rating."""
    problems = []
    for path in PKG.rglob("*.py"):
        if path.name == "_judge_prompt.py":
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if {"nl", "en"} <= keys:
                    problems.append(f"{path.relative_to(PKG)}:{node.lineno}")
    assert problems == []
    assert not (PKG / "ui" / "i18n").is_dir()


def test_cli_groups_are_registered_explicitly_once() -> None:
    """Each command module holds a typer app that cli/__init__ merges by name: importing a
    module registers nothing, and one engine() and one fail() serve every command."""
    import importlib

    import workbench.cli as cli

    modules = sorted(p.stem for p in (PKG / "cli").glob("*.py") if not p.stem.startswith("_"))
    init = (PKG / "cli" / "__init__.py").read_text()
    for name in modules:
        module = importlib.import_module(f"workbench.cli.{name}")
        assert module.app is not cli.app and name in init, name
        text = (PKG / "cli" / f"{name}.py").read_text()
        assert "def _engine" not in text and "def _fail" not in text, name
        assert "from workbench.cli import app" not in text, name
    names = {c.name or c.callback.__name__ for g in cli.app.registered_groups
             for c in g.typer_instance.registered_commands}
    assert {"run", "export", "judge", "validate", "start", "report"} <= names
