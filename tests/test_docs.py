"""Docs are guarded by tests: every CLI command and every setting appears in README.md."""

from __future__ import annotations

from pathlib import Path

import typer.main

from workbench.cli import app
from workbench.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def command_paths() -> list[str]:

    click_app = typer.main.get_command(app)
    paths: list[str] = []

    def walk(cmd, prefix: str) -> None:  # type: ignore[no-untyped-def]
        for name, sub in getattr(cmd, "commands", {}).items():
            path = f"{prefix} {name}".strip()
            if getattr(sub, "commands", None):
                walk(sub, path)
            else:
                paths.append(path)

    walk(click_app, "")
    return paths


def test_every_command_is_documented() -> None:
    missing = [p for p in command_paths() if f"workbench {p}" not in README]
    assert missing == []


def test_every_setting_is_documented() -> None:
    missing = [f"WORKBENCH_{n.upper()}" for n in Settings.model_fields
               if f"WORKBENCH_{n.upper()}" not in README]
    assert missing == []


def test_readme_has_the_two_quickstart_commands() -> None:
    assert "make run" in README and "make test" in README
